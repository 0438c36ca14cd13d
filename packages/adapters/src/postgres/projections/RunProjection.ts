/**
 * The inline projection of run events into the read models: `enrichment_runs`
 * (status with live counts), `run_items` (each item's state) and
 * `idempotency_keys`. Every value comes from the event, never from the clock,
 * so replaying the events rebuilds byte-identical rows.
 */
import { Effect } from "effect"
import type { SqlClient, SqlError, Statement } from "effect/sql"
import type { RunEvent } from "@enrich/domain/runs/RunEvents"

const json = (value: unknown) => JSON.stringify(value)

/**
 * `WITH <ctes> <body>`, or the body alone. A projection's statement takes the caller's `also` CTEs
 * (`name AS (…)`, data-modifying: the run's snapshot) so that they cost no round trip of their own.
 */
const withCtes = (
  sql: SqlClient.SqlClient,
  ctes: ReadonlyArray<Statement.Fragment>,
  body: Statement.Statement<unknown>
): Statement.Statement<unknown> => (ctes.length === 0 ? body : sql`WITH ${sql.join(", ", false)(ctes)} ${body}`)

/**
 * A batch's item ids (`<runId>.<ordinal, 8 digits>`, decision 5) as a `text[]` literal:
 * `id = ANY(…)` is a lookup on the primary key whatever the statistics say (a
 * fresh run's items have none yet), where an `IN (SELECT … jsonb …)` or a join on
 * a recordset let the planner read every item of the run per batch — O(run size)
 * per batch (test/postgres/RunProjection.regressions.test.ts).
 */
const itemIds = (runId: string, ordinals: ReadonlyArray<number>) =>
  `{${ordinals.map((o) => `"${runId}.${String(Math.trunc(o)).padStart(8, "0")}"`).join(",")}}`

/**
 * Runs of at least this many items refresh the statistics of `run_items` before
 * their batches start (`refreshItemStatistics`).
 */
export const BULK_RUN_ITEMS = 10_000

/**
 * `ANALYZE run_items`, after a dispatch bulk-loaded a large run's items: until
 * autovacuum notices (a minute or more), the planner would believe the table as
 * small as when it last looked — on a fresh install, empty — and could read
 * every pending item of the run for each batch instead of its own (as it did
 * through the partial pending index, before migration 0007 dropped it).
 * PostgreSQL's advice after a bulk load; it samples at most 30,000 rows and
 * blocks no writer.
 */
export const refreshItemStatistics = (sql: SqlClient.SqlClient) => sql`ANALYZE run_items`

/**
 * `RunRequested`'s row, and with `dispatched` the row as `RunDispatched` then leaves it (trigger run id,
 * dispatch metadata, `updated_at`): a request and its hand-over appended together are one statement.
 */
const projectRequested = (
  sql: SqlClient.SqlClient,
  runId: string,
  workspaceId: string,
  event: Extract<RunEvent, { _tag: "RunRequested" }>,
  dispatched: Extract<RunEvent, { _tag: "RunDispatched" }> | undefined,
  also: ReadonlyArray<Statement.Fragment>
) => {
  const cost = {
    creditAction: event.cost.creditAction,
    unitCost: event.cost.unitCost,
    required: event.cost.required
  }
  // one statement (one round trip): the run row, its items and its idempotency key.
  // The dispatch already wrote the items with the frozen scope (LeadDirectory.freezeScope, the same
  // values): they are written here only when the run has none, i.e. on a rebuild (its first item, ordinal 1, is a key lookup).
  const idempotency =
    event.idempotency === null
      ? []
      : [
          sql`idempotency AS (
          INSERT INTO idempotency_keys (workspace_id, key, fingerprint, run_id, created_at)
          VALUES (${workspaceId}, ${event.idempotency.key}, ${event.idempotency.fingerprint}, ${runId},
            ${event.requestedAt})
          ON CONFLICT DO NOTHING
        )`
        ]
  const dispatchMetadata = {
    displayRequest: event.displayRequest,
    ...(dispatched === undefined ? {} : { engine: dispatched.engine, dispatchedAt: dispatched.dispatchedAt })
  }
  const items = sql`items AS (
      INSERT INTO run_items (id, workspace_id, run_id, ordinal, lead_id, list_id, membership_id, status,
        created_at, updated_at)
      SELECT run_id || '.' || lpad(ordinal::text, 8, '0'), workspace_id, run_id, ordinal, lead_id, list_id,
        membership_id, 'pending', ${event.requestedAt}, ${event.requestedAt}
      FROM run_scope WHERE run_id = ${runId}
        AND NOT EXISTS (SELECT 1 FROM run_items WHERE run_id = ${runId} AND ordinal = 1)
    )`
  return withCtes(
    sql,
    [items, ...idempotency, ...also],
    sql`INSERT INTO enrichment_runs (id, workspace_id, status, mode, enrichment, scope, resolved_count,
        count_pending, output, cost_preview, reserved, correlation_id, dispatch_metadata, input, trigger_run_id,
        created_at, updated_at)
      VALUES (${runId}, ${workspaceId}, 'pending', ${event.mode}, ${json(event.enrichment)}::jsonb,
        ${json(event.scope)}::jsonb, ${event.leadCount}, ${event.leadCount},
        ${json({ ...event.output, persistResults: event.mode === "persisted" })}::jsonb,
        ${json(cost)}::jsonb, ${event.cost.required}, ${runId},
        ${json(dispatchMetadata)}::jsonb, ${json(event.input ?? {})}::jsonb,
        ${dispatched?.triggerRunId ?? null}, ${event.requestedAt}, ${dispatched?.dispatchedAt ?? event.requestedAt})`
  )
}

/**
 * The events of one append, in order; a `RunRequested` directly followed by its `RunDispatched` (the
 * dispatch transaction's append) is projected as one row write. `also`: CTEs the last statement carries
 * (the run's snapshot).
 */
export const projectRunEvents = Effect.fnUntraced(function* (
  sql: SqlClient.SqlClient,
  runId: string,
  workspaceId: string,
  events: ReadonlyArray<RunEvent>,
  also: ReadonlyArray<Statement.Fragment> = []
) {
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!
    const next = events[i + 1]
    if (event._tag === "RunRequested" && next?._tag === "RunDispatched") {
      yield* projectRequested(sql, runId, workspaceId, event, next, i + 2 === events.length ? also : [])
      i++
    } else {
      yield* projectRunEvent(sql, runId, workspaceId, event, i + 1 === events.length ? also : [])
    }
  }
})

export const projectRunEvent = (
  sql: SqlClient.SqlClient,
  runId: string,
  workspaceId: string,
  event: RunEvent,
  also: ReadonlyArray<Statement.Fragment> = []
): Effect.Effect<unknown, SqlError.SqlError> => {
  const statement = (ctes: ReadonlyArray<Statement.Fragment>, body: Statement.Statement<unknown>) =>
    withCtes(sql, [...ctes, ...also], body)
  switch (event._tag) {
    case "RunRequested":
      return projectRequested(sql, runId, workspaceId, event, undefined, also)
    case "RunDispatched":
      return statement(
        [],
        sql`UPDATE enrichment_runs SET trigger_run_id = ${event.triggerRunId},
          dispatch_metadata = dispatch_metadata || ${json({ engine: event.engine, dispatchedAt: event.dispatchedAt })}::jsonb,
          updated_at = ${event.dispatchedAt}
        WHERE id = ${runId}`
      )
    case "RunStarted":
      return statement(
        [],
        sql`UPDATE enrichment_runs SET status = 'running', started_at = ${event.startedAt}, updated_at = ${event.startedAt}
        WHERE id = ${runId} AND status = 'pending'`
      )
    case "ItemBatchStarted":
      // the batch's row (how its items are found again), the run's counts and its items claimed: one statement
      return statement(
        [
          sql`batch AS (
          INSERT INTO run_batches (batch, run_id, ordinals, last_ordinal, started_at)
          VALUES (${event.batch}, ${runId}, ${`{${event.ordinals.map((o) => Math.trunc(o)).join(",")}}`}::int[],
            ${Math.max(0, ...event.ordinals.map((o) => Math.trunc(o)))}, ${event.startedAt})
          ON CONFLICT (batch) DO NOTHING
        )`,
          sql`run AS (
          UPDATE enrichment_runs SET count_pending = count_pending - ${event.ordinals.length},
            count_running = count_running + ${event.ordinals.length}, updated_at = ${event.startedAt}
          WHERE id = ${runId}
        )`
        ],
        sql`UPDATE run_items SET status = 'running', attempts = attempts + 1, claim_token = ${event.batch},
          started_at = ${event.startedAt}, updated_at = ${event.startedAt}
        WHERE run_id = ${runId} AND status = 'pending'
          AND id = ANY(${itemIds(runId, event.ordinals)}::text[])`
      )
    case "ItemBatchRecorded": {
      const count = (status: string) => event.outcomes.filter((o) => o.status === status).length
      // the run's counts and the batch's items: one statement
      return statement(
        [
          sql`run AS (
          UPDATE enrichment_runs SET count_running = count_running - ${event.outcomes.length},
            count_completed = count_completed + ${count("completed")},
            count_failed = count_failed + ${count("failed")},
            count_skipped = count_skipped + ${count("skipped")},
            updated_at = ${event.recordedAt}
          WHERE id = ${runId}
        )`
        ],
        sql`UPDATE run_items i SET status = x.status, skipped_reason = x."skippedReason",
          completed_at = ${event.recordedAt}, updated_at = ${event.recordedAt}
        FROM jsonb_to_recordset(${json(event.outcomes)}::jsonb) AS x(ordinal int, status text, "skippedReason" text)
        WHERE i.id = ANY(${itemIds(
          runId,
          event.outcomes.map((o) => o.ordinal)
        )}::text[]) AND i.run_id = ${runId}
          AND i.ordinal = x.ordinal AND i.status = 'running'`
      )
    }
    case "RunCompleted":
      return statement(
        [],
        sql`UPDATE enrichment_runs SET status = 'completed', completed_at = ${event.completedAt},
          updated_at = ${event.completedAt}
        WHERE id = ${runId} AND status IN ('pending', 'running')`
      )
    case "RunCancelled":
      return stopRun(sql, runId, "cancelled", "run_cancelled", event.cancelledAt, null, also)
    case "RunFailed":
      return stopRun(
        sql,
        runId,
        "failed",
        "run_failed",
        event.failedAt,
        { message: event.message, details: null },
        also
      )
    case "CreditsSettled":
      return statement(
        [],
        sql`UPDATE enrichment_runs SET captured = ${event.captured}, released = ${event.released},
          settled_at = ${event.settledAt}, updated_at = ${event.settledAt}
        WHERE id = ${runId}`
      )
  }
}

/** A cancel or a failure: the run's status moves, its pending items are skipped; running ones finish. One statement. */
const stopRun = (
  sql: SqlClient.SqlClient,
  runId: string,
  status: "cancelled" | "failed",
  reason: "run_cancelled" | "run_failed",
  at: string,
  error: { readonly message: string; readonly details: null } | null,
  also: ReadonlyArray<Statement.Fragment>
) =>
  withCtes(
    sql,
    [
      sql`items AS (
      UPDATE run_items SET status = 'skipped', skipped_reason = ${reason}, completed_at = ${at}, updated_at = ${at}
      WHERE run_id = ${runId} AND status = 'pending'
    )`,
      ...also
    ],
    sql`UPDATE enrichment_runs SET status = ${status}, completed_at = ${at},
      cancelled_at = ${status === "cancelled" ? at : null}, error = ${error === null ? null : json(error)}::jsonb,
      count_skipped = count_skipped + count_pending, count_pending = 0, updated_at = ${at}
    WHERE id = ${runId} AND status IN ('pending', 'running')`
  )
