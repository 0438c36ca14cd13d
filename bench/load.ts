/**
 * The load generator, a process of its own (so its CPU is not the server's):
 * keep-alive connections to 127.0.0.1, latency per request with a µs timer.
 *
 * - closed: `connections` loops, each sending its next request when the last
 *   answered, for `durationMs` after `warmupMs` (discarded);
 * - paced: `rate` requests/s in total, until the parent sends "stop" (answers in flight
 *   then still count, and a request with no answer yet is sent once).
 *
 * Requests go round-robin over `requests`; `uniqueIdempotencyKey` adds a fresh
 * `Idempotency-Key` per request. Started by run.ts with an IPC channel: the
 * config arrives as the first message, the result leaves as the last one.
 */
import { randomUUID } from "node:crypto"
import { Agent, request } from "node:http"

export interface LoadRequest {
  readonly name: string
  readonly method: "GET" | "POST"
  readonly path: string
  readonly key: string
  readonly body?: unknown
  readonly uniqueIdempotencyKey?: boolean
}

export interface LoadConfig {
  readonly base: string
  readonly mode: "closed" | "paced"
  readonly connections: number
  readonly durationMs?: number
  readonly warmupMs?: number
  readonly rate?: number
  readonly requests: ReadonlyArray<LoadRequest>
}

export interface LoadStats {
  readonly count: number
  readonly errors: number
  readonly non2xx: number
  readonly reqPerS: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
}

export type LoadResult = Record<string, LoadStats>

const percentile = (sorted: ReadonlyArray<number>, q: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!

const main = (config: LoadConfig) => {
  const url = new URL(config.base)
  const agent = new Agent({ keepAlive: true, maxSockets: config.connections })
  const bodies = config.requests.map((r) => (r.body === undefined ? undefined : JSON.stringify(r.body)))
  const samples = new Map<string, { lat: Array<number>; errors: number; non2xx: number }>(
    config.requests.map((r) => [r.name, { lat: [], errors: 0, non2xx: 0 }])
  )
  let recording = false
  let next = 0

  const send = () =>
    new Promise<void>((done) => {
      const i = next++ % config.requests.length
      const r = config.requests[i]!
      const body = bodies[i]
      const started = process.hrtime.bigint()
      const s = samples.get(r.name)!
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: r.path,
          method: r.method,
          headers: {
            authorization: `Bearer ${r.key}`,
            ...(body === undefined ? {} : { "content-type": "application/json" }),
            ...(r.uniqueIdempotencyKey === true ? { "idempotency-key": randomUUID() } : {})
          }
        },
        (res) => {
          res.resume()
          res.on("end", () => {
            if (recording) {
              s.lat.push(Number(process.hrtime.bigint() - started) / 1e6)
              if ((res.statusCode ?? 0) >= 300) s.non2xx++
            }
            done()
          })
        }
      )
      req.on("error", () => {
        if (recording) s.errors++
        done()
      })
      req.end(body)
    })

  const report = (seconds: number): LoadResult =>
    Object.fromEntries(
      [...samples].map(([name, s]) => {
        const sorted = s.lat.sort((a, b) => a - b)
        return [
          name,
          {
            count: sorted.length,
            errors: s.errors,
            non2xx: s.non2xx,
            reqPerS: sorted.length / seconds,
            p50Ms: percentile(sorted, 0.5),
            p99Ms: percentile(sorted, 0.99),
            maxMs: sorted.at(-1) ?? Number.NaN
          }
        ]
      })
    )

  const finish = (result: LoadResult) => {
    agent.destroy()
    process.send!(result, () => process.exit(0))
  }

  if (config.mode === "closed") {
    let stop = false
    const loop = async () => {
      while (!stop) await send()
    }
    const loops = Array.from({ length: config.connections }, loop)
    setTimeout(() => {
      recording = true
      const started = performance.now()
      setTimeout(() => {
        recording = false
        stop = true
        const seconds = (performance.now() - started) / 1000
        void Promise.all(loops).then(() => finish(report(seconds)))
      }, config.durationMs ?? 10_000)
    }, config.warmupMs ?? 0)
  } else {
    recording = true
    const started = performance.now()
    const interval = 1000 / (config.rate ?? 50)
    let inFlight = 0
    const timer = setInterval(() => {
      if (inFlight >= config.connections) return // never queue behind a stalled server: count it as not sent
      inFlight++
      void send().then(() => inFlight--)
    }, interval)
    process.on("message", async () => {
      clearInterval(timer)
      const seconds = (performance.now() - started) / 1000
      // Answers in flight still count; a request that has none yet (a run shorter than this
      // process's start, as in `--smoke`) is sent once, so every figure has a sample.
      while (inFlight > 0) await new Promise((r) => setTimeout(r, 5))
      for (let i = 0; i < config.requests.length; i++) {
        if (samples.get(config.requests[i]!.name)!.lat.length > 0) continue
        next = i
        await send()
      }
      recording = false
      finish(report(seconds))
    })
  }
}

process.once("message", (config: LoadConfig) => main(config))
