/** How numbers, times and a run's progress read on screen. */
import type { Run } from "./api.ts"

const numbers = new Intl.NumberFormat("en-US")
export const count = (n: number) => numbers.format(n)

export const age = (iso: string, now = Date.now()) => duration(now - Date.parse(iso))

export const duration = (ms: number) => {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h ${m % 60}m`
  return `${Math.floor(h / 24)}d ${h % 24}h`
}

export const time = (iso: string | null) => (iso === null ? "—" : new Date(iso).toLocaleString("en-GB"))

/** Items that are over (completed, failed, skipped), of all the run's items, and the percentage. */
export const progress = (run: Run) => {
  const c = run.scope.counts
  const total = c.pending + c.running + c.completed + c.skipped + c.failed
  const done = c.completed + c.skipped + c.failed
  const percent = total === 0 ? (run.timing.settledAt === null ? 0 : 100) : Math.floor((done / total) * 100)
  return { total, done, percent }
}

export const isActive = (run: Run) => run.timing.settledAt === null
