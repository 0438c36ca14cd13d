/** One regression test per bug found, named after it. */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { SqlClient } from "effect/sql"
import { Leads } from "@enrich/domain/ports/Leads"
import { Workspaces } from "@enrich/adapters/postgres/Workspaces"
import { CancelRun } from "@enrich/application/runs/CancelRun"
import { DispatchRun } from "@enrich/application/runs/DispatchRun"
import { dispatchRequest } from "@enrich/adapters/testing/DispatchRequests"
import { lockWaiters } from "@enrich/adapters/testing/LockWaiters"
import { scaled } from "@enrich/domain/testing/TestScale"
import { RunExecutor } from "../src/RunExecutor.ts"
import { executorWith } from "./support/Executor.ts"
import { listRun } from "./support/ListRuns.ts"

const Live = executorWith({ ENRICH_BATCH_SIZE: "5" })

layer(Live, { timeout: 120_000, excludeTestServices: true })("Regressions (integration)", (it) => {
  it.effect("regression_a_cancel_racing_batch_claims_deadlocked_into_a_500", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const { workspace, runId, run } = yield* listRun("race", 400)
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

layer(executorWith({ ENRICH_BATCH_SIZE: "5" }), { timeout: 120_000, excludeTestServices: true })(
  "Regressions (integration, erasure)",
  (it) => {
    it.effect("regression_erasing_a_lead_while_its_batch_recorded_deadlocked_into_a_500", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const { workspace, runId, run } = yield* listRun("erasure", 5, { credits: 10 })
        const erased = `${workspace.id}-3`
        // a third transaction holds the Lead, so both sides queue on it in a chosen order: the erasure first
        // (it locked the Lead, then its run items), the batch's record second (it locked its items, then the
        // Leads it writes). Released, the erasure took the Lead and waited for the item the record held, which
        // waited for the Lead: PostgreSQL broke the cycle by failing one, and a failed erasure was a 500.
        const held = yield* Deferred.make<void>()
        const holder = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              yield* sql`SELECT id FROM leads WHERE id = ${erased} FOR UPDATE`
              yield* Deferred.succeed(held, undefined)
              return yield* Effect.never
            })
          )
          .pipe(Effect.forkChild)
        yield* Deferred.await(held)
        const erasure = yield* Effect.forkChild(Effect.exit((yield* Leads).deleteLead(workspace.id, erased)))
        yield* lockWaiters(1)
        const batch = yield* Effect.forkChild(Effect.exit((yield* RunExecutor).runBatch(run, `${runId}/erasure`)))
        yield* lockWaiters(2)
        yield* Fiber.interrupt(holder)
        const [erasureExit, batchExit] = [yield* Fiber.join(erasure), yield* Fiber.join(batch)]
        assert.strictEqual(erasureExit._tag, "Success", String(erasureExit))
        assert.strictEqual(batchExit._tag, "Success", String(batchExit))
        const [left] = yield* sql<{ lead: number; results: number }>`SELECT
          (SELECT count(*)::int FROM leads WHERE id = ${erased}) AS lead,
          (SELECT count(*)::int FROM run_items WHERE lead_id = ${erased}
            AND (recorded_at IS NOT NULL OR result IS NOT NULL OR lead_snapshot IS NOT NULL)) AS results`
        assert.deepStrictEqual(left, { lead: 0, results: 0 }, "the erased Lead left nothing behind")
      })
    )
  }
)

/** One connection: the executor's statements and the test's statistics reads share one server process. */
const OneConnection = executorWith({ ENRICH_BATCH_SIZE: "50", ENRICH_DB_MAX_CONNECTIONS: "1" })

/**
 * Rows of `leads` and `list_memberships` read so far, as the statistics say once this (only) server process
 * has flushed its counters (`pg_stat_force_next_flush`: at the end of the statement, not a second later).
 */
const rowsRead = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`SELECT pg_stat_force_next_flush()`
  const rows = yield* sql<{ relname: string; n: string }>`
    SELECT relname, (coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::text AS n
    FROM pg_stat_user_tables WHERE relname IN ('leads', 'list_memberships')`
  return Object.fromEntries(rows.map((r) => [r.relname, Number(r.n)])) as { leads: number; list_memberships: number }
})

layer(OneConnection, { timeout: 120_000, excludeTestServices: true })(
  "Regressions (integration, one connection)",
  (it) => {
    it.effect("regression_recording_a_batch_read_every_lead_of_the_workspace", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const leads = scaled(20_000)
        const { workspace } = yield* (yield* Workspaces).create({ name: "wide", credits: 2 * leads })
        const listId = `${workspace.id}-list`
        yield* sql`INSERT INTO lists (id, workspace_id, name, lead_type) VALUES (${listId}, ${workspace.id}, 'wide', 'person')`
        yield* sql`INSERT INTO leads (id, workspace_id, type, contacts)
        SELECT ${workspace.id} || '-' || g, ${workspace.id}, 'person',
               jsonb_build_array(jsonb_build_object('type', 'email', 'value', 'p' || g || '@corp.example'))
        FROM generate_series(1, ${leads}) g`
        yield* sql`INSERT INTO list_memberships (id, workspace_id, list_id, lead_id)
        SELECT l.id || '-m', ${workspace.id}, ${listId}, l.id FROM leads l WHERE l.workspace_id = ${workspace.id}`
        // the statistics still say what they said before the Leads arrived (a fresh install, a big import)
        const executor = yield* RunExecutor
        for (const target of ["lead_attribute", "membership_attribute"] as const) {
          const dispatched = yield* (yield* DispatchRun).dispatch(
            workspace.id,
            dispatchRequest({ scope: { type: "list", listId }, output: { target, attributeKey: "email_check" } })
          )
          const runId = dispatched._tag === "Accepted" ? dispatched.runId : ""
          const before = yield* rowsRead
          const outcome = yield* executor.runBatch({ runId, workspaceId: workspace.id }, `${runId}/one-batch`)
          const after = yield* rowsRead
          assert.strictEqual(outcome.claimed, 50, target)
          assert.strictEqual(outcome.completed + outcome.failed + outcome.skipped, 50, target)
          // each statement reads the batch's Leads (and memberships) by key: a few reads per item, not the
          // workspace's 20,000 per statement
          assert.isAtMost(after.leads - before.leads, 10 * 50, `${target}: Leads read`)
          assert.isAtMost(after.list_memberships - before.list_memberships, 10 * 50, `${target}: memberships read`)
        }
        const [written] = yield* sql<{ leads: number; memberships: number }>`SELECT
        (SELECT count(*)::int FROM leads WHERE workspace_id = ${workspace.id} AND attributes ? 'email_check') AS leads,
        (SELECT count(*)::int FROM list_memberships WHERE list_id = ${listId} AND attributes ? 'email_check') AS memberships`
        assert.deepStrictEqual(written, { leads: 50, memberships: 50 }, "each batch wrote its own items' results")
      })
    )
  }
)

layer(executorWith({ ENRICH_BATCH_SIZE: "5" }), { timeout: 120_000, excludeTestServices: true })(
  "Regressions (integration, deadlock victim)",
  (it) => {
    it.effect("regression_a_batch_that_lost_a_deadlock_failed_its_run_instead_of_running_again", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const { runId, run } = yield* listRun("victim", 20)
        const executor = yield* RunExecutor
        /**
         * One race: another transaction holds the run's lowest pending item; the batch's claim takes the run's
         * stream row and waits for that item; the other transaction then asks for the stream row. PostgreSQL
         * fails whichever looks for the cycle first: the batch (deadlock_timeout, 1 s, after it began to wait),
         * unless the other's wait began over a second later — its own deadlock_timeout is 3 s, so it is then
         * failed instead and the race is run again.
         */
        const race = (n: number) =>
          Effect.gen(function* () {
            const held = yield* Deferred.make<void>()
            const go = yield* Deferred.make<void>()
            const other = yield* sql
              .withTransaction(
                Effect.gen(function* () {
                  yield* sql`SET LOCAL deadlock_timeout = '3s'`
                  yield* sql`SELECT id FROM run_items WHERE run_id = ${runId} AND status = 'pending'
                    ORDER BY ordinal LIMIT 1 FOR UPDATE`
                  yield* Deferred.succeed(held, undefined)
                  yield* Deferred.await(go)
                  yield* sql`SELECT version FROM event_streams WHERE stream_id = ${`run-${runId}`} FOR UPDATE`
                })
              )
              .pipe(Effect.exit, Effect.forkChild)
            yield* Deferred.await(held)
            const batch = yield* Effect.forkChild(Effect.exit(executor.runBatch(run, `${runId}/victim-${n}`)))
            yield* lockWaiters(1)
            yield* Deferred.succeed(go, undefined)
            const [otherExit, batchExit] = [yield* Fiber.join(other), yield* Fiber.join(batch)]
            // the batch claims and records its five items, whoever PostgreSQL failed
            assert.strictEqual(batchExit._tag, "Success", String(batchExit))
            if (batchExit._tag === "Success") assert.strictEqual(batchExit.value.completed, 5)
            return otherExit._tag === "Success" ? ("batch failed" as const) : ("other failed" as const)
          })
        const outcomes: Array<string> = []
        while (outcomes.length < 3 && !outcomes.includes("batch failed")) outcomes.push(yield* race(outcomes.length))
        assert.include(outcomes, "batch failed", `the batch never lost the race: ${outcomes.join(", ")}`)
        // the rest of the run, then its settlement: every item recorded once
        for (let n = 0; (yield* executor.runBatch(run, `${runId}/rest-${n}`)).claimed > 0; n++);
        yield* executor.complete(run)
        const [state] = yield* sql<{ status: string; completed: number; running: number; settled: boolean }>`
          SELECT status, count_completed AS completed, count_running AS running, settled_at IS NOT NULL AS settled
          FROM enrichment_runs WHERE id = ${runId}`
        assert.deepStrictEqual(state, { status: "completed", completed: 20, running: 0, settled: true })
        const [results] = yield* sql<{
          n: number
        }>`SELECT count(*)::int AS n FROM run_items WHERE run_id = ${runId} AND recorded_at IS NOT NULL`
        assert.strictEqual(results!.n, 20)
      })
    )
  }
)
