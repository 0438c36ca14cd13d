/**
 * Retrying what failed: a new run over exactly the `failed` items of a run that is over, with the same
 * enrichment, input, output and write policy, paying only for those items (its reservation is planned like
 * any run's, over its own scope). The new run names its source (`retryOf`) and the source lists its retries.
 */
import { Schema } from "effect"

/** The scope of a retry: the failed items of `sourceRunId`, written to the source's List (if it had one). */
export interface RetryScope {
  readonly type: "retry"
  readonly sourceRunId: string
  readonly listId: string | undefined
}

/** What a retry needs to know of its source run. */
export interface RetrySource {
  readonly status: string
  /** the source's credits are settled: nothing of it is in flight, its failed count is final */
  readonly settled: boolean
  readonly failedCount: number
}

/** 409: the source is still going (its failed items are not final yet). */
export class RunNotTerminal extends Schema.TaggedError<RunNotTerminal>()("RunNotTerminal", {
  runId: Schema.String,
  status: Schema.String
}) {}

/** 400: no item of the source failed. */
export class NothingToRetry extends Schema.TaggedError<NothingToRetry>()("NothingToRetry", {
  runId: Schema.String
}) {}

/**
 * Whether a run may be retried: once it is over — completed, failed or cancelled, and settled (a cancelled run
 * whose last batch is still running is not over yet) — and only if some of its items failed.
 */
export const retryEligibility = (runId: string, source: RetrySource): RunNotTerminal | NothingToRetry | "eligible" => {
  const over =
    (source.status === "completed" || source.status === "failed" || source.status === "cancelled") && source.settled
  if (!over) return new RunNotTerminal({ runId, status: source.status })
  if (source.failedCount === 0) return new NothingToRetry({ runId })
  return "eligible"
}
