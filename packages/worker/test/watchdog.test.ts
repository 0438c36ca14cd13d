/**
 * The run watchdog (docs/ARCHITECTURE.md, "When things fail"): batches whose worker is gone, runs no worker
 * executes any more, cancels whose running items would never finish. Leases of 1 s here, so a lost worker
 * is seen as lost after a second; workers are lost by claiming a batch and never recording it.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { renewLease } from "@enrich/adapters/postgres/RunLeases"
import { RunCommands } from "@enrich/application/runs/RunCommands"
import { Workspaces } from "@enrich/adapters/postgres/Workspaces"
import { CancelRun } from "@enrich/application/runs/CancelRun"
import { RunWatchdog } from "@enrich/application/runs/RunWatchdog"
import { TestDatabaseLive } from "@enrich/adapters/testing/TestDatabase"
import { CommandMetadata } from "@enrich/domain/ports/EventStore"
import { RunExecutor } from "../src/RunExecutor.ts"
import {
  assertSettled,
  dispatchAll,
  executeRun,
  insertPeople,
  servicesWith,
  sweepUntilSettled
} from "./support/Failures.ts"

/** A workspace of `n` people with a run of email validation over them. */
const aRun = (name: string, n = 5) =>
  Effect.gen(function* () {
    const { workspace } = yield* (yield* Workspaces).create({ name, credits: n })
    yield* insertPeople(
      workspace.id,
      Array.from({ length: n }, (_, i) => `p${i + 1}@corp.example`)
    )
    const runId = yield* dispatchAll(workspace.id, "email_validation")
    return { runId, workspaceId: workspace.id }
  })

/** A worker of `holder` claims `ordinals` as `batch` and is then lost: its lease (1 s) is never renewed. */
const claimAndVanish = (
  run: { runId: string; workspaceId: string },
  holder: string,
  batch: string,
  ordinals: Array<number>
) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* renewLease(sql, run.runId, holder, 1_000)
    yield* (yield* RunCommands)
      .execute({ ...run, command: { _tag: "StartBatch", batch, ordinals, now: new Date().toISOString() } })
      .pipe(Effect.provideService(CommandMetadata, { actor: "test" }), Effect.orDie)
  })

const itemsOf = (runId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ ordinal: number; status: string; attempts: number; skipped_reason: string | null }>`
      SELECT ordinal, status, attempts, skipped_reason FROM run_items WHERE run_id = ${runId} ORDER BY ordinal`
  )

const eventTypes = (runId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ type: string }>`SELECT type FROM events WHERE stream_id = ${`run-${runId}`} ORDER BY stream_version`.pipe(
      Effect.map((rows) => rows.map((r) => r.type))
    )
  )

layer(servicesWith([], { ENRICH_ITEM_MAX_ATTEMPTS: "3" }).pipe(Layer.provideMerge(TestDatabaseLive)), {
  timeout: 60_000,
  excludeTestServices: true
})("Run watchdog (integration)", (it) => {
  it.effect("when_a_batchs_worker_is_lost_while_another_holder_lives_then_its_items_are_claimed_again", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const run = yield* aRun("requeue")
      yield* claimAndVanish(run, `${run.runId}/p1`, `${run.runId}/p1/batch-0`, [1, 2, 3])
      yield* renewLease(sql, run.runId, run.runId, 60_000)
      yield* Effect.sleep(1_100)
      const report = yield* (yield* RunWatchdog).sweep
      assert.deepStrictEqual(report.actions, [{ runId: run.runId, action: "AbandonBatch" }])
      assert.deepStrictEqual(
        (yield* itemsOf(run.runId)).map((i) => [i.status, i.attempts]),
        [
          ["pending", 1],
          ["pending", 1],
          ["pending", 1],
          ["pending", 0],
          ["pending", 0]
        ],
        "the lost batch's items went back to pending"
      )
      // the live holder goes on and claims them again
      yield* executeRun(run)
      const end = yield* assertSettled(run.runId)
      assert.strictEqual(end.status, "completed")
      assert.deepStrictEqual(
        end.items.map((i) => i.status),
        ["completed", "completed", "completed", "completed", "completed"]
      )
      assert.deepStrictEqual(
        (yield* itemsOf(run.runId)).map((i) => i.attempts),
        [2, 2, 2, 1, 1]
      )
      assert.include(yield* eventTypes(run.runId), "ItemBatchAbandoned")
    })
  )

  it.effect("when_an_items_worker_is_lost_on_every_try_then_it_fails_after_its_tries", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const run = yield* aRun("tries", 2)
      const watchdog = yield* RunWatchdog
      for (let attempt = 1; attempt <= 3; attempt++) {
        yield* renewLease(sql, run.runId, run.runId, 60_000)
        yield* claimAndVanish(run, `${run.runId}/p1`, `${run.runId}/p1/batch-${attempt}`, [1])
        yield* Effect.sleep(1_100)
        yield* watchdog.sweep
      }
      const items = yield* itemsOf(run.runId)
      assert.deepStrictEqual(
        items.map((i) => [i.status, i.attempts]),
        [
          ["failed", 3],
          ["pending", 0]
        ]
      )
      const [error] = yield* sql<{ message: string }>`
          SELECT error->>'message' AS message FROM run_items WHERE id = ${`${run.runId}.00000001`}`
      assert.match(error!.message, /^the worker executing this item was lost 3 times/)
      yield* executeRun(run)
      const end = yield* assertSettled(run.runId)
      assert.strictEqual(end.status, "completed")
      assert.deepStrictEqual([end.captured, end.released], [1, 1])
    })
  )

  it.effect("when_a_runs_only_worker_is_lost_then_the_run_ends_failed_and_settles_by_its_charge", () =>
    Effect.gen(function* () {
      const run = yield* aRun("lost")
      // two items done before the worker went
      yield* Effect.flatMap(RunCommands, (runs) =>
        runs
          .execute({
            ...run,
            command: {
              _tag: "StartBatch",
              batch: `${run.runId}/batch-0`,
              ordinals: [1, 2],
              now: new Date().toISOString()
            }
          })
          .pipe(
            Effect.andThen(
              runs.execute({
                ...run,
                command: {
                  _tag: "RecordBatch",
                  batch: `${run.runId}/batch-0`,
                  outcomes: [1, 2].map((ordinal) => ({
                    ordinal,
                    status: "completed" as const,
                    skippedReason: null,
                    found: true
                  })),
                  now: new Date().toISOString()
                }
              })
            ),
            Effect.provideService(CommandMetadata, { actor: "test" }),
            Effect.orDie
          )
      )
      yield* claimAndVanish(run, run.runId, `${run.runId}/batch-1`, [3, 4])
      const sweeps = yield* sweepUntilSettled(run.runId)
      assert.isAtMost(sweeps, 5)
      const end = yield* assertSettled(run.runId)
      assert.strictEqual(end.status, "failed")
      assert.deepStrictEqual([end.captured, end.released], [2, 3], "the completed items are charged, the rest released")
      assert.deepStrictEqual(
        (yield* itemsOf(run.runId)).map((i) => [i.status, i.skipped_reason]),
        [
          ["completed", null],
          ["completed", null],
          ["skipped", "run_failed"],
          ["skipped", "run_failed"],
          ["skipped", "run_failed"]
        ]
      )
      const [row] = yield* Effect.flatMap(
        SqlClient.SqlClient,
        (sql) =>
          sql<{ message: string }>`SELECT error->>'message' AS message FROM enrichment_runs WHERE id = ${run.runId}`
      )
      assert.match(row!.message, /workers were lost/)
    })
  )

  it.effect("regression_a_cancelled_run_whose_worker_was_lost_never_settled", () =>
    Effect.gen(function* () {
      const run = yield* aRun("cancel")
      yield* claimAndVanish(run, run.runId, `${run.runId}/batch-0`, [1, 2])
      yield* (yield* CancelRun).cancel(run.workspaceId, run.runId)
      const [before] = yield* Effect.flatMap(
        SqlClient.SqlClient,
        (sql) =>
          sql<{
            settled: boolean
          }>`SELECT settled_at IS NOT NULL AS settled FROM enrichment_runs WHERE id = ${run.runId}`
      )
      assert.isFalse(before!.settled, "a cancel waits for its running items")
      yield* sweepUntilSettled(run.runId)
      const end = yield* assertSettled(run.runId)
      assert.strictEqual(end.status, "cancelled")
      assert.deepStrictEqual([end.captured, end.released], [0, 5])
      assert.deepStrictEqual(
        (yield* itemsOf(run.runId)).map((i) => i.skipped_reason),
        ["run_cancelled", "run_cancelled", "run_cancelled", "run_cancelled", "run_cancelled"]
      )
    })
  )

  it.effect(
    "regression_a_lost_batch_coming_back_after_its_items_were_claimed_again_claimed_new_ones_it_never_ran",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const run = yield* aRun("key-once", 8)
        yield* renewLease(sql, run.runId, run.runId, 60_000)
        const lost = `${run.runId}/p1/batch-0`
        yield* claimAndVanish(run, `${run.runId}/p1`, lost, [1, 2])
        yield* Effect.sleep(1_100)
        yield* (yield* RunWatchdog).sweep
        // another batch claims the given-back items; items 3-8 are still pending
        yield* claimAndVanish(run, run.runId, `${run.runId}/batch-0`, [1, 2])
        // the lost batch's step runs again (a replay): its key claimed once, it must not claim 3-8 under it
        const again = yield* (yield* RunExecutor).runBatch(run, lost)
        assert.strictEqual(again.completed, 0)
        // a running item: a pending row in an open batch (ItemMoves.ts storedStatus)
        const running = yield* sql<{ claim_token: string; n: number }>`
        SELECT b.batch AS claim_token, count(*)::int AS n FROM run_batches b
        JOIN run_items i ON i.run_id = b.run_id AND i.ordinal = ANY(b.ordinals)
        WHERE b.run_id = ${run.runId} AND NOT b.ended AND i.status = 'pending'
        GROUP BY b.batch`
        assert.deepStrictEqual(
          running,
          [{ claim_token: `${run.runId}/batch-0`, n: 2 }],
          "nothing claimed under the lost key"
        )
      })
  )

  it.effect("a_lost_batch_that_comes_back_after_the_watchdog_gave_its_items_away_records_nothing_twice", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const run = yield* aRun("zombie", 3)
      yield* renewLease(sql, run.runId, run.runId, 60_000)
      yield* claimAndVanish(run, `${run.runId}/p1`, `${run.runId}/p1/batch-0`, [1, 2, 3])
      yield* Effect.sleep(1_100)
      yield* (yield* RunWatchdog).sweep
      yield* executeRun(run)
      // the lost batch's step runs again, as an engine would replay it: it finds its items no longer running
      const again = yield* (yield* RunExecutor).runBatch(run, `${run.runId}/p1/batch-0`)
      assert.strictEqual(again.completed, 0, "nothing recorded twice")
      const end = yield* assertSettled(run.runId)
      assert.strictEqual(end.status, "completed")
      const [recorded] = yield* sql<{ n: number }>`
          SELECT count(*)::int AS n FROM events, jsonb_array_elements(data -> 'outcomes')
          WHERE stream_id = ${`run-${run.runId}`} AND type = 'ItemBatchRecorded'`
      assert.strictEqual(recorded!.n, 3, "each item recorded once")
    })
  )
})
