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
import {
  type ItemMove,
  itemMovesOf,
  itemTransitions,
  requestedItemStatus,
  storedStatus,
  transitionOf
} from "@enrich/domain/runs/ItemMoves"
import { freshSkippedReason } from "@enrich/domain/runs/Freshness"
import { itemIdArray, itemIdSql } from "../ItemIdSql.ts"
import { inOpenBatch } from "../OpenBatchSql.ts"
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
 * A run's idempotency key row, where `gate` holds (nothing if the key is stored already): written by the run's
 * request (`RunRequested`), and first by the dispatch that claims the key before it plans
 * (IdempotencyKeysPg.ts `claim`, the same row: the projection then finds it) — one statement for both.
 */
export const idempotencyKeyRow = (
  sql: SqlClient.SqlClient,
  row: {
    readonly workspaceId: string
    readonly key: string
    readonly fingerprint: string
    readonly runId: string
    readonly at: string
  },
  gate: Statement.Fragment
) =>
  sql`INSERT INTO idempotency_keys (workspace_id, key, fingerprint, run_id, created_at)
    SELECT ${row.workspaceId}::text, ${row.key}::text, ${row.fingerprint}::text, ${row.runId}::text,
      ${row.at}::timestamptz
    WHERE ${gate}
    ON CONFLICT DO NOTHING`

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
  // the last ordinals skipped for a fresh result (domain/runs/Freshness.ts), as the scope freeze wrote them
  sql`items AS (
      INSERT INTO run_items (id, workspace_id, run_id, ordinal, lead_id, list_id, membership_id, status,
        skipped_reason, completed_at, created_at, updated_at)
      SELECT ${itemIdSql(sql, sql.literal("run_id"), "ordinal")}, workspace_id, run_id, ordinal, lead_id, list_id,
        membership_id, f.status, f.reason, f.completed_at, ${event.requestedAt}::timestamptz,
        ${event.requestedAt}::timestamptz
      FROM run_scope
        CROSS JOIN LATERAL (SELECT ordinal > ${event.leadCount - (event.freshness?.skipped ?? 0)} AS fresh) x
        CROSS JOIN LATERAL (SELECT
          CASE WHEN x.fresh THEN ${itemTransitions.skipPending.to} ELSE ${requestedItemStatus} END AS status,
          CASE WHEN x.fresh THEN ${freshSkippedReason} END AS reason,
          CASE WHEN x.fresh THEN ${event.requestedAt}::timestamptz END AS completed_at) f
      WHERE run_id = ${runId}
        AND NOT EXISTS (SELECT 1 FROM run_items WHERE run_id = ${runId} AND ordinal = 1) AND ${gate}
    )`,
  ...(event.idempotency === null
    ? []
    : [
        sql`idempotency AS (${idempotencyKeyRow(
          sql,
          { workspaceId, ...event.idempotency, runId, at: event.requestedAt },
          gate
        )})`
      ])
]

/** A batch's start, as its row keeps it: what a Finish or a Requeue writes as the item's claim. */
const batchStartedAt = (sql: SqlClient.SqlClient, batch: string) =>
  sql`(SELECT started_at FROM run_batches WHERE batch = ${batch})`

/**
 * An item move (domain/runs/ItemMoves.ts) as a CTE named `name`, or nothing for a move that writes no item row: the
 * items it names (by key: a lookup on the run's items whatever the statistics say) whose rows are in its `from`
 * status take its `to`. A running item's row is `pending` in an open batch (`storedStatus`): a Claim writes no item
 * (its batch's row says they run), a Finish or a Requeue writes the attempt the claim made (one more, the batch as
 * claim token, its start) with the move's own columns. A batch's record is one move per distinct outcome: joined
 * with the outcomes as a recordset, the planner (its statistics say few items are running) compared every item
 * with every outcome, 500 × 500 per batch, ~90 % of the statement
 * (regression_recording_a_batch_compared_every_outcome_with_every_item).
 */
export const itemMoveRows = (
  sql: SqlClient.SqlClient,
  runId: string,
  move: ItemMove,
  name: string,
  gate: Statement.Fragment,
  options: {
    /** the ordinals a Finish or a Requeue names run (the rebuild knows which, before `run_batches` says it) */
    readonly runningKnown?: boolean
  } = {}
): Statement.Fragment | undefined => {
  const cte = sql.literal(name)
  const { from, to } = transitionOf(move)
  const running = options.runningKnown ? sql`true` : inOpenBatch(sql, runId, "run_items.ordinal")
  switch (move._tag) {
    case "Claim":
      return undefined
    case "Finish":
      return sql`${cte} AS (
          UPDATE run_items SET status = ${to}, skipped_reason = ${move.skippedReason}::text,
            completed_at = ${move.at}, updated_at = ${move.at}, attempts = attempts + 1, claim_token = ${move.batch},
            started_at = ${batchStartedAt(sql, move.batch)}
          WHERE id = ANY(${itemIdArray(runId, move.ordinals)}::text[]) AND run_id = ${runId}
            AND status = ${storedStatus(from)} AND ${running} AND ${gate}
        )`
    case "Requeue":
      return sql`${cte} AS (
          UPDATE run_items SET status = ${to}, updated_at = ${move.at}, attempts = attempts + 1,
            claim_token = ${move.batch}, started_at = ${batchStartedAt(sql, move.batch)}
          WHERE id = ANY(${itemIdArray(runId, move.ordinals)}::text[]) AND run_id = ${runId}
            AND status = ${storedStatus(from)} AND ${running} AND ${gate}
        )`
    case "SkipPending":
      // pending, and in no open batch (those run, and finish)
      return sql`${cte} AS (
          UPDATE run_items SET status = ${to}, skipped_reason = ${move.skippedReason},
            completed_at = ${move.at}, updated_at = ${move.at}
          WHERE run_id = ${runId} AND status = ${from} AND ${gate}
            AND NOT ${inOpenBatch(sql, runId, "run_items.ordinal")}
        )`
  }
}

/** A batch's row (how its items are found again), as its start writes it (the first start of a batch id wins). */
const batchRow = (
  sql: SqlClient.SqlClient,
  runId: string,
  event: Extract<RunEvent, { _tag: "ItemBatchStarted" }>,
  gate: Statement.Fragment
) =>
  sql`batch AS (
      INSERT INTO run_batches (batch, run_id, ordinals, last_ordinal, started_at)
      SELECT ${event.batch}::text, ${runId}::text, ${`{${event.ordinals.map((o) => Math.trunc(o)).join(",")}}`}::int[],
        ${Math.max(0, ...event.ordinals.map((o) => Math.trunc(o)))}::int, ${event.startedAt}::timestamptz
      WHERE ${gate}
      ON CONFLICT (batch) DO NOTHING
    )`

/** A batch recorded or abandoned: it ends, and its items no longer run under it. */
const batchEnd = (sql: SqlClient.SqlClient, batch: string, gate: Statement.Fragment) =>
  sql`batch_end AS (UPDATE run_batches SET ended = true WHERE batch = ${batch} AND NOT ended AND ${gate})`

/** One event's rows other than the run's: its item moves, its batch, a request's items and key. */
const eventRows = (
  sql: SqlClient.SqlClient,
  runId: string,
  workspaceId: string,
  event: RunEvent,
  gate: Statement.Fragment
): Rows => [
  ...(event._tag === "RunRequested" ? requestedRows(sql, runId, workspaceId, event, gate) : []),
  ...(event._tag === "ItemBatchStarted" ? [batchRow(sql, runId, event, gate)] : []),
  ...(event._tag === "ItemBatchRecorded" || event._tag === "ItemBatchAbandoned"
    ? [batchEnd(sql, event.batch, gate)]
    : []),
  ...itemMovesOf(event).flatMap((move, i) => itemMoveRows(sql, runId, move, `items_${i}`, gate) ?? [])
]

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
        completed_at, cancelled_at, settled_at, created_at, updated_at, retry_of)
      SELECT ${r.id}::text, ${r.workspace_id}::text, ${c.status}::text, ${r.mode}::text, ${r.enrichment}::jsonb,
        ${r.scope}::jsonb, ${r.resolved_count}::int, ${c.count_pending}::int, ${c.count_running}::int,
        ${c.count_completed}::int, ${c.count_skipped}::int, ${c.count_failed}::int, ${r.output}::jsonb,
        ${r.cost_preview}::jsonb, ${r.reserved}::bigint, ${c.captured}::bigint, ${c.released}::bigint,
        ${r.correlation_id}::text, ${r.dispatch_metadata}::jsonb || coalesce(${c.dispatch}::jsonb, '{}'::jsonb),
        ${r.input}::jsonb, ${c.trigger_run_id}::text, ${c.error}::jsonb, ${c.started_at}::timestamptz,
        ${c.completed_at}::timestamptz, ${c.cancelled_at}::timestamptz, ${c.settled_at}::timestamptz,
        ${r.created_at}::timestamptz, ${c.updated_at}::timestamptz, ${r.retry_of}::text
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
