/**
 * The hand-over of a run to an execution engine (the default `effect/workflow`
 * on `effect/cluster`, or Trigger.dev). `dispatch` runs inside the dispatch
 * transaction where the engine can join it, or once the run is recorded.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"

export class DispatchFailed extends Schema.TaggedError<DispatchFailed>()("DispatchFailed", {
  message: Schema.String
}) {}

export interface RunHandOver {
  readonly runId: string
  readonly workspaceId: string
}

export class Dispatcher extends Context.Service<
  Dispatcher,
  {
    readonly engine: string
    /**
     * `dispatch` only writes into the caller's transaction (the engine's message row is the outbox):
     * it may come before the run is recorded, and a rollback undoes it. Otherwise (an engine outside
     * the database) it is called once the run is recorded and committed, with no transaction open, so a
     * refused plan never reaches the engine and the call holds no lock.
     */
    readonly joinsTransaction: boolean
    readonly dispatch: (run: RunHandOver) => Effect.Effect<{ readonly triggerRunId: string }, DispatchFailed>
  }
>()("@enrich/domain/ports/Dispatcher") {}
