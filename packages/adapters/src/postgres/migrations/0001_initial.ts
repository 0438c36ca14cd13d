import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const ddl = `
CREATE TABLE workspaces (
  id text PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES workspaces(id),
  prefix text NOT NULL,
  secret_sha256 bytea NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id, id);

-- credits (a projection of the credit streams): one hot row per workspace, so a
-- reservation is a row lock, never retries on a hot stream
CREATE TABLE credit_accounts (
  workspace_id text PRIMARY KEY,
  granted bigint NOT NULL DEFAULT 0,
  held bigint NOT NULL DEFAULT 0,
  captured bigint NOT NULL DEFAULT 0,
  CONSTRAINT credits_balance_not_negative CHECK (granted - held - captured >= 0),
  CONSTRAINT credits_held_not_negative CHECK (held >= 0)
);
CREATE TABLE credit_holds (
  run_id text PRIMARY KEY,
  workspace_id text NOT NULL,
  amount bigint NOT NULL CHECK (amount >= 0)
);
CREATE TABLE credit_ledger (
  id text PRIMARY KEY,
  workspace_id text NOT NULL,
  type text NOT NULL,
  amount bigint NOT NULL,
  run_id text,
  reason text,
  created_at timestamptz NOT NULL
);
CREATE INDEX credit_ledger_workspace ON credit_ledger (workspace_id, id);

CREATE TABLE leads (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES workspaces(id),
  type text NOT NULL CHECK (type IN ('person', 'company')),
  name jsonb NOT NULL DEFAULT '{}',
  title text,
  company jsonb NOT NULL DEFAULT '{}',
  location jsonb NOT NULL DEFAULT '{}',
  domain text,
  linkedin_url text,
  industry text,
  size text,
  contacts jsonb NOT NULL DEFAULT '[]',
  socials jsonb NOT NULL DEFAULT '[]',
  attributes jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX leads_workspace ON leads (workspace_id, id);

CREATE TABLE lead_identities (
  workspace_id text NOT NULL,
  identity_key text NOT NULL,
  lead_id text NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
  PRIMARY KEY (workspace_id, identity_key)
);
CREATE INDEX lead_identities_lead ON lead_identities (lead_id);

CREATE TABLE lists (
  id text PRIMARY KEY,
  workspace_id text NOT NULL REFERENCES workspaces(id),
  name text NOT NULL,
  description text,
  lead_type text NOT NULL CHECK (lead_type IN ('person', 'company', 'mixed')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lists_workspace ON lists (workspace_id, id);

CREATE TABLE list_memberships (
  id text PRIMARY KEY,
  workspace_id text NOT NULL,
  list_id text NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
  lead_id text NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
  attributes jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (list_id, lead_id)
);
CREATE INDEX list_memberships_lead ON list_memberships (lead_id);

-- the event store
CREATE TABLE event_streams (
  stream_id text PRIMARY KEY,
  stream_type text NOT NULL,
  workspace_id text NOT NULL,
  version integer NOT NULL CHECK (version > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE events (
  global_position bigserial PRIMARY KEY,
  stream_id text NOT NULL REFERENCES event_streams(stream_id),
  stream_version integer NOT NULL,
  event_id uuid NOT NULL UNIQUE,
  type text NOT NULL,
  schema_version integer NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}',
  transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream_id, stream_version)
);

-- read models, projected inline in the append transaction (rebuildable from events)
CREATE TABLE enrichment_runs (
  id text PRIMARY KEY,
  workspace_id text NOT NULL,
  status text NOT NULL,
  mode text NOT NULL,
  enrichment jsonb NOT NULL,
  scope jsonb NOT NULL,
  resolved_count integer NOT NULL,
  count_pending integer NOT NULL,
  count_running integer NOT NULL DEFAULT 0,
  count_completed integer NOT NULL DEFAULT 0,
  count_skipped integer NOT NULL DEFAULT 0,
  count_failed integer NOT NULL DEFAULT 0,
  output jsonb NOT NULL,
  cost_preview jsonb NOT NULL,
  reserved bigint NOT NULL DEFAULT 0,
  captured bigint NOT NULL DEFAULT 0,
  released bigint NOT NULL DEFAULT 0,
  correlation_id text NOT NULL,
  trigger_run_id text,
  dispatch_metadata jsonb NOT NULL DEFAULT '{}',
  error jsonb,
  started_at timestamptz,
  completed_at timestamptz,
  cancelled_at timestamptz,
  settled_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX enrichment_runs_workspace ON enrichment_runs (workspace_id, id DESC);

-- dispatch idempotency: one run per (workspace, key)
CREATE TABLE idempotency_keys (
  workspace_id text NOT NULL,
  key text NOT NULL,
  fingerprint text NOT NULL,
  run_id text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, key)
);

-- the frozen scope of a run: written once at dispatch by INSERT ... SELECT, part of the log
CREATE TABLE run_scope (
  run_id text NOT NULL,
  ordinal integer NOT NULL,
  workspace_id text NOT NULL,
  lead_id text NOT NULL,
  list_id text,
  membership_id text,
  PRIMARY KEY (run_id, ordinal)
);

-- each item's execution state, projected from the run's events
CREATE TABLE run_items (
  id text PRIMARY KEY,
  workspace_id text NOT NULL,
  run_id text NOT NULL,
  ordinal integer NOT NULL,
  lead_id text NOT NULL,
  list_id text,
  membership_id text,
  status text NOT NULL,
  skipped_reason text,
  attempts integer NOT NULL DEFAULT 0,
  claim_token text,
  started_at timestamptz,
  completed_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (run_id, ordinal)
);
CREATE INDEX run_items_pending ON run_items (run_id, ordinal) WHERE status = 'pending';
CREATE INDEX run_items_claim ON run_items (claim_token) WHERE claim_token IS NOT NULL;

-- what each item produced: personal data, keyed by item and Lead (erased with the Lead)
CREATE TABLE item_results (
  item_id text PRIMARY KEY,
  workspace_id text NOT NULL,
  run_id text NOT NULL,
  lead_id text NOT NULL,
  result jsonb,
  error jsonb,
  input_snapshot jsonb,
  lead_snapshot jsonb,
  provider_result jsonb,
  provider text,
  provider_submission_id text,
  recorded_at timestamptz NOT NULL
);
CREATE INDEX item_results_lead ON item_results (lead_id);
`
  // the driver speaks the extended protocol only: one statement per query
  for (const statement of ddl
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter((s) => s !== "")) {
    yield* sql.unsafe(statement)
  }
})
