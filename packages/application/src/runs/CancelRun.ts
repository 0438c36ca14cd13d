/**
 * The cancel use case: only pending or running runs can be cancelled. Pending
 * items are skipped at once, running ones finish, no new batch starts, and the
 * run settles when its last in-flight item ends.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { RunDirectory } from "../ports/RunDirectory.ts"
import { RunCommands } from "./RunCommands.ts"

export class RunNotFound extends Schema.TaggedError<RunNotFound>()("RunNotFound", { runId: Schema.String }) {}

/** 409: `run_not_cancellable` (already terminal) or `run_status_changed` (it kept moving under us). */
export class RunNotCancellable extends Schema.TaggedError<RunNotCancellable>()("RunNotCancellable", {
  runId: Schema.String,
  reason: Schema.Literals(["run_not_cancellable", "run_status_changed"])
}) {}

export class CancelRun extends Context.Service<
  CancelRun,
  {
    readonly cancel: (
      workspaceId: string,
      runId: string
    ) => Effect.Effect<
      { readonly id: string; readonly status: "cancelled"; readonly cancelledAt: string },
      RunNotFound | RunNotCancellable
    >
  }
>()("@enrich/application/runs/CancelRun") {
  static readonly layer = Layer.effect(
    CancelRun,
    Effect.gen(function* () {
      const directory = yield* RunDirectory
      const runs = yield* RunCommands

      const cancel = Effect.fn("CancelRun.cancel")(
        function* (workspaceId: string, runId: string) {
          if ((yield* directory.find(runId, workspaceId)) === undefined) return yield* new RunNotFound({ runId })
          const cancelledAt = new Date().toISOString()
          yield* runs.execute({ runId, workspaceId, command: { _tag: "CancelRun", now: cancelledAt } }).pipe(
            Effect.catchTags({
              RunCommandRejected: () => Effect.fail(new RunNotCancellable({ runId, reason: "run_not_cancellable" })),
              WrongExpectedVersion: () => Effect.fail(new RunNotCancellable({ runId, reason: "run_status_changed" })),
              InsufficientCredits: Effect.die,
              CreditCommandRejected: Effect.die
            })
          )
          return { id: runId, status: "cancelled" as const, cancelledAt }
        },
        Effect.catchTag("StoreFailure", Effect.die)
      )

      return CancelRun.of({ cancel })
    })
  )
}
