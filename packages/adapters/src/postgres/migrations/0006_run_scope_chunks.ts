import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * The frozen scope of a run, stored by chunks of ordinals: one row per 1,000 Leads (their ids
 * and memberships as arrays, in ordinal order; TOAST compresses them) instead of one row and
 * one index entry per Lead. A dispatch writes it in the statement that writes the run's items,
 * and it costs about 1 % of that write instead of about 40 % (DECISIONS.md, "Planning writes
 * the items once"). `run_scope` stays, as a view with the former rows, for its readers (the
 * rebuild of `run_items`, `enrich audit credits --leads`). Existing scopes are moved over.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE run_scope_chunks (
    run_id text NOT NULL,
    first_ordinal integer NOT NULL,
    workspace_id text NOT NULL,
    list_id text,
    lead_ids text[] NOT NULL,
    membership_ids text[] NOT NULL,
    PRIMARY KEY (run_id, first_ordinal)
  )`
  yield* sql`INSERT INTO run_scope_chunks (run_id, first_ordinal, workspace_id, list_id, lead_ids, membership_ids)
    SELECT run_id, min(ordinal), workspace_id, list_id, array_agg(lead_id ORDER BY ordinal),
      array_agg(membership_id ORDER BY ordinal)
    FROM run_scope GROUP BY run_id, (ordinal - 1) / 1000, workspace_id, list_id`
  yield* sql`DROP TABLE run_scope`
  yield* sql`CREATE VIEW run_scope AS
    SELECT c.run_id, c.first_ordinal + u.i::int - 1 AS ordinal, c.workspace_id, u.lead_id, c.list_id, u.membership_id
    FROM run_scope_chunks c
      CROSS JOIN LATERAL unnest(c.lead_ids, c.membership_ids) WITH ORDINALITY AS u(lead_id, membership_id, i)`
})
