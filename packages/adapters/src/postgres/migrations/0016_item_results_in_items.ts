import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * The worker's write set (issue 24, DECISIONS.md 72): an item's row is written once per claim, when its batch
 * ends, with its result in it.
 *
 * - An item's result lives in its row: the batch's record writes the item once — its outcome and what it
 *   produced — instead of moving the item and inserting a row into `item_results` beside it (about 1 kB of WAL
 *   per Lead: the row and its two indexes). The columns are data, not projections of the events: a rebuild keeps
 *   them (Rebuild.ts), a Lead's erasure clears them (LeadDirectory.ts). `input_snapshot` is not kept: it
 *   repeated the run's `input`, which the item's view now reads from the run. `lead_erased`: the erasure marks
 *   its Lead's items, so a record that waited for it (its statement began while the Lead was there) writes no
 *   result into them.
 * - A claim writes its batch's row only: a running item is a `pending` row in an open batch (`ended` false; a
 *   partial index finds a run's open batches). Items running now become such rows, as a rebuild would write
 *   them: the attempt the claim counted is taken back, and a first claim's token and start are cleared (a
 *   second claim's, whose previous values no row kept, stay as they are: the next record writes them over).
 * - Items are dispatched with room for their record: fillfactor 25 (was 50, migration 0007), for new pages.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE run_items
    ADD COLUMN result jsonb,
    ADD COLUMN error jsonb,
    ADD COLUMN lead_snapshot jsonb,
    ADD COLUMN provider_result jsonb,
    ADD COLUMN provider_result_is_result boolean NOT NULL DEFAULT false,
    ADD COLUMN provider text,
    ADD COLUMN provider_submission_id text,
    ADD COLUMN recorded_at timestamptz,
    ADD COLUMN lead_erased boolean NOT NULL DEFAULT false`
  yield* sql`UPDATE run_items i SET result = r.result, error = r.error, lead_snapshot = r.lead_snapshot,
      provider_result = r.provider_result, provider_result_is_result = r.provider_result_is_result,
      provider = r.provider, provider_submission_id = r.provider_submission_id, recorded_at = r.recorded_at
    FROM item_results r WHERE r.item_id = i.id`
  yield* sql`DROP TABLE item_results`
  yield* sql`ALTER TABLE run_batches ADD COLUMN ended boolean NOT NULL DEFAULT false`
  yield* sql`UPDATE run_batches SET ended = true
    WHERE batch NOT IN (SELECT claim_token FROM run_items WHERE status = 'running' AND claim_token IS NOT NULL)`
  yield* sql`UPDATE run_items SET status = 'pending', attempts = attempts - 1,
      claim_token = CASE WHEN attempts = 1 THEN NULL ELSE claim_token END,
      started_at = CASE WHEN attempts = 1 THEN NULL ELSE started_at END,
      updated_at = CASE WHEN attempts = 1 THEN created_at ELSE updated_at END
    WHERE status = 'running'`
  yield* sql`CREATE INDEX run_batches_open ON run_batches (run_id) WHERE NOT ended`
  // room on each page for what the record adds to its items (a 200-byte row grows to ~800 with a result and a
  // snapshot), so that the record rewrites the row in its page without a new entry in any index (HOT)
  yield* sql`ALTER TABLE run_items SET (fillfactor = 25)`
})
