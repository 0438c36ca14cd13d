/** The results file's shape and the table run.ts writes into docs/PERFORMANCE.md between its markers. */
import { readFile, writeFile } from "node:fs/promises"
import type { Summary } from "./support.ts"

export interface Check {
  readonly scenario: string
  readonly measure: string
  readonly unit: string
  readonly value: Summary
  readonly baseline: Summary
  readonly baselineName: string
  readonly ratio: number
  readonly target: string
  /** null: not judged (smoke runs, or a figure without a target) */
  readonly pass: boolean | null
}

export interface Results {
  readonly date: string
  readonly mode: "smoke" | "full"
  readonly scale: number
  readonly repetitions: number
  readonly durationSeconds: number
  readonly machine: Record<string, unknown>
  readonly sizes: unknown
  readonly checks: ReadonlyArray<Check>
  readonly raw: Record<string, unknown>
}

export const BEGIN = "<!-- bench:results:begin (written by `pnpm bench`; edits here are overwritten) -->"
export const END = "<!-- bench:results:end -->"

const num = (x: number) =>
  Number.isNaN(x) ? "–" : x >= 100 ? Math.round(x).toLocaleString("en") : x >= 10 ? x.toFixed(1) : x.toFixed(2)
const fig = (s: Summary) => `${num(s.median)} (${num(s.min)}–${num(s.max)})`

export const table = (results: Results) => {
  const m = results.machine
  const lines = [
    `Run ${results.date.slice(0, 16).replace("T", " ")} UTC, commit \`${String(m["gitCommit"]).slice(0, 10)}\`${m["gitDirty"] ? " (with uncommitted changes)" : ""}, ` +
      `scale ${results.scale}, ${results.repetitions} repetitions, ${Math.round(results.durationSeconds / 60)} min. ` +
      `${m["cores"]} cores (${m["cpu"]}), ${m["memoryGiB"]} GiB, Node ${m["node"]}, PostgreSQL ${m["postgres"]}. ` +
      "Each figure: median (min–max) of the repetitions.",
    "",
    "| scenario | measure | value | baseline | ratio | target | result |",
    "|---|---|---:|---:|---:|---|---|"
  ]
  for (const c of results.checks) {
    const result = c.pass === null ? "—" : c.pass ? "pass" : "**miss**"
    lines.push(
      `| ${c.scenario} | ${c.measure} | ${fig(c.value)} ${c.unit} | ${fig(c.baseline)} ${c.unit} <br><small>${c.baselineName}</small> | ${c.ratio.toFixed(2)}× | ${c.target} | ${result} |`
    )
  }
  return lines.join("\n")
}

/** Rewrites the marked section of `path` (creating the markers at the end when missing). */
export const writeReport = async (path: string, results: Results) => {
  const current = await readFile(path, "utf8").catch(() => "# Performance\n")
  const section = `${BEGIN}\n${table(results)}\n${END}`
  const at = current.indexOf(BEGIN)
  const end = current.indexOf(END)
  const next =
    at >= 0 && end > at
      ? current.slice(0, at) + section + current.slice(end + END.length)
      : `${current.trimEnd()}\n\n${section}\n`
  await writeFile(path, next)
}
