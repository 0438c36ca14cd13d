import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/** The global read order: by transaction id, then position (see EventStorePg.readAll). */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX events_global_order ON events (transaction_id, global_position)`
})
