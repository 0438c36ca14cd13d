/**
 * The run list (a lost run id is never lost) and the live events stream
 * (Server-Sent Events: a snapshot on every change, resumable, ending at
 * settlement), over a real server. Runs stay pending here (no runner), so the
 * progress the stream shows is driven by the test: dispatch, then cancel.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { TestClient } from "./support/HttpTestClient.ts"
import { ADMIN_TOKEN, ApiOnlyTestServer, TestServer } from "./support/TestServer.ts"
import { openEvents } from "./support/Sse.ts"

const use = <A>(f: (api: TestClient) => Promise<A>) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    return yield* Effect.promise(() => f(api))
  })

const setUp = (api: TestClient, credits: number) =>
  Effect.promise(async () => {
    const ws = await api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Runs", credits } })
    const key = ws.body.apiKey as string
    const imported = await api.post("/api/lists/import", {
      key,
      body: {
        leads: [
          { type: "person", email: "a@corp.example" },
          { type: "company", domain: "acme.io" }
        ]
      }
    })
    return { key, person: imported.body.leadIds[0] as string, company: imported.body.leadIds[1] as string }
  })

layer(ApiOnlyTestServer, { timeout: 120_000, excludeTestServices: true })(
  "Runs list and live events (integration)",
  (it) => {
    it.effect("the_run_list_pages_newest_first_and_filters_by_status_enrichment_and_time", () =>
      Effect.gen(function* () {
        const api = yield* TestServer
        const { company, key, person } = yield* setUp(api, 10)
        const dispatch = (enrichmentId: string, leadId: string) =>
          use((api) =>
            api.post("/api/enrichment", {
              key,
              body: { enrichmentId, scope: { type: "explicit_leads", leadIds: [leadId] } }
            })
          )
        const first = yield* dispatch("email_validation", person)
        const second = yield* dispatch("company_domain", company)
        const third = yield* dispatch("email_validation", person)
        yield* use((api) => api.post(`/api/enrichment/${second.body.runId}/cancel`, { key }))

        const page1 = yield* use((api) => api.get("/api/enrichment?limit=2", { key }))
        assert.deepStrictEqual(
          page1.body.runs.map((r: any) => r.id),
          [third.body.runId, second.body.runId]
        )
        assert.isTrue(page1.body.hasMore)
        const page2 = yield* use((api) => api.get(`/api/enrichment?limit=2&cursor=${page1.body.nextCursor}`, { key }))
        assert.deepStrictEqual(
          page2.body.runs.map((r: any) => r.id),
          [first.body.runId]
        )
        assert.deepStrictEqual([page2.body.hasMore, page2.body.nextCursor], [false, null])
        const cancelled = yield* use((api) => api.get("/api/enrichment?status=cancelled", { key }))
        assert.deepStrictEqual(
          cancelled.body.runs.map((r: any) => r.id),
          [second.body.runId]
        )
        const emails = yield* use((api) => api.get("/api/enrichment?enrichmentId=email_validation", { key }))
        assert.strictEqual(emails.body.runs.length, 2)
        const future = yield* use((api) => api.get("/api/enrichment?createdAfter=2999-01-01T00:00:00Z", { key }))
        assert.deepStrictEqual(future.body.runs, [])
        for (const bad of ["?limit=0", "?limit=101", "?status=done", "?createdAfter=yesterday", "?sort=asc"]) {
          const reply = yield* use((api) => api.get(`/api/enrichment${bad}`, { key }))
          assert.deepStrictEqual([reply.status, reply.body.code], [400, "VALIDATION_FAILED"], bad)
        }
        const stranger = yield* setUp(api, 0)
        const theirs = yield* use((api) => api.get("/api/enrichment", { key: stranger.key }))
        assert.deepStrictEqual(theirs.body.runs, [], "another workspace's runs are not listed")
      })
    )

    it.effect("the_events_stream_sends_a_snapshot_per_change_resumes_and_ends_at_settlement", () =>
      Effect.gen(function* () {
        const api = yield* TestServer
        const { key, person } = yield* setUp(api, 10)
        const run = yield* use((api) =>
          api.post("/api/enrichment", {
            key,
            body: { enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds: [person] } }
          })
        )
        const url = `${api.baseUrl}/api/enrichment/${run.body.runId}/events`
        yield* Effect.promise(async () => {
          const stream = await openEvents(url, key)
          assert.strictEqual(stream.status, 200)
          assert.include(stream.contentType, "text/event-stream")
          const pending = await stream.next()
          assert.strictEqual(pending?.event, "snapshot")
          assert.strictEqual(pending?.data.run.status, "pending")
          assert.isNull(pending?.data.run.timing.settledAt)
          await api.post(`/api/enrichment/${run.body.runId}/cancel`, { key })
          const cancelled = await stream.next()
          assert.strictEqual(cancelled?.data.run.status, "cancelled")
          assert.isString(cancelled?.data.run.timing.settledAt)
          assert.isAbove(Number(cancelled?.id), Number(pending?.id), "ids are increasing positions")
          assert.isUndefined(await stream.next(), "the stream ends after the settled snapshot")

          const resumedBefore = await openEvents(url, key, pending!.id)
          const replay = await resumedBefore.next()
          assert.strictEqual(replay?.id, cancelled?.id, "resuming sends what came after Last-Event-ID")
          assert.isUndefined(await resumedBefore.next())
          const resumedAtEnd = await openEvents(url, key, cancelled!.id)
          assert.isUndefined(await resumedAtEnd.next(), "nothing new: the stream just closes")
        })
        const missing = yield* use((api) => api.get("/api/enrichment/no-such-run/events", { key }))
        assert.deepStrictEqual([missing.status, missing.body.code], [404, "NOT_FOUND"])
        const stranger = yield* setUp(api, 0)
        const theirs = yield* use((api) => api.get(`/api/enrichment/${run.body.runId}/events`, { key: stranger.key }))
        assert.deepStrictEqual([theirs.status, theirs.body.code], [404, "NOT_FOUND"])
      })
    )
  }
)
