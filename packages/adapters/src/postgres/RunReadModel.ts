/**
 * Reads of the run projections: the status body and the item pages (item state
 * joined with what the item produced), scoped to a workspace.
 */
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { openBatchesHolding } from "./OpenBatchSql.ts"
import { textArray } from "./TextArray.ts"

/** A timestamp column as the API shows it (ISO-8601, UTC), or null. */
export const iso = (d: Date | null) => (d === null ? null : new Date(d).toISOString())

export interface RunRow {
  id: string
  status: string
  retry_of: string | null
  retries: ReadonlyArray<string>
  mode: string
  enrichment: { id: string; slug: string; version: number; snapshot: unknown }
  scope: { type: string; listId: string | null; leadIdCount: number | null }
  resolved_count: number
  count_pending: number
  count_running: number
  count_completed: number
  count_skipped: number
  count_failed: number
  output: { target: string; attributeKey: string; writePolicy: string; persistResults: boolean }
  cost_preview: unknown
  reserved: string
  captured: string
  released: string
  correlation_id: string
  trigger_run_id: string | null
  dispatch_metadata: unknown
  error: { message: string; details: unknown } | null
  started_at: Date | null
  completed_at: Date | null
  cancelled_at: Date | null
  settled_at: Date | null
  created_at: Date
  updated_at: Date
}

export const toRunView = (r: RunRow) => ({
  id: r.id,
  status: r.status,
  retryOf: r.retry_of,
  retries: r.retries,
  mode: r.mode,
  enrichment: r.enrichment,
  scope: {
    type: r.scope.type,
    listId: r.scope.listId,
    requested: r.scope,
    resolvedCount: r.resolved_count,
    counts: {
      pending: r.count_pending,
      running: r.count_running,
      completed: r.count_completed,
      skipped: r.count_skipped,
      failed: r.count_failed
    }
  },
  output: r.output,
  cost: {
    preview: r.cost_preview,
    actual: { reserved: Number(r.reserved), captured: Number(r.captured), released: Number(r.released) }
  },
  trigger: { correlationId: r.correlation_id, triggerRunId: r.trigger_run_id, dispatchMetadata: r.dispatch_metadata },
  error: r.error,
  timing: {
    startedAt: iso(r.started_at),
    completedAt: iso(r.completed_at),
    cancelledAt: iso(r.cancelled_at),
    settledAt: iso(r.settled_at),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!
  }
})
export type RunView = ReturnType<typeof toRunView>

/**
 * The columns of a run's view, of `enrichment_runs r`: the row, its amounts as text, and its retries (oldest
 * first, by the partial index on `retry_of`).
 */
export const runViewColumns = (sql: SqlClient.SqlClient) =>
  sql`r.*, r.reserved::text, r.captured::text, r.released::text,
    ARRAY(SELECT x.id FROM enrichment_runs x WHERE x.retry_of = r.id ORDER BY x.id) AS retries`

interface ItemRow {
  id: string
  run_id: string
  lead_id: string
  list_id: string | null
  membership_id: string | null
  status: string
  result: unknown
  skipped_reason: string | null
  error: { message: string; details: unknown } | null
  attempts: number
  input_snapshot: unknown
  lead_snapshot: unknown
  provider_result: unknown
  provider: string | null
  provider_submission_id: string | null
  started_at: Date | null
  completed_at: Date | null
  created_at: Date
  updated_at: Date
}

export const toItemView = (r: ItemRow) => ({
  id: r.id,
  runId: r.run_id,
  leadId: r.lead_id,
  listId: r.list_id,
  membershipId: r.membership_id,
  status: r.status,
  result: r.result,
  skippedReason: r.skipped_reason,
  error: r.error,
  attempts: r.attempts,
  metadata: {
    inputSnapshot: r.input_snapshot,
    leadSnapshot: r.lead_snapshot,
    result: r.provider_result,
    provider: r.provider,
    providerSubmissionId: r.provider_submission_id
  },
  timing: {
    startedAt: iso(r.started_at),
    completedAt: iso(r.completed_at),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!
  }
})
export type ItemView = ReturnType<typeof toItemView>

export class RunReadModel extends Context.Service<
  RunReadModel,
  {
    readonly getRun: (workspaceId: string, runId: string) => Effect.Effect<Option.Option<RunView>>
    /** The run whatever its workspace: for the operator (`/admin`), never for a workspace's API key. */
    readonly getRunOfAnyWorkspace: (runId: string) => Effect.Effect<Option.Option<RunView>>
    /** The run with its stream version: the position of this snapshot in the run's history. */
    readonly getSnapshot: (
      workspaceId: string,
      runId: string
    ) => Effect.Effect<Option.Option<{ readonly run: RunView; readonly position: number }>>
    /**
     * The position (run stream version) of each of these runs, in one statement: how live streams
     * learn which runs moved without reading every run (runs with no stream are left out).
     */
    readonly positions: (runIds: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, number>>
    /** Runs newest first, by status, enrichment and creation time. */
    readonly listRuns: (
      workspaceId: string,
      query: {
        readonly status: string | undefined
        readonly enrichmentId: string | undefined
        readonly createdAfter: string | undefined
        readonly cursor: string | undefined
        readonly limit: number
      }
    ) => Effect.Effect<{
      readonly runs: ReadonlyArray<RunView>
      readonly nextCursor: string | null
      readonly hasMore: boolean
    }>
    readonly listItems: (
      workspaceId: string,
      runId: string,
      query: {
        readonly status: string | undefined
        readonly leadId: string | undefined
        readonly cursor: string | undefined
        readonly limit: number
      }
    ) => Effect.Effect<
      Option.Option<{
        readonly items: ReadonlyArray<ItemView>
        readonly nextCursor: string | null
        readonly hasMore: boolean
      }>
    >
  }
>()("@enrich/adapters/postgres/RunReadModel") {
  static readonly layer = Layer.effect(
    RunReadModel,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const getRun = Effect.fn("RunReadModel.getRun")(function* (workspaceId: string, runId: string) {
        const rows = yield* sql<RunRow>`SELECT ${runViewColumns(sql)} FROM enrichment_runs r
          WHERE r.workspace_id = ${workspaceId} AND r.id = ${runId}`
        return Option.map(Option.fromNullishOr(rows[0]), toRunView)
      }, Effect.orDie)

      const getRunOfAnyWorkspace = Effect.fn("RunReadModel.getRunOfAnyWorkspace")(function* (runId: string) {
        const rows = yield* sql<RunRow>`SELECT ${runViewColumns(sql)} FROM enrichment_runs r WHERE r.id = ${runId}`
        return Option.map(Option.fromNullishOr(rows[0]), toRunView)
      }, Effect.orDie)

      const listItems = Effect.fn("RunReadModel.listItems")(function* (
        workspaceId: string,
        runId: string,
        query: {
          readonly status: string | undefined
          readonly leadId: string | undefined
          readonly cursor: string | undefined
          readonly limit: number
        }
      ) {
        const run = yield* sql`SELECT 1 FROM enrichment_runs WHERE workspace_id = ${workspaceId} AND id = ${runId}`
        if (run.length === 0) return Option.none()
        // a running item is a pending row in an open batch (domain/runs/ItemMoves.ts `storedStatus`): it shows as
        // running, with the attempt, the claim's start and time its record will write
        const open = sql`(SELECT b.started_at ${openBatchesHolding(sql, sql.literal("i.run_id"), "i.ordinal")} LIMIT 1)`
        const status =
          query.status === undefined
            ? sql``
            : query.status === "running"
              ? sql`AND i.status = 'pending' AND o.started_at IS NOT NULL`
              : query.status === "pending"
                ? sql`AND i.status = 'pending' AND o.started_at IS NULL`
                : sql`AND i.status = ${query.status}`
        const rows = yield* sql<ItemRow>`
          SELECT i.id, i.run_id, i.lead_id, i.list_id, i.membership_id,
                 CASE WHEN o.started_at IS NULL THEN i.status ELSE 'running' END AS status, i.skipped_reason,
                 i.attempts + CASE WHEN o.started_at IS NULL THEN 0 ELSE 1 END AS attempts,
                 coalesce(o.started_at, i.started_at) AS started_at, i.completed_at, i.created_at,
                 coalesce(o.started_at, i.updated_at) AS updated_at,
                 i.result, i.error, i.lead_snapshot,
                 -- the run's input, as the item was recorded with it (the run's row keeps it once, not each item)
                 CASE WHEN i.recorded_at IS NOT NULL THEN (SELECT input FROM enrichment_runs WHERE id = i.run_id) END
                   AS input_snapshot,
                 CASE WHEN i.provider_result_is_result THEN i.result ELSE i.provider_result END AS provider_result,
                 i.provider, i.provider_submission_id
          FROM run_items i
            CROSS JOIN LATERAL (SELECT CASE WHEN i.status = 'pending' THEN ${open} END AS started_at) o
          WHERE i.run_id = ${runId} AND i.workspace_id = ${workspaceId}
          ${status}
          ${query.leadId === undefined ? sql`` : sql`AND i.lead_id = ${query.leadId}`}
          ${query.cursor === undefined ? sql`` : sql`AND i.id > ${query.cursor}`}
          ORDER BY i.id LIMIT ${query.limit + 1}`
        const items = rows.slice(0, query.limit).map(toItemView)
        const hasMore = rows.length > query.limit
        return Option.some({ items, hasMore, nextCursor: hasMore ? items[items.length - 1]!.id : null })
      }, Effect.orDie)

      const getSnapshot = Effect.fn("RunReadModel.getSnapshot")(function* (workspaceId: string, runId: string) {
        const rows = yield* sql<RunRow & { position: number }>`
          SELECT ${runViewColumns(sql)}, s.version AS position
          FROM enrichment_runs r JOIN event_streams s ON s.stream_id = 'run-' || r.id
          WHERE r.workspace_id = ${workspaceId} AND r.id = ${runId}`
        return Option.map(Option.fromNullishOr(rows[0]), (row) => ({ run: toRunView(row), position: row.position }))
      }, Effect.orDie)

      const positions = Effect.fn("RunReadModel.positions")(function* (runIds: ReadonlyArray<string>) {
        if (runIds.length === 0) return new Map<string, number>()
        const rows = yield* sql<{ stream_id: string; version: number }>`
          SELECT stream_id, version FROM event_streams
          WHERE stream_id = ANY(${textArray(runIds.map((id) => `run-${id}`))}::text[])`
        return new Map(rows.map((row) => [row.stream_id.slice("run-".length), Number(row.version)]))
      }, Effect.orDie)

      const listRuns = Effect.fn("RunReadModel.listRuns")(function* (
        workspaceId: string,
        query: {
          readonly status: string | undefined
          readonly enrichmentId: string | undefined
          readonly createdAfter: string | undefined
          readonly cursor: string | undefined
          readonly limit: number
        }
      ) {
        const rows = yield* sql<RunRow>`
          SELECT ${runViewColumns(sql)} FROM enrichment_runs r
          WHERE r.workspace_id = ${workspaceId}
          ${query.status === undefined ? sql`` : sql`AND r.status = ${query.status}`}
          ${query.enrichmentId === undefined ? sql`` : sql`AND r.enrichment->>'slug' = ${query.enrichmentId}`}
          ${query.createdAfter === undefined ? sql`` : sql`AND r.created_at > ${query.createdAfter}`}
          ${query.cursor === undefined ? sql`` : sql`AND r.id < ${query.cursor}`}
          ORDER BY r.id DESC LIMIT ${query.limit + 1}`
        const runs = rows.slice(0, query.limit).map(toRunView)
        const hasMore = rows.length > query.limit
        return { runs, hasMore, nextCursor: hasMore ? runs[runs.length - 1]!.id : null }
      }, Effect.orDie)

      return RunReadModel.of({ getRun, getRunOfAnyWorkspace, getSnapshot, positions, listRuns, listItems })
    })
  )
}
