/**
 * Migration 0007 on a database with runs in flight: each batch's claimed items (their
 * `claim_token`) become its `run_batches` row, the indexes on `status` and `claim_token` are
 * gone, and new item pages keep room for in-page (HOT) updates.
 */
import { assert, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import { DatabaseUrl } from "../../src/postgres/Database.ts"
import { runMigrations } from "../../src/postgres/Migrations.ts"
import initial from "../../src/postgres/migrations/0001_initial.ts"
import globalOrder from "../../src/postgres/migrations/0002_global_order.ts"
import runItemsLead from "../../src/postgres/migrations/0003_run_items_lead.ts"
import runSnapshots from "../../src/postgres/migrations/0004_run_snapshots.ts"
import runInput from "../../src/postgres/migrations/0005_run_input.ts"
import runScopeChunks from "../../src/postgres/migrations/0006_run_scope_chunks.ts"
import { TestDatabaseUrl } from "../support/TestDatabase.ts"

const pool = Layer.unwrap(
  Effect.gen(function* () {
    const { url } = yield* DatabaseUrl
    return PgClient.layer({ url, maxConnections: 2 })
  })
)

/** The migrations before 0007, as a database from before it has them. */
const before0007 = Migrator.fromRecord({
  "0001_initial": initial,
  "0002_global_order": globalOrder,
  "0003_run_items_lead": runItemsLead,
  "0004_run_snapshots": runSnapshots,
  "0005_run_input": runInput,
  "0006_run_scope_chunks": runScopeChunks
})

layer(pool.pipe(Layer.provideMerge(TestDatabaseUrl)), { timeout: 120_000, excludeTestServices: true })(
  "Migration 0007: run_batches (integration)",
  (it) => {
    it.effect("claimed_items_become_their_batch_rows_and_the_status_and_claim_indexes_are_dropped", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* Migrator.make({})({ loader: before0007 })
        // run r1: batch b1 recorded (1–3), batch b2 running (4–5), 6 pending; run r2: nothing claimed
        yield* sql`INSERT INTO run_items (id, workspace_id, run_id, ordinal, lead_id, status, claim_token, attempts,
            started_at, created_at, updated_at)
          SELECT run_id || '.' || lpad(o::text, 8, '0'), 'w', run_id, o, 'lead-' || o, status, token,
            CASE WHEN token IS NULL THEN 0 ELSE 1 END, CASE WHEN token IS NULL THEN NULL ELSE at END, at, at
          FROM (VALUES ('r1', 1, 'completed', 'b1', '2026-12-01T10:00:00Z'::timestamptz),
                       ('r1', 2, 'failed', 'b1', '2026-12-01T10:00:01Z'),
                       ('r1', 3, 'skipped', 'b1', '2026-12-01T10:00:00Z'),
                       ('r1', 4, 'running', 'b2', '2026-12-01T10:01:00Z'),
                       ('r1', 5, 'running', 'b2', '2026-12-01T10:01:00Z'),
                       ('r1', 6, 'pending', NULL, '2026-12-01T10:00:00Z'),
                       ('r2', 1, 'pending', NULL, '2026-12-01T10:00:00Z')) AS v(run_id, o, status, token, at)`

        const applied = yield* runMigrations
        assert.deepStrictEqual(
          applied.map(([id, name]) => `${id}_${name}`),
          [
            "7_run_batches",
            "8_item_results_same_result",
            "9_event_ids_stored",
            "10_events_without_stream_key",
            "11_run_leases",
            "12_api_key_added",
            "13_webhooks",
            "14_run_retries",
            "15_api_key_restrictions",
            "16_item_results_in_items"
          ]
        )
        const batches = yield* sql<{ batch: string; run_id: string; ordinals: Array<number>; last_ordinal: number }>`
          SELECT batch, run_id, ordinals, last_ordinal FROM run_batches ORDER BY batch`
        assert.deepStrictEqual(batches, [
          { batch: "b1", run_id: "r1", ordinals: [1, 2, 3], last_ordinal: 3 },
          { batch: "b2", run_id: "r1", ordinals: [4, 5], last_ordinal: 5 }
        ])
        const indexes = yield* sql<{ name: string }>`
          SELECT indexname AS name FROM pg_indexes WHERE tablename = 'run_items' ORDER BY 1`
        assert.deepStrictEqual(
          indexes.map((i) => i.name),
          ["run_items_lead", "run_items_pkey", "run_items_run_id_ordinal_key"]
        )
        const [options] = yield* sql<{ options: Array<string> }>`
          SELECT reloptions AS options FROM pg_class WHERE oid = 'run_items'::regclass`
        // 50 since this migration; 25 since 0016 (room for the record's result: ItemResultsInItems.migration.test.ts)
        assert.deepStrictEqual(options!.options, ["fillfactor=25"])
      })
    )
  }
)
