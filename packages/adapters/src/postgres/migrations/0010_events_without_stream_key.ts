import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Drops the foreign key `events.stream_id → event_streams`. Its check was a `SELECT … FOR KEY SHARE` of the
 * stream row per event inserted, ~0.12 ms each, three per dispatch (~10 % of a dispatch's time in PostgreSQL),
 * and it guarded nothing the append does not: the append is the only writer of `events`, and it inserts
 * events only from the stream row it inserts or bumps in the same statement; stream rows are never deleted.
 * `audit verify` checks it instead (`events_have_a_stream`; DECISIONS.md 42).
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE events DROP CONSTRAINT IF EXISTS events_stream_id_fkey`
})
