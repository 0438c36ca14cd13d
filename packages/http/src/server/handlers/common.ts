/** Error bodies shared by the handlers, and how a store failure leaves a handler. */
import { Effect } from "effect"
import type { InsufficientCredits } from "@enrich/domain/credits/CreditAccount"
import type { StoreFailure } from "@enrich/domain/ports/StoreFailure"
import type { PlanRejected } from "@enrich/domain/runs/Planner"
import { apiError } from "../../api/Errors.ts"

export const notFound = (what: string) => apiError("NOT_FOUND", `${what} not found`)

/**
 * 402 `INSUFFICIENT_CREDITS` `{ required, balance }`: the workspace's balance cannot pay the reservation; or
 * `{ required, balance, keyRemaining }`: the API key's monthly credit limit cannot (DECISIONS.md 69).
 */
export const insufficientCredits = (e: InsufficientCredits) =>
  e.keyRemaining === undefined
    ? apiError("INSUFFICIENT_CREDITS", `This run needs ${e.required} credits; the balance is ${e.balance}`, {
        required: e.required,
        balance: e.balance
      })
    : apiError(
        "INSUFFICIENT_CREDITS",
        `This run needs ${e.required} credits; this API key may use ${e.keyRemaining} more this month (its credit limit)`,
        { required: e.required, balance: e.balance, keyRemaining: e.keyRemaining }
      )

export const planRejection = (e: PlanRejected) =>
  apiError(e.code, e.message, e.details === undefined ? undefined : { details: e.details })

/**
 * A store failure the use case did not retry away, handed on to the error envelope (../ErrorEnvelope.ts): it
 * answers a retryable one 503 `STORE_UNAVAILABLE` with `Retry-After`, any other 500 `INTERNAL`. No endpoint
 * declares it: it is not the client's doing, and any endpoint may meet it.
 */
export const storeFailureToEnvelope = <A, E, R>(
  effect: Effect.Effect<A, E | StoreFailure, R>
): Effect.Effect<A, Exclude<E, StoreFailure>, R> =>
  Effect.catchIf(
    effect,
    (error): error is StoreFailure => (error as { readonly _tag?: unknown })?._tag === "StoreFailure",
    (failure) => Effect.die(failure)
  ) as Effect.Effect<A, Exclude<E, StoreFailure>, R>
