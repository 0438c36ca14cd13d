import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * The folded state of each run at a stream version, written with every
 * append: a command reads the snapshot and only the events after it, so a
 * run of a million items does not re-read its whole history per batch.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE run_snapshots (
    run_id text PRIMARY KEY,
    version integer NOT NULL,
    state jsonb NOT NULL
  )`
})
