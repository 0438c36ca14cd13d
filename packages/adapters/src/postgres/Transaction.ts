/**
 * Joining the caller's transaction. Effect's `withTransaction` nested in
 * another opens a savepoint (two more statements: `SAVEPOINT`, `RELEASE`); the
 * stores' commands do not need one when they write nothing before the step
 * that can refuse them, so inside a caller's transaction they simply run in it,
 * and a failure leaves the whole transaction to the caller, who rolls it back
 * by failing (every caller does: a failed command is never swallowed inside a
 * transaction that goes on to commit).
 */
import { Effect, Option } from "effect"
import type { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql"

/** `effect` in the caller's transaction when there is one, otherwise in a transaction of its own. */
export const inTransaction = <A, E, R>(
  sql: SqlClient.SqlClient,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | SqlError.SqlError, R> =>
  Effect.flatMap(Effect.serviceOption(sql.transactionService), (outer) =>
    Option.isSome(outer) ? effect : sql.withTransaction(effect)
  )
