/**
 * Executing a run, as the engines (the workflow's activities, the Trigger.dev task) call it: its batches (the
 * application's ExecuteBatch), its end (SettleRun), the lease whatever executes a run holds on it (`holding`,
 * read by the run watchdog), the hand-over wait of an engine outside the database, and how many partitions
 * share a large run. This process says who recorded the events: `worker:<host>/<pid>`, caused by the batch.
 */
import { Config, Context, Effect, Layer } from "effect"
import { hostname } from "node:os"
import { CommandMetadata } from "@enrich/domain/ports/EventStore"
import { retryStoreFailures } from "@enrich/domain/ports/StoreFailure"
import { ItemBatches } from "@enrich/application/ports/ItemBatches"
import { RunDirectory } from "@enrich/application/ports/RunDirectory"
import { LeaseConfig, RunLiveness } from "@enrich/application/ports/RunLiveness"
import { RunStore } from "@enrich/application/ports/RunStore"
import { Transactions } from "@enrich/application/ports/Transactions"
import { type BatchOutcome, ExecuteBatch } from "@enrich/application/runs/ExecuteBatch"
import { Finish, SettleRun } from "@enrich/application/runs/SettleRun"

/** A run of `leadCount` items is shared by one partition per `size` items, at most `max`. */
export const partitionsFor = (leadCount: number, size: number, max: number): number =>
  Math.max(1, Math.min(max, Math.ceil(leadCount / Math.max(1, size))))

/** Which worker process recorded an event (its host and process id). */
const workerActor = `worker:${hostname()}/${process.pid}`

/** What is left of a run once a holder's loop claims nothing (see RunLoop.ts). */
export { Finish }
export type { BatchOutcome }

export class RunExecutor extends Context.Service<
  RunExecutor,
  {
    readonly runBatch: (
      run: { readonly runId: string; readonly workspaceId: string },
      batch: string
    ) => Effect.Effect<BatchOutcome>
    readonly complete: (run: { readonly runId: string; readonly workspaceId: string }) => Effect.Effect<void>
    /**
     * After a holder's loop claimed nothing: completes and settles the run when every item is terminal
     * ("ended", also for a run settled already), or says what is left — pending items to claim ("claim": items
     * a lost batch gave back), or items running in other holders' batches ("wait", after a pause).
     */
    readonly finish: (run: { readonly runId: string; readonly workspaceId: string }) => Effect.Effect<Finish>
    /**
     * `effect` as the run's holder `holder`: its lease is taken, and renewed every third of
     * ENRICH_RUN_LEASE_SECONDS while `effect` runs; then left to expire (it covers the moment until whatever
     * waits for this holder goes on).
     */
    readonly holding: <A, E, R>(
      run: { readonly runId: string; readonly workspaceId: string },
      holder: string,
      effect: Effect.Effect<A, E, R>
    ) => Effect.Effect<A, E, R>
    /** How many partitions (child workflows, possibly on other runners) share this run. */
    readonly partitions: (run: { readonly runId: string; readonly workspaceId: string }) => Effect.Effect<number>
    /**
     * Whether the run exists. The dispatch commits a run before it calls an engine outside the database
     * (Trigger.dev), so a task finds its run; an API process of an earlier version called inside its
     * transaction, so the task first waits for any such transaction to end (RunDirectory.awaitHandOver):
     * `false` means the trigger outlived a dispatch that never stored the run.
     */
    readonly awaitHandOver: (run: { readonly runId: string; readonly workspaceId: string }) => Effect.Effect<boolean>
  }
>()("@enrich/worker/RunExecutor") {
  static readonly layer = Layer.effect(
    RunExecutor,
    Effect.gen(function* () {
      const batches = yield* ExecuteBatch
      const settle = yield* SettleRun
      const store = yield* RunStore
      const items = yield* ItemBatches
      const directory = yield* RunDirectory
      const liveness = yield* RunLiveness
      const transactions = yield* Transactions
      const partitionSize = yield* Config.Int("ENRICH_PARTITION_SIZE").pipe(Config.withDefault(10_000))
      const maxPartitions = yield* Config.Int("ENRICH_MAX_PARTITIONS").pipe(Config.withDefault(8))
      const { leaseMs } = yield* LeaseConfig

      const runBatch: RunExecutor["Service"]["runBatch"] = (run, batch) =>
        batches.run(run, batch).pipe(Effect.provideService(CommandMetadata, { actor: workerActor, causationId: batch }))

      // the end of a run is the application's (SettleRun); the worker says who recorded it
      const asWorker = Effect.provideService(CommandMetadata, { actor: workerActor })
      const finish = (run: { readonly runId: string; readonly workspaceId: string }) => asWorker(settle.finish(run))
      const complete = (run: { readonly runId: string; readonly workspaceId: string }) => asWorker(settle.complete(run))

      const holding: RunExecutor["Service"]["holding"] = (run, holder, effect) =>
        Effect.scoped(
          Effect.gen(function* () {
            const renew = liveness.renewLease(run.runId, holder, leaseMs)
            yield* renew.pipe(retryStoreFailures, Effect.orDie)
            yield* renew.pipe(
              Effect.delay(Math.max(50, Math.floor(leaseMs / 3))),
              Effect.tapCause((cause) => Effect.logWarning("renewing a run's lease failed", cause)),
              Effect.ignore,
              Effect.forever,
              Effect.forkScoped
            )
            return yield* effect
          })
        )

      const awaitHandOver = Effect.fn("RunExecutor.awaitHandOver")(
        function* (run: { readonly runId: string; readonly workspaceId: string }) {
          return yield* transactions.transaction(
            Effect.gen(function* () {
              yield* directory.awaitHandOver(run.runId)
              const state = yield* store.load(run.runId)
              return state.status !== "none"
            })
          )
        },
        retryStoreFailures,
        Effect.orDie
      )

      const partitions = Effect.fn("RunExecutor.partitions")(
        function* (run: { readonly runId: string; readonly workspaceId: string }) {
          return partitionsFor(yield* items.itemCount(run.runId), partitionSize, maxPartitions)
        },
        retryStoreFailures,
        Effect.orDie
      )

      return RunExecutor.of({ runBatch, complete, finish, holding, awaitHandOver, partitions })
    })
  ).pipe(Layer.provide([SettleRun.layer, ExecuteBatch.layer]))
}
