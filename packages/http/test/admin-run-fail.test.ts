/**
 * The operator ends a run (`POST /admin/runs/{id}/fail`), over a real server and a real Postgres. Runs
 * stay pending here (no runner); a run "stuck running" is one whose batch a worker claimed (a StartBatch
 * appended through the RunStore, as a worker does) and never recorded. Each answer, the credits it
 * settles, the refusals that write nothing, and the SSE stream of the run, which must end with it.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { RunCommands } from "@enrich/application/runs/RunCommands"
import { Persistence } from "@enrich/adapters/Services"
import { CommandMetadata } from "@enrich/domain/ports/EventStore"
import {
  ADMIN_TOKEN,
  allTableCounts,
  ApiOnlyTestServer,
  expectError,
  TestServer,
  use,
  writesNothing
} from "./support/TestServer.ts"
import { openEvents } from "./support/Sse.ts"

/** Runs `attempt` and checks it changed no table at all (the engine's included). */
const writesNothingAtAll = <A, E, R>(attempt: Effect.Effect<A, E, R>) => writesNothing(attempt, allTableCounts)

/** A workspace with `credits` and a dispatched run of email validation over `n` people (pending: no runner). */
const aRun = (n: number, credits = n) =>
  Effect.gen(function* () {
    const ws = yield* use((api) => api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Ops", credits } }))
    assert.strictEqual(ws.status, 201, JSON.stringify(ws.body))
    const key = ws.body.apiKey as string
    const workspaceId = ws.body.workspace.id as string
    const imported = yield* use((api) =>
      api.post("/api/lists/import", {
        key,
        body: { leads: Array.from({ length: n }, (_, i) => ({ type: "person", email: `p${i}@corp.example` })) }
      })
    )
    const dispatched = yield* use((api) =>
      api.post("/api/enrichment", {
        key,
        body: { enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds: imported.body.leadIds } }
      })
    )
    assert.strictEqual(dispatched.status, 202, JSON.stringify(dispatched.body))
    return { key, workspaceId, runId: dispatched.body.runId as string }
  })

/**
 * A worker claims `ordinals` and is never heard of again: `completed` are claimed and recorded as a batch of their
 * own first (a batch's record ends it: ExecuteBatch records every item its batch runs), the rest stay running in
 * a batch no worker executes.
 */
const claim = (
  run: { readonly runId: string; readonly workspaceId: string },
  ordinals: ReadonlyArray<number>,
  completed: ReadonlyArray<number> = []
) =>
  Effect.gen(function* () {
    const runs = yield* RunCommands
    const now = () => new Date().toISOString()
    if (completed.length > 0) {
      const batch = `${run.runId}/batch-done`
      yield* runs.execute({ ...run, command: { _tag: "StartBatch", batch, ordinals: completed, now: now() } })
      yield* runs.execute({
        ...run,
        command: {
          _tag: "RecordBatch",
          batch,
          outcomes: completed.map((ordinal) => ({
            ordinal,
            status: "completed" as const,
            skippedReason: null,
            found: true
          })),
          now: now()
        }
      })
    }
    const running = ordinals.filter((o) => !completed.includes(o))
    if (running.length > 0) {
      const batch = `${run.runId}/batch-0`
      yield* runs.execute({ ...run, command: { _tag: "StartBatch", batch, ordinals: running, now: now() } })
    }
  }).pipe(
    Effect.provideService(CommandMetadata, { actor: "test" }),
    Effect.orDie,
    Effect.provide(RunCommands.layer.pipe(Layer.provideMerge(Persistence)))
  )

const fail = (runId: string, body: unknown, key: string | null = ADMIN_TOKEN) =>
  use((api) => api.post(`/admin/runs/${encodeURIComponent(runId)}/fail`, { key: key ?? undefined, body }))

const status = (runId: string, key: string) => use((api) => api.get(`/api/enrichment/${runId}`, { key }))

layer(ApiOnlyTestServer, { timeout: 120_000, excludeTestServices: true })(
  "operator ends a run (integration, real server)",
  (it) => {
    it.effect("the_endpoint_is_documented_with_its_answers", () =>
      Effect.gen(function* () {
        const openapi = yield* use((api) => api.get("/openapi.json"))
        const operation = openapi.body.paths["/admin/runs/{id}/fail"]?.post
        assert.isDefined(operation, "POST /admin/runs/{id}/fail is in /openapi.json")
        for (const code of ["200", "400", "401", "404", "409"]) assert.property(operation.responses, code)
        assert.deepStrictEqual(operation.requestBody.content["application/json"].schema.required, ["reason"])
      })
    )

    it.effect(
      "a_run_stuck_running_is_ended_failed_and_settled_by_its_charge_and_a_second_call_is_409_and_refusals_write_nothing",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const run = yield* aRun(3, 10)
          // item 1 completed, item 2 running with no worker left, item 3 pending
          yield* claim(run, [1, 2], [1])
          const stuck = yield* status(run.runId, run.key)
          assert.strictEqual(stuck.body.run.status, "running")
          assert.deepStrictEqual(stuck.body.run.scope.counts, {
            pending: 1,
            running: 1,
            completed: 1,
            skipped: 0,
            failed: 0
          })
          assert.deepStrictEqual((yield* use((api) => api.get("/api/credits", { key: run.key }))).body, {
            balance: 7,
            held: 3,
            captured: 0,
            granted: 10
          })

          // refused: nothing written, the run still stuck
          yield* writesNothingAtAll(
            Effect.gen(function* () {
              for (const body of [
                {},
                { reason: "" },
                { reason: "x".repeat(501) },
                { reason: "a\u0000b" },
                { reason: "x\ud800y" },
                { reason: 5 },
                { reason: null },
                { reason: "stuck", extra: true },
                { message: "stuck" },
                [],
                "stuck"
              ]) {
                const reply = yield* fail(run.runId, body)
                expectError(reply, 400, "VALIDATION_FAILED")
              }
              const missing = yield* fail(run.runId, {})
              assert.deepStrictEqual(
                missing.body.details.issues.map((i: { path: string }) => i.path),
                ["body.reason"]
              )
              const extra = yield* fail(run.runId, { reason: "stuck", extra: true })
              assert.include(
                extra.body.details.issues.map((i: { path: string }) => i.path),
                "body.extra"
              )
              expectError(
                yield* use((api) => api.post(`/admin/runs/${run.runId}/fail`, { key: ADMIN_TOKEN, raw: "{oops" })),
                400,
                "VALIDATION_FAILED"
              )
              expectError(
                yield* use((api) =>
                  api.post(`/admin/runs/${run.runId}/fail?force=1`, { key: ADMIN_TOKEN, body: { reason: "x" } })
                ),
                400,
                "VALIDATION_FAILED"
              )
              expectError(yield* fail(run.runId, { reason: "stuck" }, null), 401, "UNAUTHORIZED")
              expectError(yield* fail(run.runId, { reason: "stuck" }, "wrong-token"), 401, "UNAUTHORIZED")
              expectError(yield* fail(run.runId, { reason: "stuck" }, run.key), 401, "UNAUTHORIZED")
              expectError(yield* fail("no-such-run", { reason: "stuck" }), 404, "NOT_FOUND")
              expectError(yield* fail("x\u0000y", { reason: "stuck" }), 400, "VALIDATION_FAILED")
            })
          )
          assert.strictEqual((yield* status(run.runId, run.key)).body.run.status, "running")

          const reason = "worker host lost; ended by ops — ticket #42"
          const ended = yield* fail(run.runId, { reason })
          assert.strictEqual(ended.status, 200, JSON.stringify(ended.body))
          assert.deepStrictEqual(Object.keys(ended.body), ["run"])
          const view = ended.body.run
          assert.strictEqual(view.id, run.runId)
          assert.strictEqual(view.status, "failed")
          assert.isString(view.timing.settledAt)
          assert.deepStrictEqual(view.error, { message: reason, details: null })
          assert.deepStrictEqual(view.scope.counts, { pending: 0, running: 0, completed: 1, skipped: 2, failed: 0 })
          // settled by its chargeOn (completed items): 1 captured, the other 2 released
          assert.deepStrictEqual(view.cost.actual, { reserved: 3, captured: 1, released: 2 })
          // exactly what the workspace reads
          assert.deepStrictEqual(view, (yield* status(run.runId, run.key)).body.run)

          const items = yield* use((api) => api.get(`/api/enrichment/${run.runId}/items`, { key: run.key }))
          assert.deepStrictEqual(
            items.body.items.map((i: { status: string; skippedReason: string | null }) => [i.status, i.skippedReason]),
            [
              ["completed", null],
              ["skipped", "run_failed"],
              ["skipped", "run_failed"]
            ]
          )
          assert.deepStrictEqual((yield* use((api) => api.get("/api/credits", { key: run.key }))).body, {
            balance: 9,
            held: 0,
            captured: 1,
            granted: 10
          })
          const ledger = yield* use((api) => api.get("/api/credits/ledger", { key: run.key }))
          assert.deepStrictEqual(
            ledger.body.entries.map((e: { type: string; amount: number; runId: string | null }) => [
              e.type,
              e.amount,
              e.runId
            ]),
            [
              ["release", 2, run.runId],
              ["capture", 1, run.runId],
              ["reserve", 3, run.runId],
              ["grant", 10, null]
            ]
          )

          // the events say an operator did it, in which request
          const [failed] = yield* sql<{ actor: string | null; request_id: string | null; message: string }>`
            SELECT metadata->>'actor' AS actor, metadata->>'requestId' AS request_id, data->>'message' AS message
            FROM events WHERE stream_id = ${`run-${run.runId}`} AND type = 'RunFailed'`
          assert.deepStrictEqual([failed!.actor, failed!.message], ["admin", reason])
          assert.strictEqual(failed!.request_id, ended.headers.get("x-request-id"))

          // a second call: 409, nothing written
          yield* writesNothingAtAll(
            Effect.gen(function* () {
              const again = yield* fail(run.runId, { reason: "again" })
              expectError(again, 409, "RUN_ALREADY_SETTLED")
              assert.strictEqual(again.body.reason, "run_settled")
            })
          )
          assert.deepStrictEqual((yield* status(run.runId, run.key)).body.run, view)
        })
    )

    it.effect("a_pending_run_is_ended_at_once_and_a_settled_one_is_409", () =>
      Effect.gen(function* () {
        const pending = yield* aRun(2)
        const ended = yield* fail(pending.runId, { reason: "never started" })
        assert.strictEqual(ended.status, 200, JSON.stringify(ended.body))
        assert.deepStrictEqual(
          [ended.body.run.status, ended.body.run.error.message, ended.body.run.scope.counts.skipped],
          ["failed", "never started", 2]
        )
        assert.deepStrictEqual(ended.body.run.cost.actual, { reserved: 2, captured: 0, released: 2 })

        // a run cancelled with nothing running is settled already
        const cancelled = yield* aRun(1)
        const cancel = yield* use((api) =>
          api.post(`/api/enrichment/${cancelled.runId}/cancel`, { key: cancelled.key })
        )
        assert.strictEqual(cancel.status, 200)
        yield* writesNothingAtAll(
          Effect.map(fail(cancelled.runId, { reason: "x" }), (reply) => expectError(reply, 409, "RUN_ALREADY_SETTLED"))
        )
      })
    )

    it.effect("the_event_stream_of_a_running_run_ends_when_the_operator_ends_the_run", () =>
      Effect.gen(function* () {
        const api = yield* TestServer
        const run = yield* aRun(2)
        yield* claim(run, [1])
        yield* Effect.promise(async () => {
          const stream = await openEvents(`${api.baseUrl}/api/enrichment/${run.runId}/events`, run.key)
          assert.strictEqual(stream.status, 200)
          const first = await stream.next()
          assert.deepStrictEqual([first?.data.run.status, first?.data.run.timing.settledAt], ["running", null])
          const ended = await api.post(`/admin/runs/${run.runId}/fail`, { key: ADMIN_TOKEN, body: { reason: "gone" } })
          assert.strictEqual(ended.status, 200, JSON.stringify(ended.body))
          const rest = await stream.rest()
          assert.isAbove(rest.length, 0)
          const last = rest[rest.length - 1]!
          assert.strictEqual(last.data.run.status, "failed")
          assert.isString(last.data.run.timing.settledAt)
          assert.strictEqual(last.data.run.error.message, "gone")
          assert.deepStrictEqual(last.data.run, ended.body.run)
        })
      })
    )

    it.effect("the_event_stream_of_a_cancelled_run_with_an_item_still_running_ends_when_the_operator_ends_it", () =>
      Effect.gen(function* () {
        const api = yield* TestServer
        const run = yield* aRun(3)
        yield* claim(run, [1])
        const cancelled = yield* use((api) => api.post(`/api/enrichment/${run.runId}/cancel`, { key: run.key }))
        assert.strictEqual(cancelled.status, 200, JSON.stringify(cancelled.body))
        // the running item keeps the cancelled run unsettled: its stream stays open
        const waiting = (yield* status(run.runId, run.key)).body.run
        assert.deepStrictEqual(
          [waiting.status, waiting.timing.settledAt, waiting.scope.counts.running],
          ["cancelled", null, 1]
        )
        yield* Effect.promise(async () => {
          const stream = await openEvents(`${api.baseUrl}/api/enrichment/${run.runId}/events`, run.key)
          const first = await stream.next()
          assert.deepStrictEqual([first?.data.run.status, first?.data.run.timing.settledAt], ["cancelled", null])
          const ended = await api.post(`/admin/runs/${run.runId}/fail`, {
            key: ADMIN_TOKEN,
            body: { reason: "its worker is gone" }
          })
          assert.strictEqual(ended.status, 200, JSON.stringify(ended.body))
          // a cancelled run stays cancelled: its running item is released as cancelled, and it settles
          assert.strictEqual(ended.body.run.status, "cancelled")
          assert.isString(ended.body.run.timing.settledAt)
          assert.deepStrictEqual(ended.body.run.scope.counts, {
            pending: 0,
            running: 0,
            completed: 0,
            skipped: 3,
            failed: 0
          })
          assert.deepStrictEqual(ended.body.run.cost.actual, { reserved: 3, captured: 0, released: 3 })
          const rest = await stream.rest()
          assert.isAbove(rest.length, 0)
          assert.deepStrictEqual(rest[rest.length - 1]!.data.run, ended.body.run)
        })
        const items = yield* use((api) => api.get(`/api/enrichment/${run.runId}/items`, { key: run.key }))
        assert.deepStrictEqual(
          items.body.items.map((i: { skippedReason: string | null }) => i.skippedReason),
          ["run_cancelled", "run_cancelled", "run_cancelled"]
        )
        assert.deepStrictEqual((yield* use((api) => api.get("/api/credits", { key: run.key }))).body, {
          balance: 3,
          held: 0,
          captured: 0,
          granted: 3
        })
      })
    )
  }
)
