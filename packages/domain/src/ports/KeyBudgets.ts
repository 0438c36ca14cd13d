/**
 * The KeyBudgets port: an API key's monthly credit budget (credits/KeyBudget.ts) held durably, moved in the
 * transaction that moves the workspace's credits, under the key's month row lock taken *after* the workspace's
 * credit row (the lock order every dispatch and settlement follows: DECISIONS.md 69). And the key a request
 * acts for, which the API's authentication provides (`ActingApiKey`).
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { KeyLimitReached } from "../credits/KeyBudget.ts"
import type { StoreFailure } from "./StoreFailure.ts"

/** The API key a request acts for, and its monthly credit limit (`null`: none). */
export interface ActingKey {
  readonly keyId: string
  readonly creditLimit: number | null
}

/**
 * The API key on whose behalf the current request acts: provided by the API's authentication to every `/api`
 * request, absent everywhere else (the worker, the watchdog, the operator), where no key's budget is drawn on.
 */
export const ActingApiKey = Context.Reference<ActingKey | undefined>("@enrich/domain/ports/KeyBudgets/ActingApiKey", {
  defaultValue: () => undefined
})

export class KeyBudgets extends Context.Service<
  KeyBudgets,
  {
    /**
     * Run `runId`'s reservation of `amount` (> 0), requested at `at`, against its key's budget of the month of
     * `at`, under the key's month row lock, in the caller's transaction (after the workspace's credit row):
     * recorded with the run, or refused (`KeyLimitReached`, nothing written). A key without a limit in the
     * store reserves nothing.
     */
    readonly reserve: (input: {
      readonly keyId: string
      readonly runId: string
      readonly amount: number
      readonly at: string
    }) => Effect.Effect<void, KeyLimitReached | StoreFailure>
    /**
     * What settling run `runId` released, given back to the month its key reserved in, under that row's lock,
     * in the settlement's transaction (after the workspace's credit row). Nothing for a run no limited key
     * reserved for.
     */
    readonly release: (input: { readonly runId: string; readonly amount: number }) => Effect.Effect<void, StoreFailure>
  }
>()("@enrich/domain/ports/KeyBudgets") {}
