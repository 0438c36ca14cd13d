import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Retries (domain/runs/Retry.ts): a run made by `POST /api/enrichment/{id}/retry` names its source in
 * `retry_of` (from its `RunRequested` event, so a rebuild writes it too), and the source's retries are found
 * by a partial index (only retries are in it). The freshness window reads earlier runs' completed items by run,
 * through the existing `(run_id, ordinal)` key.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE enrichment_runs ADD COLUMN retry_of text`
  yield* sql`CREATE INDEX enrichment_runs_retry_of ON enrichment_runs (retry_of, id) WHERE retry_of IS NOT NULL`
})
