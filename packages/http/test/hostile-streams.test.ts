/**
 * A client that opens event streams without end, against the API entry point as a process of its own,
 * on loopback (part of the hostile-client suite; hostile-clients.test.ts has the rest):
 *
 * - 1,000 SSE connections on one key (at every ENRICH_TEST_SCALE: the number is the point): the cap per
 *   key holds (the default 20 open, every other one 429 TOO_MANY_STREAMS with Retry-After, none a 5xx);
 * - meanwhile another workspace's requests keep their latency: their p99 with the streams open stays
 *   within 2× of their p99 with none, measured before and after (the streams share one watcher: no
 *   statement per stream);
 * - revoking the key ends its open streams at once.
 *
 * The test prints its figures (console.log) so they can be quoted.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import http from "node:http"
import { DatabaseLive } from "@enrich/adapters/postgres/Database"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { scaled } from "@enrich/domain/testing/TestScale"
import { type ApiProcess, startApiProcess } from "./support/ApiProcess.ts"
import { counter, inParallel, metricsOf, send } from "./support/RawHttp.ts"
import { ADMIN_TOKEN } from "./support/TestServer.ts"

const CONNECTIONS = 1_000
const PER_KEY = 20

interface OpenStream {
  readonly status: number
  readonly body: Promise<string>
  /** Resolves when the server ends the response. */
  readonly ended: Promise<void>
  readonly close: () => void
}

/** An SSE request on a connection of its own; what the server sends is collected until it ends. */
const openStream = (api: ApiProcess, path: string, key: string) =>
  new Promise<OpenStream>((resolve, reject) => {
    const request = http.get(
      {
        host: "127.0.0.1",
        port: api.port,
        path,
        agent: false,
        headers: { authorization: `Bearer ${key}`, accept: "text/event-stream" }
      },
      (response) => {
        let text = ""
        let firstData: () => void = () => {}
        const first = new Promise<void>((ok) => (firstData = ok))
        const ended = new Promise<void>((ok) => {
          response.on("end", ok)
          response.on("close", ok)
        })
        response.setEncoding("utf8")
        response.on("data", (chunk) => {
          text += chunk
          firstData()
        })
        const body = ended.then(() => text)
        // a stream is open once its first snapshot came; a refusal once its body ended
        void (response.statusCode === 200 ? first : ended).then(() =>
          resolve({ status: response.statusCode ?? 0, body, ended, close: () => request.destroy() })
        )
      }
    )
    request.on("error", reject)
  })

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

/** `n` sequential requests of another workspace (its run's status), their latencies in ms. */
const latencies = async (api: ApiProcess, key: string, runId: string, n: number) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const ms: Array<number> = []
  try {
    for (let i = 0; i < n; i++) {
      const started = performance.now()
      const answer = await send(api, "GET", `/api/enrichment/${runId}`, { key, agent })
      ms.push(performance.now() - started)
      assert.strictEqual(answer.status, 200)
    }
  } finally {
    agent.destroy()
  }
  return ms
}

const Live = DatabaseLive.pipe(Layer.provideMerge(TestDatabaseUrl))

layer(Live, { timeout: 300_000, excludeTestServices: true })("Hostile streams (API process, loopback)", (it) => {
  it.effect(
    "a_thousand_streams_on_one_key_hold_the_cap_leave_others_latency_and_end_on_revocation",
    () =>
      Effect.gen(function* () {
        const api = yield* startApiProcess({
          ENRICH_HTTP_MAX_CONNECTIONS: String(CONNECTIONS + 100),
          // the per-key request limit off: the stream cap is what is measured
          ENRICH_RATE_LIMIT: "0"
        })
        const setUp = (name: string) =>
          Effect.promise(async () => {
            const ws = JSON.parse(
              (await send(api, "POST", "/admin/workspaces", { key: ADMIN_TOKEN, body: { name, credits: 10 } })).body
            )
            const key = ws.apiKey as string
            const imported = JSON.parse(
              (
                await send(api, "POST", "/api/lists/import", {
                  key,
                  body: { leads: [{ type: "person", email: "a@corp.example" }] }
                })
              ).body
            )
            const run = JSON.parse(
              (
                await send(api, "POST", "/api/enrichment", {
                  key,
                  body: {
                    enrichmentId: "email_validation",
                    scope: { type: "explicit_leads", leadIds: imported.leadIds }
                  }
                })
              ).body
            )
            return { key, workspaceId: ws.workspace.id as string, runId: run.runId as string }
          })
        const hostile = yield* setUp("Hostile")
        const other = yield* setUp("Other")
        // p99 of 1,000 sequential requests is their 10th slowest: a stall of the machine (CI runs two test
        // files at once on 2 cores) delays the one or two requests in flight, not ten. With 300 it was the
        // 3rd slowest, and one stall put it past 2× (CI: p99 13.5 ms against 6.2 idle, p50 0.9 ms)
        const samples = Math.max(1_000, scaled(300))

        yield* Effect.promise(() => latencies(api, other.key, other.runId, 100)) // warm-up
        const idle = yield* Effect.promise(() => latencies(api, other.key, other.runId, samples))

        const streams: Array<OpenStream> = []
        const statuses = new Map<number, number>()
        const codes = new Map<string, number>()
        let retryAfter = true
        const started = performance.now()
        yield* Effect.promise(() =>
          inParallel(CONNECTIONS, 100, async () => {
            const stream = await openStream(api, `/api/enrichment/${hostile.runId}/events`, hostile.key)
            statuses.set(stream.status, (statuses.get(stream.status) ?? 0) + 1)
            if (stream.status === 200) streams.push(stream)
            else {
              const body = JSON.parse(await stream.body)
              codes.set(body.code, (codes.get(body.code) ?? 0) + 1)
              retryAfter &&= body.retryAfter > 0
            }
          })
        )
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            for (const s of streams) s.close()
          })
        )
        const floodSeconds = (performance.now() - started) / 1000
        const loaded = yield* Effect.promise(() => latencies(api, other.key, other.runId, samples))
        const metrics = yield* metricsOf(api)

        const revokeStarted = performance.now()
        const keyId = JSON.parse(
          (yield* Effect.promise(() =>
            send(api, "GET", `/admin/workspaces/${hostile.workspaceId}/api-keys`, { key: ADMIN_TOKEN })
          )).body
        ).apiKeys[0].id as string
        const revoked = yield* Effect.promise(() =>
          send(api, "POST", `/admin/api-keys/${keyId}/revoke`, { key: ADMIN_TOKEN })
        )
        assert.strictEqual(revoked.status, 200)
        const allEnded = yield* Effect.promise(() =>
          Promise.race([
            Promise.all(streams.map((s) => s.ended)).then(() => true),
            new Promise<boolean>((ok) => setTimeout(() => ok(false), 5_000))
          ])
        )
        const revokeMs = performance.now() - revokeStarted
        // idle again, once the streams are gone: the baseline is the worse of the two idle samples around
        // the loaded one (on a shared 2-core machine one sample's p99 moves by a few ms on its own)
        const idleAfter = yield* Effect.promise(() => latencies(api, other.key, other.runId, samples))
        const p = (values: ReadonlyArray<number>, q: number) => percentile(values, q).toFixed(1)
        console.log(
          `streams: ${CONNECTIONS} SSE connections on one key in ${floodSeconds.toFixed(1)} s: statuses ` +
            `${JSON.stringify(Object.fromEntries(statuses))}, refusals ${JSON.stringify(Object.fromEntries(codes))}; ` +
            `another workspace's status requests (${samples} each): idle p50 ${p(idle, 50)} ms p99 ${p(idle, 99)} ms, ` +
            `with the streams open p50 ${p(loaded, 50)} ms p99 ${p(loaded, 99)} ms, ` +
            `idle after p50 ${p(idleAfter, 50)} ms p99 ${p(idleAfter, 99)} ms; ` +
            `watcher reads ${counter(metrics, "enrich_sse_position_reads_total")}; ` +
            `all ${streams.length} streams ended ${revokeMs.toFixed(0)} ms after the revocation was sent`
        )
        assert.deepStrictEqual(
          Object.fromEntries(statuses),
          { 200: PER_KEY, 429: CONNECTIONS - PER_KEY },
          "the cap holds, and the rest are refused, none a 5xx"
        )
        assert.deepStrictEqual(Object.fromEntries(codes), { TOO_MANY_STREAMS: CONNECTIONS - PER_KEY })
        assert.isTrue(retryAfter, "each refusal says when to retry")
        assert.strictEqual(counter(metrics, "enrich_sse_streams"), PER_KEY)
        // within 2× of idle; below a millisecond the clock's and the scheduler's granularity is the figure
        const idleP99 = Math.max(percentile(idle, 99), percentile(idleAfter, 99), 1)
        assert.isAtMost(percentile(loaded, 99), 2 * idleP99, "others' p99 within 2× of idle")
        assert.isTrue(allEnded, "every stream of the revoked key ended")
      }).pipe(Effect.scoped),
    { timeout: scaled(120_000) }
  )
})
