/** Test set-up of webhook deliveries by SQL, as a settlement writes them (the outbox), for the loop's tests. */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * A workspace `name` with one endpoint at `url` and `count` deliveries due now for it (of a run that need not
 * exist: their bodies render `run: null`); returns when they were written (`performance.now()`).
 */
export const outbox = (name: string, url: string, count: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO workspaces (id, name) VALUES (${name}, ${name})`
    yield* sql`INSERT INTO webhooks (id, workspace_id, url, events, secret)
      VALUES (${`hook-${name}`}, ${name}, ${url}, ARRAY['run.completed'],
        'whsec_' || encode(sha256(${name}::bytea), 'base64'))`
    yield* sql`INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_type, run_id, occurred_at,
        attempts_allowed)
      SELECT ${name} || '-' || lpad(g::text, 4, '0'), ${`hook-${name}`}, ${name}, 'run.completed', 'no-such-run', now(), 8
      FROM generate_series(1, ${count}) g`
    return performance.now()
  })
