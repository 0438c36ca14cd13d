/**
 * Hostile clients without a valid key, against the API entry point as a process of its own
 * (`packages/http/src/bin/http.ts`), on loopback only, in bounded loops whose sizes read
 * ENRICH_TEST_SCALE (the full-scale figures are at ENRICH_TEST_SCALE=20):
 *
 * - unknown paths (100,000 at full scale, 4 KB each) leave `/metrics` the same size, with the same
 *   series, and the process's RSS flat (they used to become labels: 300 grew `/metrics` to 18 MB);
 * - made-up keys (10,000 at full scale, 25 distinct) never cause a 5xx, and cost one lookup per
 *   distinct key (the unknown-key cache), not one per request: the lookup counter and the test
 *   database's committed transactions say so;
 * - an address that sends wrong keys is answered 429 with Retry-After before its keys are looked up,
 *   while a client from another address (127.0.0.2: all of 127/8 is loopback on Linux) with a valid
 *   key is served;
 * - the server's limits: past ENRICH_HTTP_MAX_CONNECTIONS a connection is closed at once, a client
 *   slower than the headers or request timeout is cut off with 408, an idle kept-alive connection is
 *   closed after the keep-alive timeout.
 *
 * Each test prints its figures (console.log) so they can be quoted.
 */
import { assert, layer } from "@effect/vitest"
import { type Duration, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import http from "node:http"
import net from "node:net"
import { DatabaseLive } from "@enrich/adapters/postgres/Database"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { scaled } from "@enrich/domain/testing/TestScale"
import { eventually } from "./support/HttpTestClient.ts"
import { startApiProcess } from "./support/ApiProcess.ts"
import { type Answer, counter, inParallel, mb, metricsOf, rss, send, workspaceKey } from "./support/RawHttp.ts"

/** The API entry point as a child process on the test database, ready; stopped with the scope. */
const apiProcess = (env: Record<string, string>) => startApiProcess(env)

/** The series of an exposition, without their values. */
const seriesOf = (text: string) =>
  new Set(
    text
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("#"))
      .map((line) => line.slice(0, line.lastIndexOf(" ")))
  )

/**
 * Committed transactions of the test database. Sessions report their statistics lazily (within 10 s of
 * going idle): a count read after `settle` includes what happened before it.
 */
const committed = (settle: Duration.Input) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* Effect.sleep(settle)
    const rows = yield* sql<{ n: string }>`SELECT xact_commit::text AS n FROM pg_stat_database
      WHERE datname = current_database()`
    return Number(rows[0]?.n ?? 0)
  })

const Live = DatabaseLive.pipe(Layer.provideMerge(TestDatabaseUrl))

/** 4 KB of path: the size of the requests that grew `/metrics` to 18 MB in 300 requests. */
const pad = "x".repeat(4000)

layer(Live, { timeout: 300_000, excludeTestServices: true })("Hostile clients (API process, loopback)", (it) => {
  it.effect(
    "regression_unknown_paths_grew_the_metrics_labels",
    () =>
      Effect.gen(function* () {
        const api = yield* apiProcess({ ENRICH_UNAUTHENTICATED_RATE_LIMIT: "0" })
        const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
        yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
        const methods = ["GET", "POST", "DELETE", "PATCH"]
        const unknownPath = (i: number) =>
          [`/api/${i}-${pad}`, `/api/enrichment/${i}/x/${pad}`, `/admin/${i}${pad}`, `/${i}/${pad}?q=${i}`][i % 4]!
        const hit = async (i: number) => {
          const answer = await send(api, methods[i % methods.length]!, unknownPath(i), { agent })
          assert.isBelow(answer.status, 500)
        }
        // warm-up: the same kinds of request, so the "other" series exist and the process's heap has grown to
        // its steady size (an API process grows by about 50 MB over its first few thousand requests, whatever they are)
        const warmUp = 5_000
        yield* Effect.promise(() => inParallel(warmUp, 16, hit))
        yield* metricsOf(api) // the first scrape is counted by the second
        const before = yield* metricsOf(api)
        const rssBefore = yield* Effect.promise(() => rss(api))
        const n = scaled(5_000)
        let peak = rssBefore
        const started = performance.now()
        yield* Effect.promise(() =>
          inParallel(
            n,
            16,
            (i) => hit(warmUp + i),
            async (done) => {
              if (done % Math.ceil(n / 20) === 0) peak = Math.max(peak, await rss(api))
            }
          )
        )
        const seconds = (performance.now() - started) / 1000
        const after = yield* metricsOf(api)
        const rssAfter = yield* Effect.promise(() => rss(api))
        peak = Math.max(peak, rssAfter)
        console.log(
          `unknown paths: ${n} requests of ${pad.length + 8} bytes in ${seconds.toFixed(1)} s ` +
            `(${Math.round(n / seconds)}/s); /metrics ${before.length} → ${after.length} bytes, ` +
            `${seriesOf(before).size} → ${seriesOf(after).size} series; ` +
            `RSS ${mb(rssBefore)} MB → ${mb(rssAfter)} MB (peak ${mb(peak)} MB)`
        )
        assert.deepStrictEqual([...seriesOf(after)].sort(), [...seriesOf(before)].sort(), "the same series")
        assert.isBelow(after.length - before.length, 200, "only counts grew")
        assert.notInclude(after, pad.slice(0, 100))
        const other = Math.round(
          counter(after, 'enrich_http_request_duration_seconds_count{method="GET",route="other"}')
        )
        assert.isAtLeast(other, (warmUp + n) / 4 - 1)
        // 4 KB paths kept as labels cost ≥ 8 KB each (two maps): 5,000 grew the RSS by 84 MB before
        assert.isBelow(peak - rssBefore, 24 * 1024 * 1024, "the RSS stays flat")
      }).pipe(Effect.scoped),
    { timeout: scaled(60_000) }
  )

  it.effect(
    "made_up_keys_never_cause_a_5xx_and_cost_one_lookup_per_distinct_key_not_per_request",
    () =>
      Effect.gen(function* () {
        const api = yield* apiProcess({ ENRICH_UNAUTHENTICATED_RATE_LIMIT: "0" })
        const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
        yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
        // odd ones first: none is a 5xx, whatever the header holds
        const odd = [
          "",
          " ",
          "x".repeat(8000),
          "ek_' OR 1=1 --",
          'ek_"\\',
          "ék_ünïcode",
          "ek_%00%ff",
          "Bearer ek_twice",
          `ek_${"A".repeat(43)}`
        ]
        for (const key of odd) {
          const answer = yield* Effect.promise(() => send(api, "GET", "/api/credits", { key, agent }))
          assert.strictEqual(answer.status, 401, `${key.slice(0, 20)}: ${answer.body}`)
        }
        const basic = yield* Effect.promise(
          () =>
            new Promise<number>((resolve, reject) =>
              http
                .get(
                  { host: "127.0.0.1", port: api.port, path: "/api/credits", headers: { authorization: "Basic eDp5" } },
                  (r) => {
                    r.resume()
                    resolve(r.statusCode ?? 0)
                  }
                )
                .on("error", reject)
            )
        )
        assert.strictEqual(basic, 401)

        // the process listens for key changes (until then it remembers nothing): a repeated key costs no lookup
        const lookupsNow = Effect.map(metricsOf(api), (text) =>
          counter(text, 'enrich_api_key_lookups_total{result="unknown"}')
        )
        yield* Effect.promise(() =>
          eventually(async () => {
            const before = await Effect.runPromise(lookupsNow)
            await send(api, "GET", "/api/credits", { key: "ek_probe", agent })
            await send(api, "GET", "/api/credits", { key: "ek_probe", agent })
            return (await Effect.runPromise(lookupsNow)) - before <= 1 ? true : undefined
          }, 10_000)
        )

        const distinct = 25
        const n = scaled(500)
        const lookupsBefore = yield* lookupsNow
        const commitsBefore = yield* committed("11 seconds")
        const statuses = new Map<number, number>()
        const started = performance.now()
        yield* Effect.promise(() =>
          inParallel(n, 8, async (i) => {
            const [method, path] = (
              [
                ["GET", "/api/credits"],
                ["GET", "/api/enrichment/some-run"],
                ["POST", "/api/lists"],
                ["DELETE", "/api/leads"]
              ] as const
            )[i % 4]!
            const answer = await send(api, method, path, { key: `ek_made_up_${i % distinct}`, agent })
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
          })
        )
        const seconds = (performance.now() - started) / 1000
        const lookups = (yield* lookupsNow) - lookupsBefore
        const commits = (yield* committed("11 seconds")) - commitsBefore
        console.log(
          `made-up keys: ${n} requests, ${distinct} distinct keys, in ${seconds.toFixed(1)} s; statuses ` +
            `${JSON.stringify(Object.fromEntries(statuses))}; unknown-key lookups ${lookups}; ` +
            `committed transactions of the database meanwhile (every session's, read 11 s after) ${commits}`
        )
        assert.deepStrictEqual([...statuses.keys()], [401], "every one 401, none a 5xx")
        assert.strictEqual(lookups, distinct, "one lookup per distinct key")
        // the lookups, and what the sessions do anyway (about 5 in 12 s idle: the cluster client, the scrapes'
        // reads of the unsettled runs; several times that on a machine busy with other tests): not one per
        // request — the exact count is the lookups' above
        assert.isBelow(commits, distinct + n / 2)
      }).pipe(Effect.scoped),
    { timeout: scaled(60_000) }
  )

  it.effect(
    "an_address_sending_wrong_keys_gets_429_before_authentication_and_a_valid_key_from_another_address_is_served",
    () =>
      Effect.gen(function* () {
        const api = yield* apiProcess({
          ENRICH_UNAUTHENTICATED_RATE_LIMIT: "1",
          ENRICH_UNAUTHENTICATED_RATE_LIMIT_BURST: "10"
        })
        const key = yield* workspaceKey(api, "127.0.0.2")
        const fresh = yield* workspaceKey(api, "127.0.0.2")
        const n = scaled(200)
        const statuses = new Map<number, number>()
        let limited: Answer | undefined
        const started = performance.now()
        yield* Effect.promise(() =>
          inParallel(n, 4, async (i) => {
            const answer = await send(api, "GET", "/api/credits", { key: `ek_guess_${i}`, localAddress: "127.0.0.1" })
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
            if (answer.status === 429) limited ??= answer
          })
        )
        const seconds = (performance.now() - started) / 1000
        const metrics = yield* metricsOf(api)
        const lookups = counter(metrics, 'enrich_api_key_lookups_total{result="unknown"}')
        console.log(
          `per-address limit (1/s, burst 10): ${n} distinct made-up keys from 127.0.0.1 in ${seconds.toFixed(1)} s: ` +
            `${JSON.stringify(Object.fromEntries(statuses))}; unknown-key lookups ${lookups}`
        )
        assert.deepStrictEqual([...statuses.keys()].sort(), [401, 429])
        assert.isAtMost(
          statuses.get(401)!,
          10 + Math.ceil(seconds) + 4,
          "the burst, the refill, and the requests in flight"
        )
        assert.isAtMost(lookups, statuses.get(401)!, "a 429 looked nothing up")
        assert.strictEqual(limited!.headers["retry-after"], String(JSON.parse(limited!.body).retryAfter))
        assert.strictEqual(JSON.parse(limited!.body).code, "RATE_LIMITED")
        // another address, with a valid key: served (its first use is a lookup, the address is not limited)
        const served = yield* Effect.promise(() => send(api, "GET", "/api/credits", { key, localAddress: "127.0.0.2" }))
        assert.strictEqual(served.status, 200, served.body)
        // from the limited address: a key this process remembers valid goes on, one it does not waits
        const remembered = yield* Effect.promise(() =>
          send(api, "GET", "/api/credits", { key, localAddress: "127.0.0.1" })
        )
        assert.strictEqual(remembered.status, 200, remembered.body)
        const unknownYet = yield* Effect.promise(() =>
          send(api, "GET", "/api/credits", { key: fresh, localAddress: "127.0.0.1" })
        )
        assert.strictEqual(unknownYet.status, 429)
      }).pipe(Effect.scoped),
    { timeout: scaled(60_000) }
  )

  it.effect(
    "past_the_connection_cap_a_connection_is_closed_and_slow_or_idle_clients_are_cut_off",
    () =>
      Effect.gen(function* () {
        const cap = 20
        const api = yield* apiProcess({
          ENRICH_HTTP_MAX_CONNECTIONS: String(cap),
          ENRICH_HTTP_HEADERS_TIMEOUT_MS: "1000",
          ENRICH_HTTP_REQUEST_TIMEOUT_MS: "2000",
          ENRICH_HTTP_KEEP_ALIVE_TIMEOUT_MS: "1000"
        })
        interface Slow {
          readonly socket: net.Socket
          received: string
          closedAfterMs: number | undefined
        }
        const open = (first: string) =>
          new Promise<Slow>((resolve, reject) => {
            const openedAt = performance.now()
            const slow: Slow = { socket: net.connect(api.port, "127.0.0.1"), received: "", closedAfterMs: undefined }
            slow.socket.setEncoding("utf8")
            slow.socket.on("data", (d) => {
              slow.received += d
            })
            slow.socket.on("error", () => {})
            slow.socket.on("close", () => {
              slow.closedAfterMs = performance.now() - openedAt
            })
            slow.socket.once("connect", () => {
              slow.socket.write(first)
              resolve(slow)
            })
            slow.socket.once("error", reject)
          })
        // slow clients: headers that never end, up to the cap
        const slowloris = yield* Effect.promise(() =>
          Promise.all(Array.from({ length: cap }, () => open("GET /healthz HTTP/1.1\r\nHost: x\r\n")))
        )
        yield* Effect.sleep("300 millis")
        const extra = yield* Effect.promise(() => open("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
        yield* Effect.sleep("300 millis")
        assert.isDefined(extra.closedAfterMs, "the connection past the cap is closed at once")
        assert.strictEqual(extra.received, "", "unanswered")
        assert.isTrue(
          slowloris.every((s) => s.closedAfterMs === undefined),
          "the slow ones are still within their timeout"
        )
        yield* Effect.promise(() =>
          eventually(async () => (slowloris.every((s) => s.closedAfterMs !== undefined) ? true : undefined), 10_000)
        )
        const headersCut = Math.max(...slowloris.map((s) => s.closedAfterMs!))
        assert.isTrue(
          slowloris.every((s) => s.received.startsWith("HTTP/1.1 408")),
          slowloris[0]!.received
        )
        assert.isBelow(headersCut, 3_000, "headers timeout 1 s, checked every second")
        // a body that trickles (behind a valid key, so the server reads it): cut at the request timeout
        const key = yield* workspaceKey(api)
        const trickle = yield* Effect.promise(() =>
          open(
            `POST /api/lists HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n` +
              "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
          )
        )
        yield* Effect.promise(() =>
          eventually(async () => (trickle.closedAfterMs !== undefined ? true : undefined), 10_000)
        )
        assert.isTrue(trickle.received.startsWith("HTTP/1.1 408"), trickle.received)
        // an idle kept-alive connection: closed after the keep-alive timeout
        const idle = yield* Effect.promise(() => open("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
        yield* Effect.promise(() =>
          eventually(async () => (idle.closedAfterMs !== undefined ? true : undefined), 10_000)
        )
        assert.isTrue(idle.received.startsWith("HTTP/1.1 200"), idle.received)
        // and the server serves again
        const after = yield* Effect.promise(() => send(api, "GET", "/healthz"))
        assert.strictEqual(after.status, 200)
        console.log(
          `server limits (cap ${cap}, headers 1 s, request 2 s, keep-alive 1 s): connection ${cap + 1} closed in ` +
            `${Math.round(extra.closedAfterMs!)} ms; slow headers cut after ≤ ${Math.round(headersCut)} ms (408); ` +
            `trickling body cut after ${Math.round(trickle.closedAfterMs!)} ms (408); idle keep-alive closed after ` +
            `${Math.round(idle.closedAfterMs!)} ms`
        )
        for (const s of [...slowloris, extra, trickle, idle]) s.socket.destroy()
      }).pipe(Effect.scoped),
    { timeout: scaled(60_000) }
  )
})
