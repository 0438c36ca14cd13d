/**
 * `enrichment watch ID`: follows the run's SSE stream (`GET /api/enrichment/{id}/events`, one
 * `snapshot` per change, closed after the settled one), draws a progress line on stderr
 * (counts, rate, ETA, credits) and prints a summary on stdout. A dropped connection is
 * resumed with `Last-Event-ID`.
 */
import { Effect } from "effect"
import { CliSettings } from "./Env.ts"
import { errorBody, fail, fromClientError, IoFailure, print, writeErr } from "./Output.ts"

interface Counts {
  readonly pending: number
  readonly running: number
  readonly completed: number
  readonly skipped: number
  readonly failed: number
}

export interface RunSnapshot {
  readonly id: string
  readonly status: string
  readonly scope: { readonly resolvedCount: number; readonly counts: Counts }
  readonly cost: {
    readonly actual: { readonly reserved: number; readonly captured: number; readonly released: number }
  }
  readonly error: { readonly message: string } | null
  readonly timing: { readonly settledAt: string | null; readonly createdAt: string }
}

const done = (c: Counts) => c.completed + c.skipped + c.failed

const duration = (seconds: number) => {
  if (!Number.isFinite(seconds)) return "?"
  if (seconds < 60) return `${Math.round(seconds)}s`
  const m = Math.floor(seconds / 60)
  return m < 60 ? `${m}m${Math.round(seconds % 60)}s` : `${Math.floor(m / 60)}h${m % 60}m`
}

/** One progress line: `[#####-----] 50/100 50% completed 48 failed 1 skipped 1 · 12.0/s · ETA 4s · credits 100 held, 48 captured`. */
export const progressLine = (run: RunSnapshot, startedMs: number, startedDone: number, nowMs: number) => {
  const total = run.scope.resolvedCount
  const c = run.scope.counts
  const finished = done(c)
  const width = 24
  const filled = total === 0 ? width : Math.round((finished / total) * width)
  const elapsed = Math.max(0.001, (nowMs - startedMs) / 1000)
  const rate = (finished - startedDone) / elapsed
  const eta = rate > 0 ? (total - finished) / rate : Number.POSITIVE_INFINITY
  const credits = run.cost.actual
  return (
    `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${finished}/${total} ${run.status}` +
    ` · completed ${c.completed} failed ${c.failed} skipped ${c.skipped} running ${c.running}` +
    ` · ${rate.toFixed(1)}/s · ETA ${run.timing.settledAt === null ? duration(eta) : "0s"}` +
    ` · credits ${credits.reserved} reserved, ${credits.captured} captured, ${credits.released} released`
  )
}

interface SseEvent {
  readonly id: string | undefined
  readonly event: string
  readonly data: string
}

/** Parses an SSE byte stream into events (`id`, `event`, `data` fields; blank line ends one). */
async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder()
  let buffer = ""
  let id: string | undefined
  let event = "message"
  let data: Array<string> = []
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true })
    for (;;) {
      const newline = buffer.indexOf("\n")
      if (newline < 0) break
      const line = buffer.slice(0, newline).replace(/\r$/, "")
      buffer = buffer.slice(newline + 1)
      if (line === "") {
        if (data.length > 0) yield { id, event, data: data.join("\n") }
        event = "message"
        data = []
        continue
      }
      if (line.startsWith(":")) continue
      const colon = line.indexOf(":")
      const field = colon < 0 ? line : line.slice(0, colon)
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "")
      if (field === "id") id = value
      else if (field === "event") event = value
      else if (field === "data") data.push(value)
    }
  }
}

/** Follows a run until it is settled; returns its last snapshot. */
export const followRun = Effect.fnUntraced(function* (runId: string, onSnapshot: (run: RunSnapshot) => void) {
  const settings = yield* CliSettings
  if (settings.apiKey === undefined) return yield* fail(errorBody("UNAUTHORIZED", "ENRICH_API_KEY is not set"), 401)
  const apiKey = settings.apiKey
  const url = `${settings.baseUrl}/api/enrichment/${encodeURIComponent(runId)}/events`
  let lastEventId: string | undefined
  let last: RunSnapshot | undefined
  for (let attempt = 0; attempt < 20; attempt++) {
    const outcome = yield* Effect.tryPromise({
      try: async (signal) => {
        const headers: Record<string, string> = { authorization: `Bearer ${apiKey}`, accept: "text/event-stream" }
        if (lastEventId !== undefined) headers["last-event-id"] = lastEventId
        const response = await fetch(url, { headers, signal })
        if (response.status !== 200) {
          const text = await response.text()
          let parsed: unknown
          try {
            parsed = JSON.parse(text)
          } catch {
            parsed = errorBody("SERVER_ERROR", `HTTP ${response.status} from the API`)
          }
          return { _tag: "Refused" as const, status: response.status, body: parsed }
        }
        for await (const event of sseEvents(response.body!)) {
          if (event.event !== "snapshot") continue
          lastEventId = event.id ?? lastEventId
          last = (JSON.parse(event.data) as { readonly run: RunSnapshot }).run
          onSnapshot(last)
        }
        return { _tag: "Ended" as const }
      },
      catch: (cause) => new IoFailure({ cause })
    }).pipe(Effect.orElseSucceed(() => ({ _tag: "Dropped" as const })))
    if (outcome._tag === "Refused") {
      const body = outcome.body as { readonly code?: unknown }
      return yield* typeof body.code === "string"
        ? fail(outcome.body as never, outcome.status)
        : fromClientError(outcome.body)
    }
    if (last !== undefined && last.timing.settledAt !== null) return last
    // the stream ended or dropped before the settlement: resume after the last snapshot
    yield* Effect.sleep(Math.min(5_000, 200 * (attempt + 1)))
  }
  return yield* fail(errorBody("NETWORK_ERROR", `the events stream of ${runId} kept dropping`))
})

/** Watches a run: the progress line on stderr, the summary on stdout. */
export const watchRun = Effect.fnUntraced(function* (runId: string) {
  const tty = process.stderr.isTTY === true
  const startedMs = Date.now()
  let startedDone: number | undefined
  let lastDrawn = 0
  const final = yield* followRun(runId, (run) => {
    startedDone ??= done(run.scope.counts)
    const now = Date.now()
    const settled = run.timing.settledAt !== null
    if (!tty && !settled && now - lastDrawn < 1_000) return
    lastDrawn = now
    const line = progressLine(run, startedMs, startedDone, now)
    process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`)
  })
  if (tty) yield* writeErr("\n")
  const seconds = (Date.now() - startedMs) / 1000
  const c = final.scope.counts
  yield* print({
    id: final.id,
    status: final.status,
    total: final.scope.resolvedCount,
    counts: c,
    credits: final.cost.actual,
    error: final.error,
    watchedSeconds: Math.round(seconds * 10) / 10,
    itemsPerSecond: Math.round(((done(c) - (startedDone ?? 0)) / Math.max(seconds, 0.001)) * 10) / 10
  })
})
