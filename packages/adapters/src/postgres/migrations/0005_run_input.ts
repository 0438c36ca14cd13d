import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * The run input (what a configurable enrichment was dispatched with, defaults
 * applied), projected from `RunRequested` so the executor hands it to every
 * provider call of the run. `{}` for runs without input.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE enrichment_runs ADD COLUMN input jsonb NOT NULL DEFAULT '{}'::jsonb`
})
