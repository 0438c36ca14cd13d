/**
 * Failures PostgreSQL says may pass, and running again what they failed: the one policy of every process
 * (decision 45 for the worker's steps, decision 48 for every transaction). A deadlock PostgreSQL broke by
 * failing us, a serialization failure, a lock timeout, a lost connection (not a statement timeout: it would
 * run as long again): the whole of what failed is run again — up to 5 more times, 100 ms doubling with jitter, a warning each time — whether it came as an error
 * or, through a store that made it a defect, as a defect. An interruption is never retried.
 */
import { Cause, Effect } from "effect"
import { SqlError } from "effect/sql"
import { StoreFailure, transientRetry } from "@enrich/domain/ports/StoreFailure"
import { EventStoreError } from "@enrich/domain/ports/EventStore"

/** Whether PostgreSQL says the failure may pass — but not a statement that ran past `statement_timeout`. */
const retryable = (error: SqlError.SqlError) => error.isRetryable && error.reason._tag !== "StatementTimeoutError"

/** A database failure as the ports type it: a StoreFailure that keeps the SqlError as its cause. */
export const toStoreFailure = (error: SqlError.SqlError): StoreFailure =>
  new StoreFailure({ message: error.message, retryable: retryable(error), cause: error })

/** A database failure as a port's failure: `Effect.catchTag("SqlError", failAsStore)` keeps the port's own. */
export const failAsStore = (error: SqlError.SqlError): Effect.Effect<never, StoreFailure> =>
  Effect.fail(toStoreFailure(error))

/**
 * A failure behind a port, as the ports type it: a database failure — or the event store's, caused by one — is a
 * StoreFailure; anything else (a stored event that does not decode, a broken invariant) is a defect.
 */
export const storeFailureOrDie = (error: unknown): Effect.Effect<never, StoreFailure> => {
  const sqlError = SqlError.isSqlError(error)
    ? error
    : error instanceof EventStoreError && SqlError.isSqlError(error.cause)
      ? error.cause
      : undefined
  return sqlError === undefined ? Effect.die(error) : Effect.fail(toStoreFailure(sqlError))
}

/** `effect`'s database failures typed as the ports type them. */
export const asStoreFailure = <A, R>(
  effect: Effect.Effect<A, SqlError.SqlError, R>
): Effect.Effect<A, StoreFailure, R> => Effect.mapError(effect, toStoreFailure)

/**
 * A failure of the work inside a transaction (the Transactions port), told apart from the transaction's own
 * (begin, commit) until the transaction has ended — and seen through by `isTransient`, so the transaction that
 * failed with it runs again when the work's failure may pass.
 */
export class Inside<E> {
  readonly error: E
  constructor(error: E) {
    this.error = error
  }
}

/**
 * Whether `cause` is a failure the driver marks retryable (and not an interruption) — but not a statement
 * that ran past `statement_timeout`: the same statement would run as long again.
 */
export const isTransient = (cause: Cause.Cause<unknown>): boolean => {
  if (Cause.hasInterrupts(cause)) return false
  const squashed = Cause.squash(cause)
  const error = squashed instanceof Inside ? squashed.error : squashed
  if (error instanceof StoreFailure) return error.retryable
  return SqlError.isSqlError(error) && retryable(error)
}

/** Lifts the connection's statement and lock timeouts for the rest of the caller's transaction (the operator's long work). */
export const withoutTimeouts = (sql: {
  readonly unsafe: (statement: string) => Effect.Effect<unknown, SqlError.SqlError>
}) => Effect.andThen(sql.unsafe("SET LOCAL statement_timeout = 0"), sql.unsafe("SET LOCAL lock_timeout = 0"))

/** `effect` run again while it fails transiently; `what` names it in the warning. Its errors are kept as they were. */
export const retryTransient =
  (what: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    effect.pipe(
      Effect.sandbox,
      Effect.tapError((cause) =>
        isTransient(cause) ? Effect.logWarning(`${what} failed transiently; running it again`, cause) : Effect.void
      ),
      Effect.retry({ while: isTransient, ...transientRetry }),
      Effect.catch((cause) => Effect.failCause(cause))
    )
