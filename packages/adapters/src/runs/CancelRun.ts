/**
 * The cancel use case: only pending or running runs can be cancelled. Pending
 * items are skipped at once, running ones finish, no new batch starts, and the
 * run settles when its last in-flight item ends.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { RunStore } from "../postgres/RunStore.ts"

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
>()("@enrich/adapters/runs/CancelRun") {
  static readonly layer = Layer.effect(
    CancelRun,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const runs = yield* RunStore

      const cancel = Effect.fn("CancelRun.cancel")(
        function* (workspaceId: string, runId: string) {
          const owned = yield* sql`SELECT 1 FROM enrichment_runs WHERE id = ${runId} AND workspace_id = ${workspaceId}`
          if (owned.length === 0) return yield* new RunNotFound({ runId })
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
        Effect.catchTag("SqlError", Effect.die)
      )

      return CancelRun.of({ cancel })
    })
  )
}
