/**
 * Dispatching to Trigger.dev end to end: the API-only process with
 * `ENRICH_DISPATCHER=trigger`, the real SDK, and a local stand-in of
 * Trigger.dev's API. An accepted trigger is 202 with Trigger.dev's run id; a
 * refused or unanswered one is 502 `DISPATCH_FAILED`, the run failed and its
 * reservation released, and a retry with the same idempotency key returns
 * that failed run.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { TriggerStandIn } from "@enrich/adapters/testing/TriggerStandIn"
import { apiOnly } from "../src/server/ApiProcess.ts"
import { ADMIN_TOKEN, TestServer, testConfig, testServer } from "./support/TestServer.ts"

const TriggerApiTestServer = Layer.unwrap(
  Effect.gen(function* () {
    const standIn = yield* TriggerStandIn
    return testServer((port) => apiOnly({ port })).pipe(
      Layer.provideMerge(TestDatabaseUrl),
      testConfig({
        ENRICH_DISPATCHER: "trigger",
        TRIGGER_API_URL: standIn.url,
        TRIGGER_SECRET_KEY: "tr_dev_test",
        ENRICH_TRIGGER_MAX_ATTEMPTS: "1",
        ENRICH_TRIGGER_TIMEOUT_MS: "1000"
      })
    )
  })
).pipe(Layer.provideMerge(TriggerStandIn.layer))

const setUp = (credits: number, leads: number) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    return yield* Effect.promise(async () => {
      const ws = await api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Acme", credits } })
      const key = ws.body.apiKey as string
      const imported = await api.post("/api/lists/import", {
        key,
        body: { leads: Array.from({ length: leads }, (_, i) => ({ type: "person", email: `p${i}@corp.example` })) }
      })
      return { key, workspaceId: ws.body.workspace.id as string, leadIds: imported.body.leadIds as Array<string> }
    })
  })

const call = <A>(f: (api: TestServer["Service"]) => Promise<A>) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    return yield* Effect.promise(() => f(api))
  })

layer(TriggerApiTestServer, { timeout: 120_000, excludeTestServices: true })(
  "Dispatch to Trigger.dev (integration: real server, SDK and database; local stand-in of Trigger.dev)",
  (it) => {
    it.effect("an_accepted_trigger_is_202_with_the_trigger_dev_run_id_and_the_run_stays_pending", () =>
      Effect.gen(function* () {
        const standIn = yield* TriggerStandIn
        standIn.answer({ _tag: "Accept" })
        const { key, workspaceId, leadIds } = yield* setUp(5, 2)
        const dispatched = yield* call((api) =>
          api.post("/api/enrichment", {
            key,
            body: { enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds } }
          })
        )
        assert.strictEqual(dispatched.status, 202, JSON.stringify(dispatched.body))
        const created = standIn.accepted().at(-1)!
        assert.deepStrictEqual(created.payload, { runId: dispatched.body.runId, workspaceId })
        assert.strictEqual(dispatched.body.triggerRunId, created.id)
        assert.deepStrictEqual(
          [dispatched.body.status, dispatched.body.leadCount, dispatched.body.reusedExistingRun],
          ["pending", 2, false]
        )

        const status = yield* call((api) => api.get(`/api/enrichment/${dispatched.body.runId}`, { key }))
        assert.strictEqual(status.body.run.status, "pending")
        assert.strictEqual(status.body.run.trigger.triggerRunId, created.id)
        assert.strictEqual(status.body.run.trigger.dispatchMetadata.engine, "trigger.dev")
        const credits = yield* call((api) => api.get("/api/credits", { key }))
        assert.deepStrictEqual(credits.body, { balance: 3, held: 2, captured: 0, granted: 5 })
      })
    )

    it.effect("a_refused_trigger_is_502_the_run_failed_its_credits_released_and_a_retry_returns_it", () =>
      Effect.gen(function* () {
        const standIn = yield* TriggerStandIn
        const { key, leadIds } = yield* setUp(5, 3)
        const before = yield* call((api) => api.get("/api/credits", { key }))
        const body = {
          enrichmentId: "email_validation",
          scope: { type: "explicit_leads", leadIds },
          idempotencyKey: "refused-1"
        }
        standIn.answer({ _tag: "Refuse", status: 500, error: "boom" })
        const refused = yield* call((api) => api.post("/api/enrichment", { key, body }))
        assert.strictEqual(refused.status, 502, JSON.stringify(refused.body))
        assert.strictEqual(refused.body.code, "DISPATCH_FAILED")
        assert.strictEqual(refused.body.message, "Trigger.dev refused the run: InternalServerError (HTTP 500): boom")
        assert.isString(refused.body.enrichmentRunId)
        assert.isNull(refused.body.triggerRunId)

        const runId = refused.body.enrichmentRunId as string
        const status = yield* call((api) => api.get(`/api/enrichment/${runId}`, { key }))
        assert.strictEqual(status.body.run.status, "failed")
        assert.strictEqual(status.body.run.error.message, refused.body.message)
        assert.isNull(status.body.run.trigger.triggerRunId)
        assert.deepStrictEqual(status.body.run.cost.actual, { reserved: 3, captured: 0, released: 3 })
        const after = yield* call((api) => api.get("/api/credits", { key }))
        assert.deepStrictEqual(after.body, before.body)

        // the stand-in accepts again, but the key names the failed run: no second trigger
        standIn.answer({ _tag: "Accept" })
        const triggersBefore = standIn.requests().length
        const retried = yield* call((api) => api.post("/api/enrichment", { key, body }))
        assert.strictEqual(retried.status, 200, JSON.stringify(retried.body))
        assert.deepStrictEqual(
          [retried.body.runId, retried.body.status, retried.body.reusedExistingRun, retried.body.triggerRunId],
          [runId, "failed", true, null]
        )
        assert.strictEqual(standIn.requests().length, triggersBefore)
      })
    )

    it.effect("an_unanswered_trigger_is_502_after_the_timeout", () =>
      Effect.gen(function* () {
        const standIn = yield* TriggerStandIn
        const { key, leadIds } = yield* setUp(5, 1)
        standIn.answer({ _tag: "Hang" })
        const started = Date.now()
        const hung = yield* call((api) =>
          api.post("/api/enrichment", {
            key,
            body: { enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds } }
          })
        )
        standIn.answer({ _tag: "Accept" })
        assert.strictEqual(hung.status, 502, JSON.stringify(hung.body))
        assert.strictEqual(hung.body.message, "Trigger.dev did not answer within 1000 ms")
        assert.isBelow(Date.now() - started, 10_000)
        const status = yield* call((api) => api.get(`/api/enrichment/${hung.body.enrichmentRunId}`, { key }))
        assert.strictEqual(status.body.run.status, "failed")
        const credits = yield* call((api) => api.get("/api/credits", { key }))
        assert.deepStrictEqual(credits.body, { balance: 5, held: 0, captured: 0, granted: 5 })
      })
    )
  }
)
