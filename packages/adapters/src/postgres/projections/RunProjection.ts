/**
 * The inline projection of an append's run events into the read models: `enrichment_runs` (the run's row,
 * written from the decider's folded state after the append: RunRow.ts), `run_items` (each item's state),
 * `run_batches` and `idempotency_keys`. Every value comes from the events, never from the clock, so
 * replaying the events rebuilds byte-identical rows.
 */
import { Effect } from "effect"
import type { SqlClient, SqlError, Statement } from "effect/sql"
import { evolve, type RunState } from "@enrich/domain/runs/Run"
import type { RunEvent } from "@enrich/domain/runs/RunEvents"
import { itemIdArray, itemIdSql } from "../ItemIdSql.ts"
import { requestColumns, stateColumns } from "./RunRow.ts"

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

/** The rows of an append as data-modifying CTEs, each written only where the gate holds. */
type Rows = ReadonlyArray<Statement.Fragment>

/**
 * `RunRequested`'s own rows besides the run's: its items and its idempotency key. The dispatch already wrote
 * the items with the frozen scope (RunScope.freezeScope, the same values): they are written here only when the
 * run has none, i.e. on a rebuild (its first item, ordinal 1, is a key lookup).
 */
const requestedRows = (
  sql: SqlClient.SqlClient,
  runId: string,
  workspaceId: string,
  event: Extract<RunEvent, { _tag: "RunRequested" }>,
  gate: Statement.Fragment
): Rows => [
  sql`items AS (
      INSERT INTO run_items (id, workspace_id, run_id, ordinal, lead_id, list_id, membership_id, status,
        created_at, updated_at)
      SELECT ${itemIdSql(sql, sql.literal("run_id"), "ordinal")}, workspace_id, run_id, ordinal, lead_id, list_id,
        membership_id, 'pending', ${event.requestedAt}::timestamptz, ${event.requestedAt}::timestamptz
      FROM run_scope WHERE run_id = ${runId}
        AND NOT EXISTS (SELECT 1 FROM run_items WHERE run_id = ${runId} AND ordinal = 1) AND ${gate}
    )`,
  ...(event.idempotency === null
    ? []
    : [
        sql`idempotency AS (
          INSERT INTO idempotency_keys (workspace_id, key, fingerprint, run_id, created_at)
          SELECT ${workspaceId}::text, ${event.idempotency.key}::text, ${event.idempotency.fingerprint}::text,
            ${runId}::text, ${event.requestedAt}::timestamptz
          WHERE ${gate}
          ON CONFLICT DO NOTHING
        )`
      ])
]

/** A cancel or a failure: the run's pending items are skipped; running ones finish. */
const stopRows = (
  sql: SqlClient.SqlClient,
  runId: string,
  reason: "run_cancelled" | "run_failed",
  at: string,
  gate: Statement.Fragment
): Rows => [
  sql`items AS (
      UPDATE run_items SET status = 'skipped', skipped_reason = ${reason}, completed_at = ${at}, updated_at = ${at}
      WHERE run_id = ${runId} AND status = 'pending' AND ${gate}
    )`
]

/** One event's rows other than the run's: its items, its batch, its idempotency key. */
const eventRows = (
  sql: SqlClient.SqlClient,
  runId: string,
  workspaceId: string,
  event: RunEvent,
  gate: Statement.Fragment
): Rows => {
  switch (event._tag) {
    case "RunRequested":
      return requestedRows(sql, runId, workspaceId, event, gate)
    case "ItemBatchStarted":
      // the batch's row (how its items are found again) and its items claimed
      return [
        sql`batch AS (
          INSERT INTO run_batches (batch, run_id, ordinals, last_ordinal, started_at)
          SELECT ${event.batch}::text, ${runId}::text,
            ${`{${event.ordinals.map((o) => Math.trunc(o)).join(",")}}`}::int[],
            ${Math.max(0, ...event.ordinals.map((o) => Math.trunc(o)))}::int, ${event.startedAt}::timestamptz
          WHERE ${gate}
          ON CONFLICT (batch) DO NOTHING
        )`,
        sql`items AS (
          UPDATE run_items SET status = 'running', attempts = attempts + 1, claim_token = ${event.batch},
            started_at = ${event.startedAt}, updated_at = ${event.startedAt}
          WHERE run_id = ${runId} AND status = 'pending'
            AND id = ANY(${itemIdArray(runId, event.ordinals)}::text[]) AND ${gate}
        )`
      ]
    case "ItemBatchRecorded": {
      // the batch's items: one UPDATE per distinct outcome (completed, failed, skipped for a reason), each finding
      // its items by key. Joined with the outcomes as a recordset, the planner (its statistics say few items are
      // running) compared every item with every outcome: 500 × 500 per batch, ~90 % of the statement
      // (regression_recording_a_batch_compared_every_outcome_with_every_item)
      const groups = new Map<string, { status: string; skippedReason: string | null; ordinals: Array<number> }>()
      for (const o of event.outcomes) {
        const key = `${o.status}/${o.skippedReason ?? ""}`
        const group = groups.get(key) ?? { status: o.status, skippedReason: o.skippedReason, ordinals: [] }
        group.ordinals.push(o.ordinal)
        groups.set(key, group)
      }
      return [...groups.values()].map(
        (group, i) => sql`${sql.literal(`items_${i}`)} AS (
          UPDATE run_items SET status = ${group.status}, skipped_reason = ${group.skippedReason}::text,
            completed_at = ${event.recordedAt}, updated_at = ${event.recordedAt}
          WHERE id = ANY(${itemIdArray(runId, group.ordinals)}::text[]) AND run_id = ${runId} AND status = 'running'
            AND ${gate}
        )`
      )
    }
    case "ItemBatchAbandoned":
      // the items go back to pending, keeping their claim token (the lost batch, should it come back, finds
      // them no longer running) and their attempts
      return [
        sql`items AS (
          UPDATE run_items SET status = 'pending', updated_at = ${event.abandonedAt}
          WHERE id = ANY(${itemIdArray(runId, event.ordinals)}::text[]) AND run_id = ${runId} AND status = 'running'
            AND ${gate}
        )`
      ]
    case "RunCancelled":
      return stopRows(sql, runId, "run_cancelled", event.cancelledAt, gate)
    case "RunFailed":
      return stopRows(sql, runId, "run_failed", event.failedAt, gate)
    case "RunDispatched":
    case "RunStarted":
    case "RunCompleted":
    case "CreditsSettled":
      return []
  }
}

/**
 * The run's row after an append, from the decider's folded state `after`: inserted with the append that requests
 * the run (`requested`), updated by every other.
 */
const runRow = (
  sql: SqlClient.SqlClient,
  runId: string,
  workspaceId: string,
  requested: Extract<RunEvent, { _tag: "RunRequested" }> | undefined,
  after: RunState,
  gate: Statement.Fragment
): Rows => {
  if (after.status === "none") return []
  const c = stateColumns(after)
  if (requested !== undefined) {
    const r = requestColumns(runId, workspaceId, requested)
    return [
      sql`run AS (
      INSERT INTO enrichment_runs (id, workspace_id, status, mode, enrichment, scope, resolved_count,
        count_pending, count_running, count_completed, count_skipped, count_failed, output, cost_preview, reserved,
        captured, released, correlation_id, dispatch_metadata, input, trigger_run_id, error, started_at,
        completed_at, cancelled_at, settled_at, created_at, updated_at)
      SELECT ${r.id}::text, ${r.workspace_id}::text, ${c.status}::text, ${r.mode}::text, ${r.enrichment}::jsonb,
        ${r.scope}::jsonb, ${r.resolved_count}::int, ${c.count_pending}::int, ${c.count_running}::int,
        ${c.count_completed}::int, ${c.count_skipped}::int, ${c.count_failed}::int, ${r.output}::jsonb,
        ${r.cost_preview}::jsonb, ${r.reserved}::bigint, ${c.captured}::bigint, ${c.released}::bigint,
        ${r.correlation_id}::text, ${r.dispatch_metadata}::jsonb || coalesce(${c.dispatch}::jsonb, '{}'::jsonb),
        ${r.input}::jsonb, ${c.trigger_run_id}::text, ${c.error}::jsonb, ${c.started_at}::timestamptz,
        ${c.completed_at}::timestamptz, ${c.cancelled_at}::timestamptz, ${c.settled_at}::timestamptz,
        ${r.created_at}::timestamptz, ${c.updated_at}::timestamptz
      WHERE ${gate}
    )`
    ]
  }
  return [
    sql`run AS (
      UPDATE enrichment_runs SET status = ${c.status}, count_pending = ${c.count_pending},
        count_running = ${c.count_running}, count_completed = ${c.count_completed},
        count_skipped = ${c.count_skipped}, count_failed = ${c.count_failed}, captured = ${c.captured},
        released = ${c.released}, trigger_run_id = ${c.trigger_run_id}::text,
        dispatch_metadata = dispatch_metadata || coalesce(${c.dispatch}::jsonb, '{}'::jsonb),
        error = ${c.error}::jsonb, started_at = ${c.started_at}::timestamptz,
        completed_at = ${c.completed_at}::timestamptz, cancelled_at = ${c.cancelled_at}::timestamptz,
        settled_at = ${c.settled_at}::timestamptz, updated_at = ${c.updated_at}::timestamptz
      WHERE id = ${runId} AND ${gate}
    )`
  ]
}

/** The append's request, if it requests the run. */
const requestOf = (events: ReadonlyArray<RunEvent>) =>
  events.find((e): e is Extract<RunEvent, { _tag: "RunRequested" }> => e._tag === "RunRequested")

/**
 * The rows of one append's events as one list of CTEs, when one statement can write them: a single event, or a
 * `RunRequested` with its `RunDispatched` (the dispatch's append), with the run's row from `after`. Otherwise
 * (several events moving the same item rows, which one statement cannot write twice) `undefined`.
 */
export const runEventRows = (
  sql: SqlClient.SqlClient,
  runId: string,
  workspaceId: string,
  events: ReadonlyArray<RunEvent>,
  after: RunState,
  gate: Statement.Fragment
): Rows | undefined => {
  const [first, second] = events
  const one = events.length === 1 && first !== undefined
  const requestAndHandOver = events.length === 2 && first?._tag === "RunRequested" && second?._tag === "RunDispatched"
  if (!one && !requestAndHandOver) return undefined
  return [
    ...eventRows(sql, runId, workspaceId, first, gate),
    ...runRow(sql, runId, workspaceId, requestOf(events), after, gate)
  ]
}

/** CTEs, then `SELECT 1`: a statement of writes only. */
const writes = (sql: SqlClient.SqlClient, ctes: ReadonlyArray<Statement.Fragment>) =>
  sql`WITH ${sql.join(", ", false)(ctes)} SELECT 1`

/**
 * The events of one append, in order, each event's items as a statement of its own, then the run's row from
 * `after` with `also` (CTEs the last statement carries).
 */
export const projectRunEvents = Effect.fnUntraced(function* (
  sql: SqlClient.SqlClient,
  runId: string,
  workspaceId: string,
  events: ReadonlyArray<RunEvent>,
  after: RunState,
  also: ReadonlyArray<Statement.Fragment> = []
) {
  const always = sql`true`
  for (const event of events) {
    const rows = eventRows(sql, runId, workspaceId, event, always)
    if (rows.length > 0) yield* writes(sql, rows)
  }
  const last = [...runRow(sql, runId, workspaceId, requestOf(events), after, always), ...also]
  if (last.length > 0) yield* writes(sql, last)
})

/**
 * One event projected on its own (what an append of it alone writes, without its snapshot), on the run as it was
 * before it: the run as the event leaves it. For tests and tools that replay events one by one.
 */
export const projectRunEvent = (
  sql: SqlClient.SqlClient,
  runId: string,
  workspaceId: string,
  before: RunState,
  event: RunEvent
): Effect.Effect<RunState, SqlError.SqlError> => {
  const after = evolve(before, event)
  const rows = runEventRows(sql, runId, workspaceId, [event], after, sql`true`) ?? []
  return rows.length === 0 ? Effect.succeed(after) : Effect.as(writes(sql, rows), after)
}
