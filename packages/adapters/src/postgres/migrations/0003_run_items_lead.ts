import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/** Erasing a Lead waits on its run items (see Leads.deleteLead): find them without a scan. */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX run_items_lead ON run_items (workspace_id, lead_id)`
})
