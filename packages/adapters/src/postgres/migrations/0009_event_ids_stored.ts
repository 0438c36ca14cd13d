import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * `event_ids_stored(ids)`: whether any of `ids` is stored in `events` — an append's "none of my event ids is
 * stored yet" check, by the key's index whatever the planner believes of the table. Written inline in the
 * append, the check was planned by each connection's prepared statement: five times for its parameters,
 * then once generically and kept. Planned while `events` held a page or two (a new installation, the
 * benchmark's fresh database), that plan reads the whole table, and nothing re-plans it until an ANALYZE
 * reaches the table: each append then read every event (7.6 ms of a 9 ms append at 3,700 events; DECISIONS.md
 * 41). `enable_seqscan = off` holds while the function plans and runs its query (PL/pgSQL keeps the plan
 * per connection), so the plan it keeps is the index's. STABLE: it reads with its caller's snapshot.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE FUNCTION event_ids_stored(ids uuid[]) RETURNS boolean
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET enable_seqscan = off
    AS $$ BEGIN RETURN EXISTS (SELECT 1 FROM events WHERE event_id = ANY(ids)); END $$`
})
