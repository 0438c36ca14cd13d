/** One regression test per bug found, named after it. */
import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { ClientOnlyClusterLive, WorkflowDispatcherLive } from "@enrich/adapters/engine/RunWorkflow"
import { Workspaces } from "@enrich/adapters/postgres/Workspaces"
import { CancelRun } from "@enrich/adapters/runs/CancelRun"
import { DispatchRun } from "@enrich/adapters/runs/DispatchRun"
import { ServicesLive } from "@enrich/adapters/Services"
import { TestDatabaseLive } from "@enrich/adapters/testing/TestDatabase"
import { RunExecutor } from "../src/RunExecutor.ts"

const Live = RunExecutor.layer.pipe(
  Layer.provideMerge(
    ServicesLive.pipe(Layer.provide(WorkflowDispatcherLive), Layer.provideMerge(ClientOnlyClusterLive))
  ),
  Layer.provideMerge(TestDatabaseLive),
  Layer.provide(
    ConfigProvider.layer(
      ConfigProvider.fromEnv({ env: { ...process.env, ENRICH_BATCH_SIZE: "5" } as Record<string, string> })
    )
  )
)

layer(Live, { timeout: 120_000, excludeTestServices: true })("Regressions (integration)", (it) => {
  it.effect("regression_a_cancel_racing_batch_claims_deadlocked_into_a_500", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const { workspace } = yield* (yield* Workspaces).create({ name: "race", credits: 400 })
      yield* sql`INSERT INTO leads (id, workspace_id, type, contacts)
        SELECT ${workspace.id} || '-' || g, ${workspace.id}, 'person',
               jsonb_build_array(jsonb_build_object('type', 'email', 'value', 'p' || g || '@corp.example'))
        FROM generate_series(1, 400) g`
      const dispatched = yield* (yield* DispatchRun).dispatch(workspace.id, {
        enrichmentId: "email_validation",
        scope: { type: "list", listId: "all" },
        mode: "persisted",
        input: {},
        output: undefined,
        writePolicy: "overwrite",
        displayRequest: undefined,
        idempotencyKey: undefined
      })
      assert.strictEqual(dispatched._tag, "Accepted")
      const runId = dispatched._tag === "Accepted" ? dispatched.body.runId : ""
      const run = { runId, workspaceId: workspace.id }
      const executor = yield* RunExecutor
      const cancel = yield* CancelRun
      // many batches claiming at once (as partitions or a replayed workflow would), and a cancel in the middle
      const outcomes = yield* Effect.all(
        [
          ...Array.from({ length: 30 }, (_, i) => Effect.exit(executor.runBatch(run, `${runId}/race-${i}`))),
          Effect.exit(Effect.delay(cancel.cancel(workspace.id, runId), "20 millis"))
        ],
        { concurrency: "unbounded" }
      )
      for (const outcome of outcomes) assert.strictEqual(outcome._tag, "Success", String(outcome))
      yield* executor.complete(run)
      const [state] = yield* sql<{ status: string; pending: number; running: number; settled: boolean; total: number }>`
        SELECT status, count_pending AS pending, count_running AS running, settled_at IS NOT NULL AS settled,
               count_completed + count_failed + count_skipped AS total
        FROM enrichment_runs WHERE id = ${runId}`
      assert.deepStrictEqual(state, { status: "cancelled", pending: 0, running: 0, settled: true, total: 400 })
    })
  )
})
