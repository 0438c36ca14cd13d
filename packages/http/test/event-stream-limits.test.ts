/**
 * The live events streams are bounded and shared (LiveRuns, DECISIONS.md 52), over a real server:
 * caps per key (429) and per process (503) that hold and give slots back, streams that end when their
 * key is revoked (through the API, and by SQL with no notification) or expires, and one watcher per process
 * whose reads do not grow with the number of streams. Runs stay pending here (no runner): the test
 * moves them by cancelling.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { TestClient } from "./support/HttpTestClient.ts"
import { ADMIN_TOKEN, apiOnlyTestServer, TestServer, use } from "./support/TestServer.ts"
import { openEvents } from "./support/Sse.ts"

const PER_KEY = 3
const PER_PROCESS = 5

const workspace = (api: TestClient) =>
  Effect.promise(async () => {
    const ws = await api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Streams", credits: 100 } })
    const key = ws.body.apiKey as string
    const imported = await api.post("/api/lists/import", {
      key,
      body: { leads: [{ type: "person", email: "a@corp.example" }] }
    })
    return { key, workspaceId: ws.body.workspace.id as string, lead: imported.body.leadIds[0] as string }
  })

const dispatch = (api: TestClient, key: string, lead: string) =>
  Effect.promise(async () => {
    const run = await api.post("/api/enrichment", {
      key,
      body: { enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds: [lead] } }
    })
    return run.body.runId as string
  })

const metric = (api: TestClient, name: string) =>
  Effect.promise(async () => {
    const text = (await (await fetch(`${api.baseUrl}/metrics`)).text()).split("\n")
    const line = text.find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(" ") + 1))
  })

const eventually = async (check: () => Promise<boolean>, what: string, ms = 5_000) => {
  const until = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((ok) => setTimeout(ok, 50))
  }
}

layer(
  apiOnlyTestServer({
    ENRICH_SSE_MAX_STREAMS_PER_KEY: String(PER_KEY),
    ENRICH_SSE_MAX_STREAMS: String(PER_PROCESS),
    ENRICH_SSE_KEY_CHECK_SECONDS: "1"
  }),
  { timeout: 120_000, excludeTestServices: true }
)("Event stream limits (integration, real server)", (it) => {
  it.effect("the_caps_per_key_and_per_process_hold_answer_429_and_503_and_give_slots_back", () =>
    Effect.gen(function* () {
      const api = yield* TestServer
      const a = yield* workspace(api)
      const b = yield* workspace(api)
      const c = yield* workspace(api)
      const runA = yield* dispatch(api, a.key, a.lead)
      const runB = yield* dispatch(api, b.key, b.lead)
      const runC = yield* dispatch(api, c.key, c.lead)
      const url = (run: string) => `${api.baseUrl}/api/enrichment/${run}/events`
      yield* Effect.promise(async () => {
        const mine = await Promise.all(Array.from({ length: PER_KEY }, () => openEvents(url(runA), a.key)))
        for (const s of mine) assert.strictEqual((await s.next())?.data.run.id, runA)
        const over = await openEvents(url(runA), a.key)
        assert.strictEqual(over.status, 429)
        assert.strictEqual(over.error.code, "TOO_MANY_STREAMS")
        assert.strictEqual(over.header("retry-after"), String(over.error.retryAfter))
        assert.match(over.error.message, /3 event streams open/)

        const theirs = await Promise.all([openEvents(url(runB), b.key), openEvents(url(runB), b.key)])
        for (const s of theirs) assert.strictEqual(s.status, 200)
        const busy = await openEvents(url(runC), c.key)
        assert.strictEqual(busy.status, 503)
        assert.strictEqual(busy.error.code, "SERVER_BUSY")
        assert.isString(busy.header("retry-after"))
        // a settled run needs no slot: its stream sends the settled snapshot and ends, even at the cap
        await api.post(`/api/enrichment/${runC}/cancel`, { key: c.key })
        const settled = await openEvents(url(runC), c.key)
        assert.strictEqual((await settled.next())?.data.run.status, "cancelled")
        assert.isUndefined(await settled.next())

        // a client that leaves gives its slot back
        mine[0]!.close()
        theirs[0]!.close()
        await eventually(async () => (await Effect.runPromise(metric(api, "enrich_sse_streams"))) === 3, "slots back")
        const again = await openEvents(url(runA), a.key)
        assert.strictEqual((await again.next())?.data.run.status, "pending")
        // the run's end ends every stream on it, and their slots come back
        await api.post(`/api/enrichment/${runA}/cancel`, { key: a.key })
        for (const s of [...mine.slice(1), again]) {
          assert.strictEqual((await s.next())?.data.run.status, "cancelled")
          assert.isUndefined(await s.next())
        }
        theirs[1]!.close()
        await eventually(async () => (await Effect.runPromise(metric(api, "enrich_sse_streams"))) === 0, "all back")
      })
      assert.strictEqual(yield* metric(api, 'enrich_sse_refused_total{cap="key"}'), 1)
      assert.strictEqual(yield* metric(api, 'enrich_sse_refused_total{cap="process"}'), 1)
    })
  )

  it.effect("a_revoked_keys_streams_end_at_once_through_the_api_and_within_the_check_by_sql", () =>
    Effect.gen(function* () {
      const api = yield* TestServer
      const sql = yield* SqlClient.SqlClient
      const a = yield* workspace(api)
      const run = yield* dispatch(api, a.key, a.lead)
      const url = `${api.baseUrl}/api/enrichment/${run}/events`
      const second = yield* use((api) => api.post(`/admin/workspaces/${a.workspaceId}/api-keys`, { key: ADMIN_TOKEN }))
      const other = second.body.apiKey as string
      const firstKeyId = (yield* use((api) =>
        api.get(`/admin/workspaces/${a.workspaceId}/api-keys`, { key: ADMIN_TOKEN })
      )).body.apiKeys.find((k: any) => k.id !== second.body.id).id as string

      yield* Effect.promise(async () => {
        const revoked = await Promise.all([openEvents(url, a.key), openEvents(url, a.key)])
        const kept = await openEvents(url, other)
        for (const s of [...revoked, kept]) assert.strictEqual((await s.next())?.event, "snapshot")
        const started = Date.now()
        const answer = await api.post(`/admin/api-keys/${firstKeyId}/revoke`, { key: ADMIN_TOKEN })
        assert.strictEqual(answer.status, 200)
        for (const s of revoked) assert.isUndefined(await s.next(2_000), "the revoked key's stream ended")
        assert.isBelow(Date.now() - started, 2_000)
        const reconnect = await openEvents(url, a.key)
        assert.strictEqual(reconnect.status, 401)
        // the other key's stream goes on: it still gets the run's next change
        await api.post(`/api/enrichment/${run}/cancel`, { key: other })
        assert.strictEqual((await kept.next())?.data.run.status, "cancelled")
      })

      // a key revoked by SQL, with no notification: its streams end at the next key check (1 s here)
      const run2 = yield* dispatch(api, other, a.lead)
      const stream = yield* Effect.promise(() => openEvents(`${api.baseUrl}/api/enrichment/${run2}/events`, other))
      assert.strictEqual((yield* Effect.promise(() => stream.next()))?.event, "snapshot")
      yield* sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${second.body.id}`
      const ended = yield* Effect.promise(() => stream.next(5_000))
      assert.isUndefined(ended, "the stream of a key revoked by SQL ended")
    })
  )

  it.effect("an_expired_keys_streams_end_within_the_key_check", () =>
    Effect.gen(function* () {
      const api = yield* TestServer
      const a = yield* workspace(api)
      const run = yield* dispatch(api, a.key, a.lead)
      // a key that expires in 1.5 s (DECISIONS.md 69): its stream ends at the first key check after (1 s here)
      const expiresAt = new Date(Date.now() + 1_500).toISOString()
      const created = yield* use((api) =>
        api.post(`/admin/workspaces/${a.workspaceId}/api-keys`, { key: ADMIN_TOKEN, body: { expiresAt } })
      )
      assert.strictEqual(created.status, 201, JSON.stringify(created.body))
      const stream = yield* Effect.promise(() =>
        openEvents(`${api.baseUrl}/api/enrichment/${run}/events`, created.body.apiKey)
      )
      assert.strictEqual((yield* Effect.promise(() => stream.next()))?.event, "snapshot")
      const ended = yield* Effect.promise(() => stream.next(6_000))
      assert.isUndefined(ended, "the stream of an expired key ended")
      assert.isAtLeast(Date.now(), Date.parse(expiresAt))
      const reconnect = yield* Effect.promise(() =>
        openEvents(`${api.baseUrl}/api/enrichment/${run}/events`, created.body.apiKey)
      )
      assert.strictEqual(reconnect.status, 401)
    })
  )

  it.effect("one_watcher_serves_every_stream_its_reads_do_not_grow_with_the_streams", () =>
    Effect.gen(function* () {
      const api = yield* TestServer
      const keys = yield* Effect.forEach([1, 2], () => workspace(api))
      const runs = yield* Effect.forEach(keys, (k) => dispatch(api, k.key, k.lead))
      yield* Effect.promise(async () => {
        // the most this process allows: 3 + 2 streams over two runs
        const streams = await Promise.all([
          ...Array.from({ length: PER_KEY }, () =>
            openEvents(`${api.baseUrl}/api/enrichment/${runs[0]}/events`, keys[0]!.key)
          ),
          ...Array.from({ length: PER_PROCESS - PER_KEY }, () =>
            openEvents(`${api.baseUrl}/api/enrichment/${runs[1]}/events`, keys[1]!.key)
          )
        ])
        for (const s of streams) assert.strictEqual((await s.next())?.data.run.status, "pending")
        const before = await Effect.runPromise(metric(api, "enrich_sse_position_reads_total"))
        const since = Date.now()
        await new Promise((ok) => setTimeout(ok, 2_000))
        const reads = (await Effect.runPromise(metric(api, "enrich_sse_position_reads_total"))) - before
        const ticks = (Date.now() - since) / 250
        // one statement per tick for all five streams (a poll per stream would be five)
        assert.isAtMost(reads, ticks + 2, `${reads} reads in ${ticks.toFixed(1)} ticks`)
        assert.isAtLeast(reads, 1)
        await api.post(`/api/enrichment/${runs[0]}/cancel`, { key: keys[0]!.key })
        await api.post(`/api/enrichment/${runs[1]}/cancel`, { key: keys[1]!.key })
        for (const s of streams) {
          assert.strictEqual((await s.next())?.data.run.status, "cancelled")
          assert.isUndefined(await s.next())
        }
      })
    })
  )
})
