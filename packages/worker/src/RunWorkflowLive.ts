/**
 * The body of the EnrichmentRun workflow: batch activities until no item is
 * left to claim, then the completing activity (settlement). Each activity's
 * outcome (counts only) is stored by the engine, so a replay after a crash
 * skips finished batches and re-executes only the one in flight.
 */
import { Effect } from "effect"
import { Activity } from "effect/workflow"
import { BatchOutcome, EnrichmentRunWorkflow } from "@enrich/adapters/engine/RunWorkflow"
import { RunExecutor } from "./RunExecutor.ts"

export const RunWorkflowLive = EnrichmentRunWorkflow.toLayer(
  Effect.fn(function* (run) {
    const executor = yield* RunExecutor
    let batches = 0
    for (;;) {
      const outcome = yield* Activity.make({
        name: `batch-${batches}`,
        success: BatchOutcome,
        execute: executor.runBatch(run, `${run.runId}/batch-${batches}`)
      })
      if (outcome.claimed === 0) break
      batches++
    }
    yield* Activity.make({ name: "complete", execute: executor.complete(run) })
    return { batches }
  })
)
