/**
 * The hand-over of a run to an execution engine (the default `effect/workflow`
 * on `effect/cluster`, or Trigger.dev). `dispatch` runs inside the dispatch
 * transaction where the engine can join it; `wake` is called after commit.
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
    readonly dispatch: (run: RunHandOver) => Effect.Effect<{ readonly triggerRunId: string }, DispatchFailed>
    readonly wake: (run: RunHandOver) => Effect.Effect<void>
  }
>()("@enrich/domain/ports/Dispatcher") {}
