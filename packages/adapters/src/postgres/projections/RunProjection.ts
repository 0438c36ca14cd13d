/**
 * The inline projection of run events into the read models: `enrichment_runs`
 * (status with live counts), `run_items` (each item's state) and
 * `idempotency_keys`. Every value comes from the event, never from the clock,
 * so replaying the events rebuilds byte-identical rows.
 */
import { Effect } from "effect"
import type { SqlClient, SqlError, Statement } from "effect/sql"
import type { RunEvent } from "@enrich/domain/runs/RunEvents"
import { itemIdArray, itemIdSql } from "../ItemIdSql.ts"

const json = (value: unknown) => JSON.stringify(value)

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

/** The rows of one event (or of a request with its hand-over) as data-modifying CTEs, each written only where the gate holds. */
type Rows = ReadonlyArray<Statement.Fragment>

/**
 * `RunRequested`'s row, and with `dispatched` the row as `RunDispatched` then leaves it (trigger run id,
 * dispatch metadata, `updated_at`): a request and its hand-over appended together are one row write.
 */
const requestedRows = (
  sql: SqlClient.SqlClient,
  runId: string,
  workspaceId: string,
  event: Extract<RunEvent, { _tag: "RunRequested" }>,
  dispatched: Extract<RunEvent, { _tag: "RunDispatched" }> | undefined,
  gate: Statement.Fragment
): Rows => {
  const cost = {
    creditAction: event.cost.creditAction,
    unitCost: event.cost.unitCost,
    required: event.cost.required
  }
  // the run row, its items and its idempotency key.
  // The dispatch already wrote the items with the frozen scope (RunScope.freezeScope, the same
  // values): they are written here only when the run has none, i.e. on a rebuild (its first item, ordinal 1, is a key lookup).
  const idempotency =
    event.idempotency === null
      ? []
      : [
          sql`idempotency AS (
          INSERT INTO idempotency_keys (workspace_id, key, fingerprint, run_id, created_at)
          SELECT ${workspaceId}::text, ${event.idempotency.key}::text, ${event.idempotency.fingerprint}::text,
            ${runId}::text, ${event.requestedAt}::timestamptz
          WHERE ${gate}
          ON CONFLICT DO NOTHING
        )`
        ]
  const dispatchMetadata = {
    displayRequest: event.displayRequest,
    ...(dispatched === undefined ? {} : { engine: dispatched.engine, dispatchedAt: dispatched.dispatchedAt })
  }
  return [
    sql`items AS (
      INSERT INTO run_items (id, workspace_id, run_id, ordinal, lead_id, list_id, membership_id, status,
        created_at, updated_at)
      SELECT ${itemIdSql(sql, sql.literal("run_id"), "ordinal")}, workspace_id, run_id, ordinal, lead_id, list_id,
        membership_id, 'pending', ${event.requestedAt}::timestamptz, ${event.requestedAt}::timestamptz
      FROM run_scope WHERE run_id = ${runId}
        AND NOT EXISTS (SELECT 1 FROM run_items WHERE run_id = ${runId} AND ordinal = 1) AND ${gate}
    )`,
    ...idempotency,
    sql`run AS (
      INSERT INTO enrichment_runs (id, workspace_id, status, mode, enrichment, scope, resolved_count,
        count_pending, output, cost_preview, reserved, correlation_id, dispatch_metadata, input, trigger_run_id,
        created_at, updated_at)
      SELECT ${runId}::text, ${workspaceId}::text, 'pending', ${event.mode}::text, ${json(event.enrichment)}::jsonb,
        ${json(event.scope)}::jsonb, ${event.leadCount}::int, ${event.leadCount}::int,
        ${json({ ...event.output, persistResults: event.mode === "persisted" })}::jsonb,
        ${json(cost)}::jsonb, ${event.cost.required}::bigint, ${runId}::text,
        ${json(dispatchMetadata)}::jsonb, ${json(event.input ?? {})}::jsonb,
        ${dispatched?.triggerRunId ?? null}::text, ${event.requestedAt}::timestamptz,
        ${dispatched?.dispatchedAt ?? event.requestedAt}::timestamptz
      WHERE ${gate}
    )`
  ]
}

/** A cancel or a failure: the run's status moves, its pending items are skipped; running ones finish. */
const stopRows = (
  sql: SqlClient.SqlClient,
  runId: string,
  status: "cancelled" | "failed",
  reason: "run_cancelled" | "run_failed",
  at: string,
  error: { readonly message: string; readonly details: null } | null,
  gate: Statement.Fragment
): Rows => [
  sql`items AS (
      UPDATE run_items SET status = 'skipped', skipped_reason = ${reason}, completed_at = ${at}, updated_at = ${at}
      WHERE run_id = ${runId} AND status = 'pending' AND ${gate}
    )`,
  sql`run AS (
      UPDATE enrichment_runs SET status = ${status}, completed_at = ${at},
        cancelled_at = ${status === "cancelled" ? at : null}, error = ${error === null ? null : json(error)}::jsonb,
        count_skipped = count_skipped + count_pending, count_pending = 0, updated_at = ${at}
      WHERE id = ${runId} AND status IN ('pending', 'running') AND ${gate}
    )`
]

/** One event's rows (see `Rows`). */
const eventRows = (
  sql: SqlClient.SqlClient,
  runId: string,
  workspaceId: string,
  event: RunEvent,
  gate: Statement.Fragment
): Rows => {
  switch (event._tag) {
    case "RunRequested":
      return requestedRows(sql, runId, workspaceId, event, undefined, gate)
    case "RunDispatched":
      return [
        sql`run AS (
          UPDATE enrichment_runs SET trigger_run_id = ${event.triggerRunId},
            dispatch_metadata = dispatch_metadata || ${json({ engine: event.engine, dispatchedAt: event.dispatchedAt })}::jsonb,
            updated_at = ${event.dispatchedAt}
          WHERE id = ${runId} AND ${gate}
        )`
      ]
    case "RunStarted":
      return [
        sql`run AS (
          UPDATE enrichment_runs SET status = 'running', started_at = ${event.startedAt}, updated_at = ${event.startedAt}
          WHERE id = ${runId} AND status = 'pending' AND ${gate}
        )`
      ]
    case "ItemBatchStarted":
      // the batch's row (how its items are found again), the run's counts and its items claimed
      return [
        sql`batch AS (
          INSERT INTO run_batches (batch, run_id, ordinals, last_ordinal, started_at)
          SELECT ${event.batch}::text, ${runId}::text,
            ${`{${event.ordinals.map((o) => Math.trunc(o)).join(",")}}`}::int[],
            ${Math.max(0, ...event.ordinals.map((o) => Math.trunc(o)))}::int, ${event.startedAt}::timestamptz
          WHERE ${gate}
          ON CONFLICT (batch) DO NOTHING
        )`,
        sql`run AS (
          UPDATE enrichment_runs SET count_pending = count_pending - ${event.ordinals.length},
            count_running = count_running + ${event.ordinals.length}, updated_at = ${event.startedAt}
          WHERE id = ${runId} AND ${gate}
        )`,
        sql`items AS (
          UPDATE run_items SET status = 'running', attempts = attempts + 1, claim_token = ${event.batch},
            started_at = ${event.startedAt}, updated_at = ${event.startedAt}
          WHERE run_id = ${runId} AND status = 'pending'
            AND id = ANY(${itemIdArray(runId, event.ordinals)}::text[]) AND ${gate}
        )`
      ]
    case "ItemBatchRecorded": {
      const count = (status: string) => event.outcomes.filter((o) => o.status === status).length
      // the run's counts and the batch's items: one UPDATE per distinct outcome (completed, failed, skipped for a
      // reason), each finding its items by key. Joined with the outcomes as a recordset, the planner (its
      // statistics say few items are running) compared every item with every outcome: 500 × 500 per batch, ~90 %
      // of the statement (regression_recording_a_batch_compared_every_outcome_with_every_item)
      const groups = new Map<string, { status: string; skippedReason: string | null; ordinals: Array<number> }>()
      for (const o of event.outcomes) {
        const key = `${o.status}/${o.skippedReason ?? ""}`
        const group = groups.get(key) ?? { status: o.status, skippedReason: o.skippedReason, ordinals: [] }
        group.ordinals.push(o.ordinal)
        groups.set(key, group)
      }
      return [
        sql`run AS (
          UPDATE enrichment_runs SET count_running = count_running - ${event.outcomes.length},
            count_completed = count_completed + ${count("completed")},
            count_failed = count_failed + ${count("failed")},
            count_skipped = count_skipped + ${count("skipped")},
            updated_at = ${event.recordedAt}
          WHERE id = ${runId} AND ${gate}
        )`,
        ...[...groups.values()].map(
          (group, i) => sql`${sql.literal(`items_${i}`)} AS (
          UPDATE run_items SET status = ${group.status}, skipped_reason = ${group.skippedReason}::text,
            completed_at = ${event.recordedAt}, updated_at = ${event.recordedAt}
          WHERE id = ANY(${itemIdArray(runId, group.ordinals)}::text[]) AND run_id = ${runId} AND status = 'running'
            AND ${gate}
        )`
        )
      ]
    }
    case "ItemBatchAbandoned":
      // the items go back to pending, keeping their claim token (the lost batch, should it come back, finds
      // them no longer running) and their attempts
      return [
        sql`run AS (
          UPDATE enrichment_runs SET count_running = count_running - ${event.ordinals.length},
            count_pending = count_pending + ${event.ordinals.length}, updated_at = ${event.abandonedAt}
          WHERE id = ${runId} AND ${gate}
        )`,
        sql`items AS (
          UPDATE run_items SET status = 'pending', updated_at = ${event.abandonedAt}
          WHERE id = ANY(${itemIdArray(runId, event.ordinals)}::text[]) AND run_id = ${runId} AND status = 'running'
            AND ${gate}
        )`
      ]
    case "RunCompleted":
      return [
        sql`run AS (
          UPDATE enrichment_runs SET status = 'completed', completed_at = ${event.completedAt},
            updated_at = ${event.completedAt}
          WHERE id = ${runId} AND status IN ('pending', 'running') AND ${gate}
        )`
      ]
    case "RunCancelled":
      return stopRows(sql, runId, "cancelled", "run_cancelled", event.cancelledAt, null, gate)
    case "RunFailed":
      return stopRows(
        sql,
        runId,
        "failed",
        "run_failed",
        event.failedAt,
        { message: event.message, details: null },
        gate
      )
    case "CreditsSettled":
      return [
        sql`run AS (
          UPDATE enrichment_runs SET captured = ${event.captured}, released = ${event.released},
            settled_at = ${event.settledAt}, updated_at = ${event.settledAt}
          WHERE id = ${runId} AND ${gate}
        )`
      ]
  }
}

/**
 * The rows of one append's events as one list of CTEs, when one statement can write them: a single
 * event, or a `RunRequested` with its `RunDispatched` (the dispatch's append: one row write). Otherwise
 * (several events moving the same rows, which one statement cannot write twice) `undefined`.
 */
export const runEventRows = (
  sql: SqlClient.SqlClient,
  runId: string,
  workspaceId: string,
  events: ReadonlyArray<RunEvent>,
  gate: Statement.Fragment
): Rows | undefined => {
  const [first, second] = events
  if (events.length === 1 && first !== undefined) return eventRows(sql, runId, workspaceId, first, gate)
  if (events.length === 2 && first?._tag === "RunRequested" && second?._tag === "RunDispatched") {
    return requestedRows(sql, runId, workspaceId, first, second, gate)
  }
  return undefined
}

/** CTEs, then `SELECT 1`: a statement of writes only. */
const writes = (sql: SqlClient.SqlClient, ctes: ReadonlyArray<Statement.Fragment>) =>
  sql`WITH ${sql.join(", ", false)(ctes)} SELECT 1`

/**
 * The events of one append, in order, each as a statement of its own; a `RunRequested` directly
 * followed by its `RunDispatched` is one row write. `also`: CTEs the last statement carries.
 */
export const projectRunEvents = Effect.fnUntraced(function* (
  sql: SqlClient.SqlClient,
  runId: string,
  workspaceId: string,
  events: ReadonlyArray<RunEvent>,
  also: ReadonlyArray<Statement.Fragment> = []
) {
  const always = sql`true`
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!
    const next = events[i + 1]
    const paired = event._tag === "RunRequested" && next?._tag === "RunDispatched"
    const rows = paired
      ? requestedRows(sql, runId, workspaceId, event, next, always)
      : eventRows(sql, runId, workspaceId, event, always)
    if (paired) i++
    yield* writes(sql, i + 1 === events.length ? [...rows, ...also] : rows)
  }
})

/** One event's rows, as one statement. */
export const projectRunEvent = (
  sql: SqlClient.SqlClient,
  runId: string,
  workspaceId: string,
  event: RunEvent
): Effect.Effect<unknown, SqlError.SqlError> => writes(sql, eventRows(sql, runId, workspaceId, event, sql`true`))
