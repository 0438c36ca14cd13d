/**
 * Migration 0006 on a database that already has frozen scopes: the rows of `run_scope` move
 * into `run_scope_chunks` (1,000 ordinals a row) and the `run_scope` view shows exactly the
 * rows there were, ordinals, Leads, Lists and memberships included.
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
import { TestDatabaseUrl } from "../support/TestDatabase.ts"

const pool = Layer.unwrap(
  Effect.gen(function* () {
    const { url } = yield* DatabaseUrl
    return PgClient.layer({ url, maxConnections: 2 })
  })
)

/** The migrations before 0006, as a database from before it has them. */
const before0006 = Migrator.fromRecord({
  "0001_initial": initial,
  "0002_global_order": globalOrder,
  "0003_run_items_lead": runItemsLead,
  "0004_run_snapshots": runSnapshots,
  "0005_run_input": runInput
})

type ScopeRow = {
  run_id: string
  ordinal: number
  workspace_id: string
  lead_id: string
  list_id: string | null
  membership_id: string | null
}

layer(pool.pipe(Layer.provideMerge(TestDatabaseUrl)), { timeout: 120_000, excludeTestServices: true })(
  "Migration 0006: run_scope by chunks (integration)",
  (it) => {
    it.effect("existing_frozen_scopes_read_the_same_through_the_run_scope_view", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* Migrator.make({})({ loader: before0006 })
        // a run of 2,500 Leads of `all`, a List run of 1,001 with some non-members, a run of one
        yield* sql`INSERT INTO run_scope (run_id, ordinal, workspace_id, lead_id, list_id, membership_id)
          SELECT 'r1', g, 'w1', 'lead-' || lpad(g::text, 5, '0'), NULL, NULL FROM generate_series(1, 2500) g`
        yield* sql`INSERT INTO run_scope (run_id, ordinal, workspace_id, lead_id, list_id, membership_id)
          SELECT 'r2', g, 'w2', 'lead-' || lpad(g::text, 5, '0'), 'list-1',
            CASE WHEN g % 3 = 0 THEN NULL ELSE 'm-' || g END
          FROM generate_series(1, 1001) g`
        yield* sql`INSERT INTO run_scope (run_id, ordinal, workspace_id, lead_id, list_id, membership_id)
          VALUES ('r3', 1, 'w3', 'lead-x', 'list-3', 'm-x')`
        const rows = yield* sql<ScopeRow>`SELECT * FROM run_scope ORDER BY run_id, ordinal`

        const applied = yield* runMigrations
        assert.deepStrictEqual(
          applied.map(([id, name]) => `${id}_${name}`),
          [
            "6_run_scope_chunks",
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
        const chunks = yield* sql<{ run_id: string; first_ordinal: number; n: number }>`
          SELECT run_id, first_ordinal, cardinality(lead_ids) AS n FROM run_scope_chunks ORDER BY run_id, first_ordinal`
        assert.deepStrictEqual(chunks, [
          { run_id: "r1", first_ordinal: 1, n: 1000 },
          { run_id: "r1", first_ordinal: 1001, n: 1000 },
          { run_id: "r1", first_ordinal: 2001, n: 500 },
          { run_id: "r2", first_ordinal: 1, n: 1000 },
          { run_id: "r2", first_ordinal: 1001, n: 1 },
          { run_id: "r3", first_ordinal: 1, n: 1 }
        ])
        const viewed = yield* sql<ScopeRow>`SELECT * FROM run_scope ORDER BY run_id, ordinal`
        assert.strictEqual(viewed.length, rows.length)
        assert.deepStrictEqual(viewed, rows)
      })
    )
  }
)
