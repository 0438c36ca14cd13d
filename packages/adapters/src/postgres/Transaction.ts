/**
 * Joining the caller's transaction. Effect's `withTransaction` nested in
 * another opens a savepoint (two more statements: `SAVEPOINT`, `RELEASE`); the
 * stores' commands do not need one when they write nothing before the step
 * that can refuse them, so inside a caller's transaction they simply run in it,
 * and a failure leaves the whole transaction to the caller, who rolls it back
 * by failing (every caller does: a failed command is never swallowed inside a
 * transaction that goes on to commit).
 */
import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql"
import type { StoreFailure } from "@enrich/domain/ports/StoreFailure"
import { Transactions } from "@enrich/application/ports/Transactions"
import { Inside, toStoreFailure } from "./Transient.ts"

/** `effect` in the caller's transaction when there is one, otherwise in a transaction of its own. */
export const inTransaction = <A, E, R>(
  sql: SqlClient.SqlClient,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | SqlError.SqlError, R> =>
  Effect.flatMap(Effect.serviceOption(sql.transactionService), (outer) =>
    Option.isSome(outer) ? effect : sql.withTransaction(effect)
  )

/** The Transactions port on the SqlClient: a transaction's own failures typed as StoreFailure, the work's kept. */
export const TransactionsPgLive = Layer.effect(
  Transactions,
  Effect.map(SqlClient.SqlClient, (sql) =>
    Transactions.of({
      transaction: <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | StoreFailure, R> =>
        Effect.mapError(
          inTransaction(
            sql,
            Effect.mapError(effect, (error) => new Inside(error))
          ),
          (failure): E | StoreFailure => (failure instanceof Inside ? failure.error : toStoreFailure(failure))
        )
    })
  )
)
