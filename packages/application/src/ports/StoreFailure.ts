/**
 * An infrastructure failure behind a port (the database refused, timed out or went away), typed so that a
 * use case can retry what is retryable by a schedule (`retryable`: a deadlock victim, a serialization
 * failure, a lost connection) instead of losing it as a defect.
 */
import { Schema } from "effect"

export class StoreFailure extends Schema.TaggedError<StoreFailure>()("StoreFailure", {
  message: Schema.String,
  retryable: Schema.Boolean,
  cause: Schema.Defect()
}) {}

/** Whether `error` is a store failure worth trying again. */
export const isRetryableStoreFailure = (error: unknown): boolean => error instanceof StoreFailure && error.retryable
