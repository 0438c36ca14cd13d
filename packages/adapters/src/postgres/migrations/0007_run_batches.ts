import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Item updates that touch no index (HOT): a batch's items are found through `run_batches`
 * (one row per batch: its claimed ordinals) instead of an index on `run_items.claim_token`,
 * and the pending items of a run through its primary-key-like `(run_id, ordinal)` index from
 * the last claimed ordinal on instead of a partial index on `status`. With no index naming
 * `status` or `claim_token`, and room left on each page (fillfactor 50), an item's two
 * updates (claimed, recorded) rewrite the row in its page without a new entry in any of its
 * indexes (DECISIONS.md, "Item updates touch no index"). Existing batches are moved over.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE run_batches (
    batch text PRIMARY KEY,
    run_id text NOT NULL,
    ordinals integer[] NOT NULL,
    last_ordinal integer NOT NULL,
    started_at timestamptz NOT NULL
  )`
  yield* sql`CREATE INDEX run_batches_run ON run_batches (run_id, last_ordinal)`
  yield* sql`INSERT INTO run_batches (batch, run_id, ordinals, last_ordinal, started_at)
    SELECT claim_token, run_id, array_agg(ordinal ORDER BY ordinal), max(ordinal), min(started_at)
    FROM run_items WHERE claim_token IS NOT NULL GROUP BY claim_token, run_id`
  yield* sql`DROP INDEX run_items_claim`
  yield* sql`DROP INDEX run_items_pending`
  yield* sql`ALTER TABLE run_items SET (fillfactor = 50)`
})
