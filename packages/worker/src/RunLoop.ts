/**
 * What executing a run is, whatever the engine: batch steps `0, 1, …` until one
 * claims nothing, then the completing step (settlement). The engine decides how
 * a step runs: the workflow makes each one a durable activity, the Trigger.dev
 * task calls it directly (a retried attempt replays from batch 0, and a batch
 * already recorded only reports its counts: the claim token is the batch key).
 */
import { Effect } from "effect"
import type { BatchOutcome } from "@enrich/adapters/engine/RunWorkflow"

/** The claim token of a run's `n`-th batch (decision 3). */
export const batchKey = (runId: string, n: number) => `${runId}/batch-${n}`

export interface RunSteps<Err, R> {
  readonly batch: (n: number) => Effect.Effect<BatchOutcome, Err, R>
  readonly complete: Effect.Effect<void, Err, R>
}

export const runLoop = Effect.fnUntraced(function* <Err, R>(steps: RunSteps<Err, R>) {
  let batches = 0
  for (;;) {
    const outcome = yield* steps.batch(batches)
    if (outcome.claimed === 0) break
    batches++
  }
  yield* steps.complete
  return { batches }
})
