/**
 * Leases on runs: whatever executes a run (its workflow, a partition of it, a Trigger.dev attempt) is the
 * run's *holder* and keeps a `run_leases` row alive while it lives; the run watchdog
 * (application/runs/RunWatchdog.ts, rules in domain/runs/Liveness.ts) reads them through the RunLiveness
 * port, implemented here. Times are the database's (`now()`), so processes with skewed clocks agree on what
 * expired.
 */
import { Effect, Layer } from "effect"
import { storedStatus } from "@enrich/domain/runs/ItemMoves"
import { SqlClient } from "effect/sql"
import { storableText } from "@enrich/domain/ClientText"
import { RunLiveness } from "@enrich/application/ports/RunLiveness"
import { textArray } from "./TextArray.ts"
import { asStoreFailure } from "./Transient.ts"

/** Takes or renews `holder`'s lease on the run for `leaseMs` from now. */
export const renewLease = (sql: SqlClient.SqlClient, runId: string, holder: string, leaseMs: number) =>
  sql`INSERT INTO run_leases (run_id, holder, expires_at)
    VALUES (${runId}, ${holder}, now() + ${leaseMs} * interval '1 millisecond')
    ON CONFLICT (run_id, holder) DO UPDATE SET expires_at = excluded.expires_at`.pipe(Effect.asVoid)

/** The leases of settled runs: nothing reads them any more. */
export const dropSettledLeases = (sql: SqlClient.SqlClient) =>
  sql`DELETE FROM run_leases l USING enrichment_runs r
    WHERE r.id = l.run_id AND r.settled_at IS NOT NULL`.pipe(Effect.asVoid)

/** The RunLiveness port on `run_leases` and `run_items`. */
export const RunLivenessPgLive = Layer.effect(
  RunLiveness,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return RunLiveness.of({
      // every unsettled run (a partial index), with its lease counts
      unsettled: (leaseMs) =>
        sql<{ id: string; workspace_id: string; suspicious: boolean }>`
          SELECT r.id, r.workspace_id,
            (l.total > l.alive OR (l.total = 0 AND now() - r.created_at > ${leaseMs} * interval '1 millisecond'))
              AS suspicious
          FROM enrichment_runs r
          CROSS JOIN LATERAL (
            SELECT count(*)::int AS total, (count(*) FILTER (WHERE expires_at > now()))::int AS alive
            FROM run_leases WHERE run_id = r.id
          ) l
          WHERE r.settled_at IS NULL`.pipe(
          Effect.map((rows) =>
            rows.map((row) => ({ runId: row.id, workspaceId: row.workspace_id, suspicious: row.suspicious }))
          ),
          asStoreFailure
        ),
      runningItems: (runId, lock) =>
        (lock
          ? // the run's open batches first, in one order (a record and a Lead's erasure take them first too)
            Effect.asVoid(
              sql`SELECT batch FROM run_batches WHERE run_id = ${runId} AND NOT ended ORDER BY batch FOR UPDATE`
            )
          : Effect.void
        ).pipe(
          Effect.andThen(sql<{
            id: string
            lead_id: string
            claim_token: string
            ordinal: number
            attempts: number
            started_ago_ms: number
          }>`
          SELECT i.id, i.lead_id, b.batch AS claim_token, i.ordinal, i.attempts + 1 AS attempts,
            (extract(epoch FROM now() - b.started_at) * 1000)::float8 AS started_ago_ms
          FROM run_batches b
          JOIN run_items i ON i.run_id = b.run_id AND i.ordinal = ANY(b.ordinals)
          WHERE b.run_id = ${runId} AND NOT b.ended AND i.status = ${storedStatus("running")}
          ORDER BY i.ordinal`),
          Effect.map((rows) =>
            rows.map((row) => ({
              id: row.id,
              leadId: row.lead_id,
              batch: row.claim_token,
              ordinal: row.ordinal,
              attempts: row.attempts,
              startedAgoMs: row.started_ago_ms
            }))
          ),
          asStoreFailure
        ),
      leases: (runId) =>
        sql<{ holder: string; alive: boolean }>`
          SELECT holder, expires_at > now() AS alive FROM run_leases WHERE run_id = ${runId}`.pipe(asStoreFailure),
      ageMs: (runId) =>
        sql<{ age_ms: number }>`
          SELECT (extract(epoch FROM now() - created_at) * 1000)::float8 AS age_ms
          FROM enrichment_runs WHERE id = ${runId}`.pipe(
          Effect.map(([row]) => row?.age_ms ?? 0),
          asStoreFailure
        ),
      recordItemErrors: (runId, workspaceId, items, at) =>
        items.length === 0
          ? Effect.void
          : sql`UPDATE run_items i SET result = NULL, error = jsonb_build_object('message', x.message, 'details', null),
                lead_snapshot = NULL, provider_result = NULL, provider_result_is_result = false, provider = NULL,
                provider_submission_id = NULL, recorded_at = ${at}::timestamptz
              FROM unnest(${textArray(items.map((i) => i.id))}::text[], ${textArray(items.map((i) => i.leadId))}::text[],
                ${textArray(items.map((i) => storableText(i.message, 2_000)))}::text[]) AS x(id, lead_id, message)
              WHERE i.id = ANY(${textArray(items.map((i) => i.id))}::text[]) AND i.id = x.id AND i.run_id = ${runId}
                AND x.lead_id IN (SELECT id FROM leads WHERE id = ANY(${textArray(items.map((i) => i.leadId))}::text[])
                  AND workspace_id = ${workspaceId})`.pipe(Effect.asVoid, asStoreFailure),
      renewLease: (runId, holder, leaseMs) => renewLease(sql, runId, holder, leaseMs).pipe(asStoreFailure),
      dropSettledLeases: dropSettledLeases(sql).pipe(asStoreFailure)
    })
  })
)
