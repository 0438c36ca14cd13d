/**
 * Dispatching to Trigger.dev end to end: the API-only process with
 * `ENRICH_DISPATCHER=trigger`, the real SDK, and a local stand-in of
 * Trigger.dev's API. An accepted trigger is 202 with Trigger.dev's run id; a
 * refused or unanswered one is 502 `DISPATCH_FAILED`, the run failed and its
 * whole reservation released (whatever its `chargeOn`), and a retry with the
 * same idempotency key returns that failed run. The run is committed before
 * Trigger.dev is called: the call holds no lock of the workspace's, and a
 * run that a cancel ended meanwhile is answered as it is.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { type RecordedRequest, TriggerStandIn, triggerPayload, triggers } from "@enrich/adapters/testing/TriggerStandIn"
import { apiOnly } from "../src/server/ApiProcess.ts"
import { ADMIN_TOKEN, TestServer, testConfig, testServer } from "./support/TestServer.ts"

/** A configured enrichment priced on dispatch (a waterfall over `email_validation`, 2 credits a Lead). */
const catalogFile = () => {
  const file = join(mkdtempSync(join(tmpdir(), "enrich-catalog-trigger-")), "catalog.json")
  writeFileSync(
    file,
    JSON.stringify({
      enrichments: [
        {
          kind: "waterfall",
          slug: "validated_on_dispatch",
          name: "Email validation, paid at dispatch",
          steps: ["email_validation"],
          costModel: { creditAction: "VALIDATED_ON_DISPATCH", unitCost: 2, chargeOn: "dispatch" }
        }
      ]
    })
  )
  return file
}

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
        ENRICH_TRIGGER_TIMEOUT_MS: "1000",
        ENRICH_CATALOG_FILES: catalogFile()
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

/** The next trigger request the stand-in receives after `seen` requests (it is hung or answered as the test set). */
const nextTrigger = (seen: number) =>
  Effect.gen(function* () {
    const standIn = yield* TriggerStandIn
    for (let i = 0; i < 500; i++) {
      const [request] = triggers(standIn.requests().slice(seen))
      if (request !== undefined) return request as RecordedRequest
      yield* Effect.sleep("10 millis")
    }
    return yield* Effect.die(new Error("no trigger reached the stand-in within 5 s"))
  })

/** Dispatches `body` in the background while Trigger.dev hangs; returns the request and the trigger it sent. */
const dispatchWhileTriggerHangs = (key: string, body: unknown) =>
  Effect.gen(function* () {
    const standIn = yield* TriggerStandIn
    const seen = standIn.requests().length
    standIn.answer({ _tag: "Hang" })
    const response = yield* Effect.forkChild(call((api) => api.post("/api/enrichment", { key, body })))
    const trigger = yield* nextTrigger(seen)
    return { response, runId: (triggerPayload(trigger) as { runId: string }).runId }
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

    it.effect("regression_a_failed_hand_over_captured_the_reservation_of_a_charge_on_dispatch_run", () =>
      Effect.gen(function* () {
        const standIn = yield* TriggerStandIn
        const { key, leadIds } = yield* setUp(10, 3)
        const before = yield* call((api) => api.get("/api/credits", { key }))
        standIn.answer({ _tag: "Refuse", status: 400, error: "Invalid payload" })
        const refused = yield* call((api) =>
          api.post("/api/enrichment", {
            key,
            body: { enrichmentId: "validated_on_dispatch", scope: { type: "explicit_leads", leadIds } }
          })
        )
        standIn.answer({ _tag: "Accept" })
        assert.strictEqual(refused.status, 502, JSON.stringify(refused.body))
        assert.strictEqual(refused.body.code, "DISPATCH_FAILED")
        const run = (yield* call((api) => api.get(`/api/enrichment/${refused.body.enrichmentRunId}`, { key }))).body.run
        assert.strictEqual(run.status, "failed")
        // the hand-over failed: nothing ran, so nothing is charged, `chargeOn: "dispatch"` or not
        assert.deepStrictEqual(run.cost.actual, { reserved: 6, captured: 0, released: 6 })
        const after = yield* call((api) => api.get("/api/credits", { key }))
        assert.deepStrictEqual(after.body, before.body)
      })
    )

    it.effect("regression_the_trigger_dev_call_held_the_workspace_credit_row_lock", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const standIn = yield* TriggerStandIn
        const { key, workspaceId, leadIds } = yield* setUp(5, 1)
        const { response, runId } = yield* dispatchWhileTriggerHangs(key, {
          enrichmentId: "email_validation",
          scope: { type: "explicit_leads", leadIds }
        })
        // while Trigger.dev does not answer, the workspace's credit row is free: another dispatch, a grant or a
        // settlement of this workspace does not wait for the call
        const locked = yield* sql
          .withTransaction(
            sql`SELECT workspace_id FROM credit_accounts WHERE workspace_id = ${workspaceId} FOR UPDATE NOWAIT`
          )
          .pipe(Effect.result)
        assert.strictEqual(locked._tag, "Success", "the credit row is locked while Trigger.dev is called")
        const started = Date.now()
        const granted = yield* call((api) =>
          api.post(`/admin/workspaces/${workspaceId}/credits`, {
            key: ADMIN_TOKEN,
            body: { amount: 3, reason: "top-up" }
          })
        )
        assert.strictEqual(granted.status, 200, JSON.stringify(granted.body))
        assert.isBelow(Date.now() - started, 500, "the grant waited for the Trigger.dev call")
        // the run is committed before the call: pending, not yet handed over, its credits held
        const pending = (yield* call((api) => api.get(`/api/enrichment/${runId}`, { key }))).body.run
        assert.deepStrictEqual([pending.status, pending.trigger.triggerRunId], ["pending", null])
        const held = yield* call((api) => api.get("/api/credits", { key }))
        assert.deepStrictEqual(held.body, { balance: 7, held: 1, captured: 0, granted: 8 })

        const hung = yield* Fiber.join(response)
        standIn.answer({ _tag: "Accept" })
        assert.strictEqual(hung.status, 502, JSON.stringify(hung.body))
        assert.strictEqual(hung.body.enrichmentRunId, runId)
        const failed = (yield* call((api) => api.get(`/api/enrichment/${runId}`, { key }))).body.run
        assert.deepStrictEqual(failed.cost.actual, { reserved: 1, captured: 0, released: 1 })
        const credits = yield* call((api) => api.get("/api/credits", { key }))
        assert.deepStrictEqual(credits.body, { balance: 8, held: 0, captured: 0, granted: 8 })
      })
    )

    it.effect("a_retry_with_the_key_while_trigger_dev_is_called_replays_the_committed_run", () =>
      Effect.gen(function* () {
        const standIn = yield* TriggerStandIn
        const { key, leadIds } = yield* setUp(5, 2)
        const body = {
          enrichmentId: "email_validation",
          scope: { type: "explicit_leads", leadIds },
          idempotencyKey: "between-commit-and-call"
        }
        const { response, runId } = yield* dispatchWhileTriggerHangs(key, body)
        const started = Date.now()
        const retried = yield* call((api) => api.post("/api/enrichment", { key, body }))
        assert.isBelow(Date.now() - started, 500, "the retry waited for the first dispatch's call")
        assert.strictEqual(retried.status, 200, JSON.stringify(retried.body))
        assert.deepStrictEqual(
          [retried.body.runId, retried.body.status, retried.body.reusedExistingRun, retried.body.triggerRunId],
          [runId, "pending", true, null]
        )
        const first = yield* Fiber.join(response)
        standIn.answer({ _tag: "Accept" })
        assert.strictEqual(first.status, 502, JSON.stringify(first.body))
        assert.strictEqual(first.body.enrichmentRunId, runId)
        // one trigger: the retry replayed the run and called nobody
        assert.strictEqual(
          triggers(standIn.requests()).filter((r) => (triggerPayload(r) as { runId: string }).runId === runId).length,
          1
        )
      })
    )

    it.effect("a_run_cancelled_while_trigger_dev_is_called_is_answered_as_it_is_when_the_call_fails", () =>
      Effect.gen(function* () {
        const standIn = yield* TriggerStandIn
        const { key, leadIds } = yield* setUp(5, 2)
        const { response, runId } = yield* dispatchWhileTriggerHangs(key, {
          enrichmentId: "email_validation",
          scope: { type: "explicit_leads", leadIds }
        })
        const cancelled = yield* call((api) => api.post(`/api/enrichment/${runId}/cancel`, { key }))
        assert.strictEqual(cancelled.status, 200, JSON.stringify(cancelled.body))
        // the call then fails (timeout): the run is no longer awaiting its hand-over, so the dispatch answers
        // the run as it is — accepted, cancelled — not 502, and not a 500
        const answered = yield* Fiber.join(response)
        standIn.answer({ _tag: "Accept" })
        assert.strictEqual(answered.status, 202, JSON.stringify(answered.body))
        assert.deepStrictEqual(
          [answered.body.runId, answered.body.status, answered.body.reusedExistingRun, answered.body.triggerRunId],
          [runId, "cancelled", false, null]
        )
        const run = (yield* call((api) => api.get(`/api/enrichment/${runId}`, { key }))).body.run
        assert.deepStrictEqual([run.status, run.cost.actual], ["cancelled", { reserved: 2, captured: 0, released: 2 }])
        const credits = yield* call((api) => api.get("/api/credits", { key }))
        assert.deepStrictEqual(credits.body, { balance: 5, held: 0, captured: 0, granted: 5 })
      })
    )
  }
)
