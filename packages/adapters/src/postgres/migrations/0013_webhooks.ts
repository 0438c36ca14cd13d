import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Webhooks (DECISIONS.md 67): a workspace's endpoints, and their deliveries — the outbox, written in the
 * transaction that settles a run. `next_attempt_at` is when a pending delivery is due; a claimed one is held
 * until `in_flight_until` (a holder that dies gives it back then). `payload` is the body, rendered at the
 * first attempt from the settled run and kept, so every attempt sends the same bytes under the same id.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE webhooks (
    id text PRIMARY KEY,
    workspace_id text NOT NULL REFERENCES workspaces(id),
    url text NOT NULL,
    events text[] NOT NULL,
    description text,
    secret text NOT NULL,
    previous_secret text,
    previous_secret_until timestamptz,
    disabled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
  )`
  yield* sql`CREATE INDEX webhooks_workspace ON webhooks (workspace_id, id)`
  yield* sql`CREATE TABLE webhook_deliveries (
    id text PRIMARY KEY,
    webhook_id text NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    workspace_id text NOT NULL,
    event_type text NOT NULL,
    run_id text NOT NULL,
    occurred_at timestamptz NOT NULL,
    payload text,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts int NOT NULL DEFAULT 0,
    attempts_allowed int NOT NULL,
    last_status_code int,
    last_error text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    in_flight_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`
  yield* sql`CREATE INDEX webhook_deliveries_due_per_webhook ON webhook_deliveries (webhook_id, next_attempt_at)
    WHERE status = 'pending'`
  yield* sql`CREATE INDEX webhook_deliveries_in_flight ON webhook_deliveries (webhook_id)
    WHERE in_flight_until IS NOT NULL`
  yield* sql`CREATE INDEX webhook_deliveries_of_webhook ON webhook_deliveries (webhook_id, id)`
})
