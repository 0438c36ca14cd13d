/**
 * The Transactions port: a unit of work. What runs inside `transaction` commits together or not at all;
 * inside a caller's transaction it simply joins it (no savepoint: the stores write nothing before the step
 * that can refuse them, and a failure fails the whole transaction, which the caller then rolls back).
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { StoreFailure } from "@enrich/domain/ports/StoreFailure"

export class Transactions extends Context.Service<
  Transactions,
  {
    /** `effect` in the caller's transaction when there is one, otherwise in a transaction of its own. */
    readonly transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreFailure, R>
  }
>()("@enrich/application/ports/Transactions") {}
