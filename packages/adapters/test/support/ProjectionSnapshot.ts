/** Every projection table as text, rows in key order: what "rebuilt byte-identical" is checked against. */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { projectionTables } from "../../src/postgres/Rebuild.ts"

const ordering: Record<(typeof projectionTables)[number], string> = {
  enrichment_runs: "id",
  run_items: "id",
  run_batches: "batch",
  idempotency_keys: "workspace_id, key",
  credit_accounts: "workspace_id",
  credit_holds: "run_id",
  credit_ledger: "id"
}

export const projectionSnapshot = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const tables: Record<string, string> = {}
  for (const table of projectionTables) {
    const [row] = yield* sql.unsafe<{ rows: string | null }>(
      `SELECT coalesce(json_agg(t ORDER BY ${ordering[table]})::text, '[]') AS rows FROM ${table} t`
    )
    tables[table] = row!.rows ?? "[]"
  }
  return tables
})
