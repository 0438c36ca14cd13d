/**
 * The body of the EnrichmentRun workflow: batch activities until no item is
 * left to claim, then the completing activity (settlement). Each activity's
 * outcome (counts only) is stored by the engine, so a replay after a crash
 * skips finished batches and re-executes only the one in flight.
 *
 * A large run fans out: the run's workflow starts one EnrichmentRunPartition
 * child workflow per partition (their shards, and so their runners, differ),
 * each claiming batches from the run's shared pool of pending items, and
 * completes the run when all of them have ended. Several worker processes
 * then share one run; a partition that finishes early simply ends.
 *
 * Each batch executes holding one of the runner's slots (./BatchSlots.ts), shared
 * fairly between workspaces. Activity keys are hashed by node:crypto
 * (@enrich/adapters/engine/NodeDigest).
 */
import { Effect, Layer, Schema } from "effect"
import { Activity } from "effect/workflow"
import { withNodeDigest } from "@enrich/adapters/engine/NodeDigest"
import { BatchOutcome, EnrichmentRunPartition, EnrichmentRunWorkflow } from "@enrich/adapters/engine/RunWorkflow"
import { BatchSlots } from "./BatchSlots.ts"
import { Finish, RunExecutor } from "./RunExecutor.ts"
import { batchKey, runLoop } from "./RunLoop.ts"

const batchActivity = (
  executor: RunExecutor["Service"],
  slots: BatchSlots["Service"],
  run: { readonly runId: string; readonly workspaceId: string },
  name: string,
  key: string
) =>
  Activity.make({
    name,
    success: BatchOutcome,
    execute: slots.withSlot(run.workspaceId, executor.runBatch(run, key))
  })

/** The run's own loop: its batches (or, partitioned, what its partitions left), then its finishing rounds. */
const runSteps = (
  executor: RunExecutor["Service"],
  slots: BatchSlots["Service"],
  run: { readonly runId: string; readonly workspaceId: string }
) => ({
  batch: (n: number) => batchActivity(executor, slots, run, `batch-${n}`, batchKey(run.runId, n)),
  finish: (round: number) => Activity.make({ name: `finish-${round}`, success: Finish, execute: executor.finish(run) })
})

// the workflow's body holds the run's lease (its holder is the run id, as its batch keys say) while it runs
const RunLive = EnrichmentRunWorkflow.toLayer(
  Effect.fn(function* (run) {
    const executor = yield* RunExecutor
    const slots = yield* BatchSlots
    return yield* executor.holding(
      run,
      run.runId,
      Effect.gen(function* () {
        const partitions = yield* Activity.make({
          name: "partitions",
          success: Schema.Int,
          execute: executor.partitions(run)
        })
        if (partitions <= 1) return yield* runLoop(runSteps(executor, slots, run))
        const done = yield* Effect.all(
          Array.from({ length: partitions }, (_, partition) => EnrichmentRunPartition.execute({ ...run, partition })),
          { concurrency: "unbounded" }
        )
        // what the partitions left (items a lost batch gave back after they ended) is claimed here, then it settles
        const rest = yield* runLoop(runSteps(executor, slots, run))
        return { batches: done.reduce((sum, p) => sum + p.batches, rest.batches) }
      })
    )
  }, withNodeDigest)
)

// a partition's lease is left to expire when it ends: it covers the moment until the run's workflow goes on
const PartitionLive = EnrichmentRunPartition.toLayer(
  Effect.fn(function* ({ partition, ...run }) {
    const executor = yield* RunExecutor
    const slots = yield* BatchSlots
    const holder = `${run.runId}/p${partition}`
    return yield* executor.holding(
      run,
      holder,
      runLoop({
        batch: (n) => batchActivity(executor, slots, run, `batch-${n}`, `${holder}/batch-${n}`),
        finish: () => Effect.succeed("ended" as const)
      })
    )
  }, withNodeDigest)
)

export const RunWorkflowLive = Layer.mergeAll(RunLive, PartitionLive)
