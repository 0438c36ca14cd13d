/**
 * An infrastructure failure behind a port (the database refused, timed out or went away), typed so that a
 * use case can retry what is retryable by a schedule (`retryable`: a deadlock victim, a serialization
 * failure, a lost connection) instead of losing it as a defect. Every port that reaches a store fails with
 * it — the domain's (Leads, Lists, RunScope, CreditLedger) and the application's; what is still retryable
 * when it reaches the HTTP edge is answered 503 with Retry-After, never 500.
 */
import { Effect, Schedule, Schema } from "effect"

export class StoreFailure extends Schema.TaggedError<StoreFailure>()("StoreFailure", {
  message: Schema.String,
  retryable: Schema.Boolean,
  cause: Schema.Defect()
}) {}

/** Whether `error` is a store failure worth trying again. */
export const isRetryableStoreFailure = (error: unknown): boolean => error instanceof StoreFailure && error.retryable

/**
 * How a failure that may pass is tried again, by every process: up to 5 more times, 100 ms doubling with
 * jitter (also the schedule of adapters/postgres/Transient.ts `retryTransient`).
 */
export const transientRetry = {
  times: 5,
  schedule: Schedule.exponential("100 millis").pipe(Schedule.jittered)
} as const

/** `effect` run again while it fails with a retryable store failure, by `transientRetry`, a warning each time. */
export const retryStoreFailures = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.retry(
    Effect.tapError(effect, (error) =>
      isRetryableStoreFailure(error)
        ? Effect.logWarning("a store failed transiently; running it again", (error as StoreFailure).message)
        : Effect.void
    ),
    { while: isRetryableStoreFailure, ...transientRetry }
  )
