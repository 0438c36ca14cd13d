import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Leases on runs (the run watchdog, docs/ARCHITECTURE.md "When things fail"): whatever executes a run — a
 * workflow, a partition, a Trigger.dev attempt — holds a row here, renewed while it lives. Operational
 * state, not a projection: not rebuilt from events, dropped with the run's settlement. Unsettled runs are
 * found by a partial index, so the watchdog's sweep reads only them.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE run_leases (
    run_id text NOT NULL,
    holder text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (run_id, holder)
  )`
  yield* sql`CREATE INDEX enrichment_runs_unsettled ON enrichment_runs (created_at) WHERE settled_at IS NULL`
})
