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
import { RunExecutor } from "./RunExecutor.ts"
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

const RunLive = EnrichmentRunWorkflow.toLayer(
  Effect.fn(function* (run) {
    const executor = yield* RunExecutor
    const slots = yield* BatchSlots
    const complete = Activity.make({ name: "complete", execute: executor.complete(run) })
    const partitions = yield* Activity.make({
      name: "partitions",
      success: Schema.Int,
      execute: executor.partitions(run)
    })
    if (partitions <= 1) {
      return yield* runLoop({
        batch: (n) => batchActivity(executor, slots, run, `batch-${n}`, batchKey(run.runId, n)),
        complete
      })
    }
    const done = yield* Effect.all(
      Array.from({ length: partitions }, (_, partition) => EnrichmentRunPartition.execute({ ...run, partition })),
      { concurrency: "unbounded" }
    )
    yield* complete
    return { batches: done.reduce((sum, p) => sum + p.batches, 0) }
  }, withNodeDigest)
)

const PartitionLive = EnrichmentRunPartition.toLayer(
  Effect.fn(function* ({ partition, ...run }) {
    const executor = yield* RunExecutor
    const slots = yield* BatchSlots
    return yield* runLoop({
      batch: (n) => batchActivity(executor, slots, run, `batch-${n}`, `${run.runId}/p${partition}/batch-${n}`),
      complete: Effect.void
    })
  }, withNodeDigest)
)

export const RunWorkflowLive = Layer.mergeAll(RunLive, PartitionLive)
