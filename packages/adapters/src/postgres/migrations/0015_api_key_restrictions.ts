import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Restricted API keys (DECISIONS.md 69). A key's `scopes` (null: every scope), its monthly `credit_limit` (null:
 * none) and its `expires_at` (null: never); every existing key keeps null in all three.
 *
 * `api_key_usage`: per key with a limit and UTC month, what is in use — the reservations its runs of that month
 * made minus what they released; the row a dispatch locks (after the workspace's `credit_accounts` row) to
 * decide a reservation against the limit. `api_key_charges`: per run a limited key reserved for, the key, the
 * month it counts in and what it reserved and released, so the settlement gives its release back to that
 * month. Neither is a read model of the events (the rebuild leaves them as they are); the reservation's key is
 * also in its `CreditsHeld` event's metadata (`actor: api-key:<id>`).
 *
 * A change of a key's scopes, limit or expiry notifies `enrich_api_key_changed` (the key's id) at its commit,
 * however it was written: API processes forget what they remember of the key and read it again.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE api_keys
    ADD COLUMN scopes text[] CHECK (cardinality(scopes) > 0),
    ADD COLUMN credit_limit bigint CHECK (credit_limit >= 0),
    ADD COLUMN expires_at timestamptz`
  yield* sql`CREATE TABLE api_key_usage (
    api_key_id text NOT NULL REFERENCES api_keys(id),
    month date NOT NULL,
    used bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (api_key_id, month)
  )`
  yield* sql`CREATE TABLE api_key_charges (
    run_id text PRIMARY KEY,
    api_key_id text NOT NULL REFERENCES api_keys(id),
    month date NOT NULL,
    reserved bigint NOT NULL CHECK (reserved >= 0),
    released bigint NOT NULL DEFAULT 0 CHECK (released >= 0 AND released <= reserved)
  )`
  yield* sql`CREATE INDEX api_key_charges_key ON api_key_charges (api_key_id, month)`
  yield* sql`CREATE FUNCTION enrich_api_key_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('enrich_api_key_changed', NEW.id);
      RETURN NULL;
    END $$`
  yield* sql`CREATE TRIGGER api_keys_changed AFTER UPDATE OF scopes, credit_limit, expires_at ON api_keys
    FOR EACH ROW WHEN (OLD.scopes IS DISTINCT FROM NEW.scopes
      OR OLD.credit_limit IS DISTINCT FROM NEW.credit_limit
      OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
    EXECUTE FUNCTION enrich_api_key_changed()`
})
