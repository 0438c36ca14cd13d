/**
 * A run's row of `enrichment_runs`, as the run's decider folds it: what `RunRequested` fixes once (`requestColumns`)
 * and what the run's later events move (`stateColumns`, from the folded state — domain/runs/Run.ts `evolve` is the
 * only place that says how an event moves the run). The inline projection (RunProjection.ts) writes these values
 * after each append, the rebuild (RebuildBatch.ts) after each page: the same values, so the same rows. Values go
 * to PostgreSQL as text (JSON as text cast to jsonb, timestamps as the events' text), so the rows are
 * byte-identical whichever path wrote them.
 */
import type { ActiveRunState } from "@enrich/domain/runs/Run"
import type { RunEvent } from "@enrich/domain/runs/RunEvents"

const json = (value: unknown) => JSON.stringify(value)

/** The columns a run's request sets once. */
export const requestColumns = (
  runId: string,
  workspaceId: string,
  event: Extract<RunEvent, { _tag: "RunRequested" }>
) => ({
  id: runId,
  workspace_id: workspaceId,
  mode: event.mode,
  enrichment: json(event.enrichment),
  scope: json(event.scope),
  resolved_count: event.leadCount,
  output: json({ ...event.output, persistResults: event.mode === "persisted" }),
  cost_preview: json({
    creditAction: event.cost.creditAction,
    unitCost: event.cost.unitCost,
    required: event.cost.required
  }),
  reserved: event.cost.required,
  correlation_id: runId,
  /** what the hand-over adds is merged into it (`dispatch` of stateColumns) */
  dispatch_metadata: json({ displayRequest: event.displayRequest }),
  input: json(event.input ?? {}),
  retry_of: event.retryOf ?? null,
  created_at: event.requestedAt
})

/** The columns the run's events move, from the run as the decider folded them. */
export const stateColumns = (state: ActiveRunState) => {
  const { dispatch, settlement } = state.record
  return {
    status: state.status,
    count_pending: state.counts.pending,
    count_running: state.counts.running,
    count_completed: state.counts.completed,
    count_skipped: state.counts.skipped,
    count_failed: state.counts.failed,
    captured: settlement?.captured ?? 0,
    released: settlement?.released ?? 0,
    trigger_run_id: dispatch?.triggerRunId ?? null,
    /** merged into `dispatch_metadata` (jsonb `||`: the right side wins, as the last hand-over does) */
    dispatch: dispatch === null ? null : json({ engine: dispatch.engine, dispatchedAt: dispatch.dispatchedAt }),
    error: state.record.failure === null ? null : json({ message: state.record.failure, details: null }),
    started_at: state.record.startedAt,
    completed_at: state.record.endedAt,
    cancelled_at: state.record.cancelledAt,
    settled_at: settlement?.settledAt ?? null,
    updated_at: state.record.updatedAt
  }
}

export type StateColumns = ReturnType<typeof stateColumns>
