/**
 * Leases on runs: whatever executes a run (its workflow, a partition of it, a Trigger.dev attempt) is the
 * run's *holder* and keeps a `run_leases` row alive while it lives; the run watchdog
 * (../runs/RunWatchdog.ts, rules in domain/runs/Liveness.ts) reads them. Times are the database's
 * (`now()`), so processes with skewed clocks agree on what expired.
 */
import { Config, Effect } from "effect"
import type { SqlClient } from "effect/sql"

/** `ENRICH_RUN_LEASE_SECONDS` (default 60): a holder that has not renewed its lease for this long is gone. */
export const LeaseConfig = Config.Int("ENRICH_RUN_LEASE_SECONDS").pipe(
  Config.withDefault(60),
  Config.map((seconds) => ({ leaseMs: Math.max(1, seconds) * 1000 }))
)

/** Takes or renews `holder`'s lease on the run for `leaseMs` from now. */
export const renewLease = (sql: SqlClient.SqlClient, runId: string, holder: string, leaseMs: number) =>
  sql`INSERT INTO run_leases (run_id, holder, expires_at)
    VALUES (${runId}, ${holder}, now() + ${leaseMs} * interval '1 millisecond')
    ON CONFLICT (run_id, holder) DO UPDATE SET expires_at = excluded.expires_at`.pipe(Effect.asVoid)

/** The leases of settled runs: nothing reads them any more. */
export const dropSettledLeases = (sql: SqlClient.SqlClient) =>
  sql`DELETE FROM run_leases l USING enrichment_runs r
    WHERE r.id = l.run_id AND r.settled_at IS NOT NULL`.pipe(Effect.asVoid)
