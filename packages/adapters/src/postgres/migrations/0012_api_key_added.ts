import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * A key that becomes valid notifies `enrich_api_key_added` at its commit, however it was written (the API,
 * an operator's SQL, a restore): inserted, un-revoked, or given another secret. API processes then forget
 * the keys they remember as unknown (DECISIONS.md 50). `last_used_at` updates do not fire it. One
 * notification per transaction (PostgreSQL folds identical ones).
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE FUNCTION enrich_api_key_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('enrich_api_key_added', '');
      RETURN NULL;
    END $$`
  yield* sql`CREATE TRIGGER api_keys_added AFTER INSERT ON api_keys
    FOR EACH ROW EXECUTE FUNCTION enrich_api_key_added()`
  yield* sql`CREATE TRIGGER api_keys_valid_again AFTER UPDATE OF revoked_at, secret_sha256 ON api_keys
    FOR EACH ROW WHEN (NEW.revoked_at IS NULL
      AND (OLD.revoked_at IS NOT NULL OR OLD.secret_sha256 IS DISTINCT FROM NEW.secret_sha256))
    EXECUTE FUNCTION enrich_api_key_added()`
})
