/**
 * What executing a run is, whatever the engine: batch steps `0, 1, …` until one
 * claims nothing, then the finishing step: it completes and settles the run
 * when every item is terminal, or says what is left — items to claim again (a
 * lost batch gave them back) or items still running in another holder's batch
 * (then it has paused, and the loop looks again). The engine decides how a
 * step runs: the workflow makes each one a durable activity, the Trigger.dev
 * task calls it directly (a retried attempt replays from batch 0, and a batch
 * already recorded only reports its counts: the claim token is the batch key).
 */
import { Effect } from "effect"
import type { BatchOutcome } from "@enrich/adapters/engine/RunWorkflow"
import type { Finish } from "./RunExecutor.ts"

/** The claim token of a run's `n`-th batch (decision 3). */
export const batchKey = (runId: string, n: number) => `${runId}/batch-${n}`

export interface RunSteps<Err, R> {
  readonly batch: (n: number) => Effect.Effect<BatchOutcome, Err, R>
  /** the `round`-th time the loop found nothing to claim */
  readonly finish: (round: number) => Effect.Effect<Finish, Err, R>
}

export const runLoop = Effect.fnUntraced(function* <Err, R>(steps: RunSteps<Err, R>) {
  let batches = 0
  let n = 0
  let round = 0
  for (;;) {
    const outcome = yield* steps.batch(n++)
    if (outcome.claimed > 0) {
      batches++
      continue
    }
    if ((yield* steps.finish(round++)) === "ended") return { batches }
  }
})
