import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * `item_results.provider_result_is_result`: the provider's raw answer is the result itself (every built-in
 * enrichment answers so), and `provider_result` is left NULL instead of holding a second copy of `result`.
 * Half of a built-in item's result row was that copy: written, WAL-logged and parsed twice per item
 * (DECISIONS.md, "A batch's results are sent once"). Rows written before keep their copy (false).
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE item_results ADD COLUMN provider_result_is_result boolean NOT NULL DEFAULT false`
})
