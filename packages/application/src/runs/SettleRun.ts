/**
 * The end of executing a run: once a holder's loop claims nothing (worker/src/RunLoop.ts), the run completes and
 * settles when every item is terminal, or the holder is told what is left — pending items to claim (a lost
 * batch gave them back) or items running in another holder's batch (then after a pause, short against the
 * lease, so nothing waits long for it). Settlement itself is the decider's (`CompleteRun` appends
 * `CreditsSettled` when nothing is in flight); RunCommands moves the credits it says.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { leftAfterClaims } from "@enrich/domain/runs/Run"
import { LeaseConfig } from "../ports/RunLiveness.ts"
import { RunStore } from "../ports/RunStore.ts"
import { retryStoreFailures } from "@enrich/domain/ports/StoreFailure"
import { RunCommands } from "./RunCommands.ts"

/** What is left of a run once a holder's loop claims nothing. */
export const Finish = Schema.Literals(["ended", "claim", "wait"])
export type Finish = typeof Finish.Type

export class SettleRun extends Context.Service<
  SettleRun,
  {
    /**
     * Completes and settles the run when every item is terminal ("ended", also for a run settled already), or says
     * what is left: "claim" or "wait" (after a pause).
     */
    readonly finish: (run: { readonly runId: string; readonly workspaceId: string }) => Effect.Effect<Finish>
    /** Completes the run now (refused unless every item is terminal), and settles it. */
    readonly complete: (run: { readonly runId: string; readonly workspaceId: string }) => Effect.Effect<void>
  }
>()("@enrich/application/runs/SettleRun") {
  static readonly layer = Layer.effect(
    SettleRun,
    Effect.gen(function* () {
      const store = yield* RunStore
      const runs = yield* RunCommands
      const { leaseMs } = yield* LeaseConfig
      const pauseMs = Math.min(5_000, Math.max(100, Math.floor(leaseMs / 6)))

      const finish = Effect.fn("SettleRun.finish")(
        function* (run: { readonly runId: string; readonly workspaceId: string }) {
          const left = leftAfterClaims(yield* store.load(run.runId))
          if (left === "settled") return "ended" as const
          if (left === "claim") return "claim" as const
          if (left === "wait") {
            // another holder's batch: it ends, or the watchdog gives its items back or releases them
            yield* Effect.sleep(pauseMs)
            return "wait" as const
          }
          return yield* runs.execute({ ...run, command: { _tag: "CompleteRun", now: new Date().toISOString() } }).pipe(
            Effect.as("ended" as const),
            // an item moved meanwhile (a lost batch's items given back): look again
            Effect.catchTag("RunCommandRejected", () => Effect.succeed("claim" as const))
          )
        },
        retryStoreFailures,
        (effect, run) => Effect.annotateLogs(effect, { runId: run.runId }),
        Effect.orDie
      )

      const complete = Effect.fn("SettleRun.complete")(
        function* (run: { readonly runId: string; readonly workspaceId: string }) {
          yield* runs.execute({ ...run, command: { _tag: "CompleteRun", now: new Date().toISOString() } })
        },
        retryStoreFailures,
        (effect, run) => Effect.annotateLogs(effect, { runId: run.runId }),
        Effect.orDie
      )

      return SettleRun.of({ finish, complete })
    })
  )
}
