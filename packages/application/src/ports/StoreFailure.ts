/**
 * An infrastructure failure behind a port (the database refused, timed out or went away), typed so that a
 * use case can retry what is retryable by a schedule (`retryable`: a deadlock victim, a serialization
 * failure, a lost connection) instead of losing it as a defect.
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

/** `effect` run again while it fails with a retryable store failure, by `transientRetry`. */
export const retryStoreFailures = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.retry(effect, { while: isRetryableStoreFailure, ...transientRetry })
