/**
 * Migration 0016 on a database with runs in flight (issue 24, DECISIONS.md 72): each `item_results` row moves into
 * its item's row, the table goes, a running item becomes a pending row of its open batch (its claim's attempt
 * taken back, a first claim's token and start cleared), a batch with no running item ends, and new item pages keep
 * room for the record's result.
 */
import { assert, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import { DatabaseUrl } from "../../src/postgres/Database.ts"
import { migrationModules, runMigrations } from "../../src/postgres/Migrations.ts"
import { TestDatabaseUrl } from "../support/TestDatabase.ts"

const pool = Layer.unwrap(
  Effect.gen(function* () {
    const { url } = yield* DatabaseUrl
    return PgClient.layer({ url, maxConnections: 2 })
  })
)

/** An item's result columns before its record. */
const nothingRecorded = {
  result: null,
  error: null,
  lead_snapshot: null,
  provider_result: null,
  provider_result_is_result: false,
  provider: null,
  provider_submission_id: null,
  recorded: false
}

/** An item as its run's request left it (a first claim, taken back, leaves it so too). */
const neverClaimed = (ordinal: number) => ({
  ordinal,
  status: "pending",
  attempts: 0,
  claim_token: null,
  started_at: null,
  updated_at: "2026-12-01 10:00:00+00",
  ...nothingRecorded
})

/** The migrations before 0016, as a database from before it has them. */
const before0016 = Migrator.fromRecord(
  Object.fromEntries(Object.entries(migrationModules).filter(([name]) => name < "0016"))
)

layer(pool.pipe(Layer.provideMerge(TestDatabaseUrl)), { timeout: 120_000, excludeTestServices: true })(
  "Migration 0016: item results in the items' rows (integration)",
  (it) => {
    it.effect("results_move_into_their_items_and_running_items_become_pending_rows_of_their_open_batch", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* Migrator.make({})({ loader: before0016 })
        // run r1: batch b1 recorded (1 completed, 2 failed), batch b2 running (3 first claimed, 4 claimed a second
        // time after b0 was abandoned), 5 pending
        yield* sql`INSERT INTO run_items (id, workspace_id, run_id, ordinal, lead_id, status, claim_token, attempts,
            started_at, completed_at, created_at, updated_at)
          SELECT 'r1.' || lpad(o::text, 8, '0'), 'w', 'r1', o, 'lead-' || o, status, token, attempts,
            started, completed, '2026-12-01T10:00:00Z', updated
          FROM (VALUES
            (1, 'completed', 'b1', 1, '2026-12-01T10:01:00Z'::timestamptz, '2026-12-01T10:02:00Z'::timestamptz,
              '2026-12-01T10:02:00Z'::timestamptz),
            (2, 'failed', 'b1', 1, '2026-12-01T10:01:00Z', '2026-12-01T10:02:00Z', '2026-12-01T10:02:00Z'),
            (3, 'running', 'b2', 1, '2026-12-01T10:03:00Z', NULL, '2026-12-01T10:03:00Z'),
            (4, 'running', 'b2', 2, '2026-12-01T10:03:00Z', NULL, '2026-12-01T10:03:00Z'),
            (5, 'pending', NULL, 0, NULL, NULL, '2026-12-01T10:00:00Z')
          ) AS v(o, status, token, attempts, started, completed, updated)`
        yield* sql`INSERT INTO run_batches (batch, run_id, ordinals, last_ordinal, started_at) VALUES
          ('b0', 'r1', '{4}', 4, '2026-12-01T10:00:30Z'), ('b1', 'r1', '{1,2}', 2, '2026-12-01T10:01:00Z'),
          ('b2', 'r1', '{3,4}', 4, '2026-12-01T10:03:00Z')`
        yield* sql`INSERT INTO item_results (item_id, workspace_id, run_id, lead_id, result, error, input_snapshot,
            lead_snapshot, provider_result, provider_result_is_result, provider, provider_submission_id, recorded_at)
          VALUES ('r1.00000001', 'w', 'r1', 'lead-1', '{"valid":true}', NULL, '{"level":1}', '{"email":"a@b.c"}',
              NULL, true, 'builtin', 'sub-1', '2026-12-01T10:02:00Z'),
            ('r1.00000002', 'w', 'r1', 'lead-2', NULL, '{"message":"vendor down","details":null}', '{"level":1}',
              '{"email":"d@e.f"}', '{"raw":1}', false, NULL, NULL, '2026-12-01T10:02:00Z')`

        const applied = yield* runMigrations
        assert.deepStrictEqual(
          applied.map(([id, name]) => `${id}_${name}`),
          ["16_item_results_in_items"]
        )
        const items = yield* sql<Record<string, unknown>>`
          SELECT ordinal, status, attempts, claim_token, started_at::text, updated_at::text, result, error,
            lead_snapshot, provider_result, provider_result_is_result, provider, provider_submission_id,
            recorded_at IS NOT NULL AS recorded
          FROM run_items ORDER BY ordinal`
        assert.deepStrictEqual(items, [
          {
            ordinal: 1,
            status: "completed",
            attempts: 1,
            claim_token: "b1",
            started_at: "2026-12-01 10:01:00+00",
            updated_at: "2026-12-01 10:02:00+00",
            result: { valid: true },
            error: null,
            lead_snapshot: { email: "a@b.c" },
            provider_result: null,
            provider_result_is_result: true,
            provider: "builtin",
            provider_submission_id: "sub-1",
            recorded: true
          },
          {
            ordinal: 2,
            status: "failed",
            attempts: 1,
            claim_token: "b1",
            started_at: "2026-12-01 10:01:00+00",
            updated_at: "2026-12-01 10:02:00+00",
            result: null,
            error: { message: "vendor down", details: null },
            lead_snapshot: { email: "d@e.f" },
            provider_result: { raw: 1 },
            provider_result_is_result: false,
            provider: null,
            provider_submission_id: null,
            recorded: true
          },
          neverClaimed(3),
          {
            ordinal: 4,
            status: "pending",
            attempts: 1,
            claim_token: "b2",
            started_at: "2026-12-01 10:03:00+00",
            updated_at: "2026-12-01 10:03:00+00",
            ...nothingRecorded
          },
          neverClaimed(5)
        ])
        const batches = yield* sql<{ batch: string; ended: boolean }>`SELECT batch, ended FROM run_batches ORDER BY 1`
        assert.deepStrictEqual(batches, [
          { batch: "b0", ended: true },
          { batch: "b1", ended: true },
          { batch: "b2", ended: false }
        ])
        const tables = yield* sql`SELECT 1 FROM pg_tables WHERE tablename = 'item_results'`
        assert.strictEqual(tables.length, 0, "item_results is gone")
        const [options] = yield* sql<{ options: Array<string> }>`
          SELECT reloptions AS options FROM pg_class WHERE oid = 'run_items'::regclass`
        assert.deepStrictEqual(options!.options, ["fillfactor=25"])
        const open = yield* sql<{ name: string }>`
          SELECT indexname AS name FROM pg_indexes WHERE tablename = 'run_batches' ORDER BY 1`
        assert.deepStrictEqual(
          open.map((i) => i.name),
          ["run_batches_open", "run_batches_pkey", "run_batches_run"]
        )
      })
    )
  }
)
