/**
 * The Trigger.dev task's run function (`executeRun`) against the real
 * database: runs are dispatched through the API-only process with
 * `ENRICH_DISPATCHER=trigger` (the real SDK, a local stand-in of Trigger.dev),
 * then executed by calling `executeRun` as Trigger.dev would.
 */
import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { uuidv7 } from "@enrich/domain/Ids"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { type StandInPayload, TriggerStandIn } from "@enrich/adapters/testing/TriggerStandIn"
import { ADMIN_TOKEN, TestServer, testConfig, testServer } from "@enrich/http/testing/TestServer"
import { apiOnly } from "@enrich/http/server/ApiProcess"
import type { RunExecutor } from "../src/RunExecutor.ts"
import { executeRun, TaskServicesLive } from "../src/trigger/EnrichRunTask.ts"

const ApiOnTrigger = Layer.unwrap(
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

/** The task's services on the test database, with batches of 2 so a run takes several. */
const TaskOnTestDatabase = TaskServicesLive.pipe(
  // no DNS: email_validation's deliverability is unknown (dns_disabled), whatever the machine's network
  Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ ENRICH_BATCH_SIZE: 2, ENRICH_DNS_SERVERS: "none" }))),
  Layer.provideMerge(ApiOnTrigger)
)

const call = <A>(f: (api: TestServer["Service"]) => Promise<A>) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    return yield* Effect.promise(() => f(api))
  })

const emails = ["Grace.Hopper@Navy.mil", "someone@mailinator.com", "not an email", "ada@analytical.example"]

/** A workspace with `credits` and the four Leads above; returns its key and Lead ids. */
const setUp = (credits: number) =>
  call(async (api) => {
    const ws = await api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Acme", credits } })
    const key = ws.body.apiKey as string
    const imported = await api.post("/api/lists/import", {
      key,
      body: { leads: emails.map((email) => ({ type: "person", email })) }
    })
    return { key, workspaceId: ws.body.workspace.id as string, leadIds: imported.body.leadIds as Array<string> }
  })

const dispatch = (key: string, leadIds: ReadonlyArray<string>) =>
  call((api) =>
    api.post("/api/enrichment", {
      key,
      body: { enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds } }
    })
  )

const runStatus = (key: string, runId: string) =>
  call(async (api) => (await api.get(`/api/enrichment/${runId}`, { key })).body.run)

/**
 * A dispatch of 10 credits' workspace whose task Trigger.dev starts the moment it accepts, while its answer
 * takes `delayMs`: the task runs as `executeRun` here (`started`), racing the dispatch's wait for the answer.
 */
const dispatchAsTheTaskStarts = (standIn: TriggerStandIn["Service"], delayMs: number) =>
  Effect.gen(function* () {
    standIn.answer({ _tag: "Accept", delayMs })
    const { key, leadIds } = yield* setUp(10)
    const services = yield* Effect.context<RunExecutor>()
    let started: Promise<{ readonly batches: number }> | undefined
    standIn.onAccept((payload: StandInPayload) => {
      started = Effect.runPromiseWith(services)(executeRun(payload))
    })
    const dispatched = yield* dispatch(key, leadIds).pipe(
      Effect.ensuring(
        Effect.sync(() => {
          standIn.onAccept(undefined)
          standIn.answer({ _tag: "Accept" })
        })
      )
    )
    return { dispatched, key, started }
  })

const eventCount = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM events`
  return row!.n
})

layer(TaskOnTestDatabase, { timeout: 120_000, excludeTestServices: true })(
  "Trigger.dev task (executeRun on the real database; dispatch through the API to a stand-in)",
  (it) => {
    it.effect("a_dispatched_run_is_completed_by_the_task_with_real_results_and_settled_credits", () =>
      Effect.gen(function* () {
        const standIn = yield* TriggerStandIn
        standIn.answer({ _tag: "Accept" })
        const { key, leadIds } = yield* setUp(10)
        const dispatched = yield* dispatch(key, leadIds)
        assert.strictEqual(dispatched.status, 202, JSON.stringify(dispatched.body))
        assert.strictEqual((yield* runStatus(key, dispatched.body.runId)).status, "pending")
        const { payload } = standIn.accepted().at(-1)!
        assert.strictEqual(payload.runId, dispatched.body.runId)

        const outcome = yield* executeRun(payload)
        assert.deepStrictEqual(outcome, { batches: 2 })
        const run = yield* runStatus(key, payload.runId)
        assert.strictEqual(run.status, "completed")
        assert.deepStrictEqual(run.scope.counts, { pending: 0, running: 0, completed: 4, skipped: 0, failed: 0 })
        assert.deepStrictEqual(run.cost.actual, { reserved: 4, captured: 4, released: 0 })
        assert.isString(run.timing.settledAt)

        const items = yield* call((api) => api.get(`/api/enrichment/${payload.runId}/items`, { key }))
        const verdicts = new Map(items.body.items.map((i: any) => [i.leadId, i.result.verdict]))
        // without DNS nothing is valid: navy.mil is unknown, the disposable address risky, the
        // malformed one invalid, and analytical.example (reserved, RFC 2606) invalid without a lookup
        assert.deepStrictEqual(
          leadIds.map((id) => verdicts.get(id)),
          ["unknown", "risky", "invalid", "invalid"]
        )
        const lead = yield* call((api) => api.get(`/api/leads?id=${leadIds[0]}`, { key }))
        assert.deepInclude(lead.body.leads[0].attributes.email_validation, {
          verdict: "unknown",
          deliverability: "unknown",
          reason: "dns_disabled",
          found: false
        })
        const credits = yield* call((api) => api.get("/api/credits", { key }))
        assert.deepStrictEqual(credits.body, { balance: 6, held: 0, captured: 4, granted: 10 })

        // Trigger.dev retrying the attempt: recorded batches only report their counts, nothing moves
        const events = yield* eventCount
        assert.deepStrictEqual(yield* executeRun(payload), { batches: 2 })
        assert.strictEqual(yield* eventCount, events)
        const again = yield* call((api) => api.get("/api/credits", { key }))
        assert.deepStrictEqual(again.body, credits.body)
      })
    )

    it.effect(
      "a_task_that_starts_before_the_hand_over_is_recorded_completes_the_run_and_the_hand_over_is_recorded",
      () =>
        Effect.gen(function* () {
          const standIn = yield* TriggerStandIn
          // the task starts the moment Trigger.dev accepts, and the answer takes a while: the run is committed (the
          // dispatch calls Trigger.dev after its commit), but its hand-over is not recorded yet when the task runs it
          const { dispatched, key, started } = yield* dispatchAsTheTaskStarts(standIn, 300)
          assert.strictEqual(dispatched.status, 202, JSON.stringify(dispatched.body))
          assert.isDefined(started)
          const outcome = yield* Effect.promise(() => started!)
          assert.deepStrictEqual(outcome, { batches: 2 })
          const run = yield* runStatus(key, dispatched.body.runId)
          assert.strictEqual(run.status, "completed")
          assert.deepStrictEqual(run.cost.actual, { reserved: 4, captured: 4, released: 0 })
          // recorded after the task had started (or finished) the run
          assert.strictEqual(run.trigger.triggerRunId, dispatched.body.triggerRunId)
          assert.strictEqual(run.trigger.triggerRunId, standIn.accepted().at(-1)!.id)
        })
    )

    it.effect("a_trigger_that_timed_out_but_went_through_is_answered_as_the_run_is_not_502", () =>
      Effect.gen(function* () {
        const standIn = yield* TriggerStandIn
        // Trigger.dev creates the run and starts the task, but answers after the dispatch's 1 s deadline
        const { dispatched, key, started } = yield* dispatchAsTheTaskStarts(standIn, 3000)
        // the run is no longer awaiting its hand-over when the call fails: not failed, not 502 — accepted, as it is
        assert.strictEqual(dispatched.status, 202, JSON.stringify(dispatched.body))
        assert.include(["running", "completed"], dispatched.body.status)
        assert.isNull(dispatched.body.triggerRunId)
        assert.deepStrictEqual(yield* Effect.promise(() => started!), { batches: 2 })
        const run = yield* runStatus(key, dispatched.body.runId)
        assert.strictEqual(run.status, "completed")
        assert.deepStrictEqual(run.cost.actual, { reserved: 4, captured: 4, released: 0 })
      })
    )

    it.effect("a_run_whose_dispatch_failed_is_left_as_it_is", () =>
      Effect.gen(function* () {
        const standIn = yield* TriggerStandIn
        const { key, workspaceId, leadIds } = yield* setUp(10)
        standIn.answer({ _tag: "Refuse", status: 500, error: "boom" })
        const refused = yield* dispatch(key, leadIds)
        standIn.answer({ _tag: "Accept" })
        assert.strictEqual(refused.status, 502, JSON.stringify(refused.body))
        // a trigger abandoned at the timeout may still start the task later
        const events = yield* eventCount
        const outcome = yield* executeRun({ runId: refused.body.enrichmentRunId, workspaceId })
        assert.deepStrictEqual(outcome, { batches: 0 })
        assert.strictEqual(yield* eventCount, events)
        const run = yield* runStatus(key, refused.body.enrichmentRunId)
        assert.strictEqual(run.status, "failed")
        const credits = yield* call((api) => api.get("/api/credits", { key }))
        assert.deepStrictEqual(credits.body, { balance: 10, held: 0, captured: 0, granted: 10 })
      })
    )

    it.effect("an_unknown_run_ends_at_once_without_error", () =>
      Effect.gen(function* () {
        const events = yield* eventCount
        const outcome = yield* executeRun({ runId: uuidv7(), workspaceId: uuidv7() })
        assert.deepStrictEqual(outcome, { batches: 0 })
        assert.strictEqual(yield* eventCount, events)
      })
    )
  }
)
