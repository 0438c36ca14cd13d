/**
 * Regressions of the run projection, one per bug, named after it.
 *
 * The rows a statement reads are counted with `pg_stat_xact_user_tables` (this
 * transaction's own counters), so the tests measure work, not time.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { initialState } from "@enrich/domain/runs/Run"
import { projectRunEvent, refreshItemStatistics, runEventRows } from "../../src/postgres/projections/RunProjection.ts"
import { scaled } from "@enrich/domain/testing/TestScale"
import { TestDatabaseLive } from "../support/TestDatabase.ts"

const RUN = "run-big"
const WS = "ws-big"
const BATCH = 100

/** The sum of a plan's "Rows Removed by Join Filter" (EXPLAIN ANALYZE, JSON): rows a join compared and threw away. */
const rowsRemovedByJoinFilter = (node: Record<string, unknown>): number =>
  Number(node["Rows Removed by Join Filter"] ?? 0) +
  ((node["Plans"] as ReadonlyArray<Record<string, unknown>> | undefined) ?? []).reduce(
    (sum, child) => sum + rowsRemovedByJoinFilter(child),
    0
  )

/** Rows of run_items read so far in this transaction (sequential and index scans). */
const rowsRead = (sql: SqlClient.SqlClient) =>
  Effect.map(
    sql<{ n: string }>`SELECT (coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::text AS n
      FROM pg_stat_xact_user_tables WHERE relname = 'run_items'`,
    (rows) => Number(rows[0]?.n ?? 0)
  )

layer(TestDatabaseLive, { timeout: 120_000, excludeTestServices: true })("Run projection (regressions)", (it) => {
  it.effect("regression_projecting_a_batch_read_every_item_of_the_run", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const items = scaled(20_000)
      yield* sql`INSERT INTO run_items (id, workspace_id, run_id, ordinal, lead_id, status, created_at, updated_at)
        SELECT ${RUN} || '.' || lpad(g::text, 8, '0'), ${WS}, ${RUN}, g, 'lead-' || g, 'pending', now(), now()
        FROM generate_series(0, ${items - 1}) g`
      const now = new Date().toISOString()
      /** projects one batch's start and record, returning the item rows each read */
      const batch = (name: string, first: number) =>
        sql.withTransaction(
          Effect.gen(function* () {
            const ordinals = Array.from({ length: BATCH }, (_, i) => first + i)
            const before = yield* rowsRead(sql)
            yield* projectRunEvent(sql, RUN, WS, initialState, {
              _tag: "ItemBatchStarted",
              batch: name,
              ordinals,
              startedAt: now
            })
            const started = yield* rowsRead(sql)
            yield* projectRunEvent(sql, RUN, WS, initialState, {
              _tag: "ItemBatchRecorded",
              batch: name,
              outcomes: ordinals.map((ordinal) => ({ ordinal, status: "completed", skippedReason: null, found: true })),
              recordedAt: now
            })
            const recorded = yield* rowsRead(sql)
            return { started: started - before, recorded: recorded - started }
          })
        )
      // a large run's items were just bulk-loaded into a table the planner last saw empty (a fresh install):
      // the executor refreshes the statistics before the run's first batch, as it does here
      yield* refreshItemStatistics(sql)
      const fresh = yield* batch("b1", items - 2 * BATCH)
      // and later, as autovacuum keeps them
      yield* sql`ANALYZE run_items`
      const analysed = yield* batch("b2", items - BATCH)
      const [counts] = yield* sql<{ running: number; completed: number }>`
        SELECT count(*) FILTER (WHERE status = 'running')::int AS running,
               count(*) FILTER (WHERE status = 'completed')::int AS completed FROM run_items WHERE run_id = ${RUN}`
      assert.deepStrictEqual(counts, { running: 0, completed: 2 * BATCH }, "the batches' items, and only they, moved")
      // the batch's own items (and a few index pages' worth), never the run's 20,000
      for (const [when, read] of [
        ["fresh", fresh],
        ["analysed", analysed]
      ] as const) {
        assert.isAtMost(read.started, 3 * BATCH, `${when}: ItemBatchStarted read ${read.started} item rows`)
        assert.isAtMost(read.recorded, 3 * BATCH, `${when}: ItemBatchRecorded read ${read.recorded} item rows`)
      }
    })
  )

  it.effect("regression_recording_a_batch_compared_every_outcome_with_every_item", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const run = "run-join"
      const size = 500
      yield* sql`INSERT INTO run_items (id, workspace_id, run_id, ordinal, lead_id, status, created_at, updated_at)
        SELECT ${run} || '.' || lpad(g::text, 8, '0'), ${WS}, ${run}, g, 'lead-' || g, 'pending', now(), now()
        FROM generate_series(1, ${scaled(10_000)}) g`
      // statistics taken while every item was pending, as after a run's bulk load (the executor analyses then)
      yield* refreshItemStatistics(sql)
      const now = new Date().toISOString()
      const ordinals = Array.from({ length: size }, (_, i) => i + 1)
      yield* projectRunEvent(sql, run, WS, initialState, {
        _tag: "ItemBatchStarted",
        batch: "run-join/b1",
        ordinals,
        startedAt: now
      })
      const recorded = runEventRows(
        sql,
        run,
        WS,
        [
          {
            _tag: "ItemBatchRecorded",
            batch: "run-join/b1",
            // completed, failed and skipped, as a real batch's outcomes are
            outcomes: ordinals.map((ordinal) =>
              ordinal % 10 === 0
                ? { ordinal, status: "skipped", skippedReason: "lead_deleted", found: false }
                : ordinal % 7 === 0
                  ? { ordinal, status: "failed", skippedReason: null, found: false }
                  : { ordinal, status: "completed", skippedReason: null, found: ordinal % 2 === 0 }
            ),
            recordedAt: now
          }
        ],
        // the items' rows only: no run row here
        initialState,
        sql`true`
      )!
      const [text, params] = sql`WITH ${sql.join(", ", false)(recorded)} SELECT 1`.compile()
      const plan = yield* sql
        .withTransaction(
          Effect.gen(function* () {
            const [row] = yield* sql.unsafe<{ "QUERY PLAN": ReadonlyArray<{ Plan: Record<string, unknown> }> }>(
              `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`,
              params
            )
            const [counts] = yield* sql<{ running: number; completed: number; failed: number; skipped: number }>`
              SELECT count(*) FILTER (WHERE status = 'running')::int AS running,
                count(*) FILTER (WHERE status = 'completed')::int AS completed,
                count(*) FILTER (WHERE status = 'failed')::int AS failed,
                count(*) FILTER (WHERE status = 'skipped')::int AS skipped
              FROM run_items WHERE run_id = ${run}`
            assert.deepStrictEqual(counts, { running: 0, completed: 386, failed: 64, skipped: 50 })
            return yield* Effect.fail({ rolledBack: row!["QUERY PLAN"][0]!.Plan })
          })
        )
        .pipe(Effect.catch((e) => Effect.succeed((e as { rolledBack: Record<string, unknown> }).rolledBack)))
      // each item found by its key and written: a nested loop of the items with the outcomes' recordset compared
      // all 500 with all 500 (249,500 rows thrown away, ~140 ms of a batch's 150 in the worker benchmark)
      assert.strictEqual(rowsRemovedByJoinFilter(plan), 0)
    })
  )
})
