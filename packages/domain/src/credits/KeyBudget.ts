/**
 * An API key's monthly credit budget (issue 22, DECISIONS.md 69), beside the workspace's balance
 * (CreditAccount.ts): a key created with a `creditLimit` may have at most that many credits in use per
 * calendar month in UTC.
 *
 * What a month's usage counts: the reservations of the runs the key requested in that month, minus what those
 * runs released when they settled — while its runs are open, what they hold; once they are settled, what they
 * captured. A release goes back to the month of its run's reservation, whenever the run settles, so a month's
 * usage only ever reaches what the key's runs of that month may still cost.
 *
 * A reservation fits when `used + amount ≤ limit` (then `used` grows by it) and is refused otherwise, naming
 * what remains (`keyRemaining`): the dispatch's 402. A release lowers `used`, never below zero. Pure: the month
 * comes from the reservation's time, the limit and the usage from the adapter, read under the key's row lock.
 */
import { Schema } from "effect"

export interface KeyBudgetState {
  /** the most the key may have in use in the month */
  readonly limit: number
  /** what is in use in the month: reserved minus released */
  readonly used: number
}

/** What the key may still reserve in the month (zero when a lowered limit is below what is in use). */
export const keyRemaining = (state: KeyBudgetState): number => Math.max(0, state.limit - state.used)

/** The calendar month in UTC of an ISO-8601 instant, `YYYY-MM`: the month a reservation counts in. */
export const budgetMonth = (at: string): string => new Date(at).toISOString().slice(0, 7)

/** A reservation past what the key may still use this month. */
export class KeyLimitReached extends Schema.TaggedError<KeyLimitReached>()("KeyLimitReached", {
  required: Schema.Int,
  keyRemaining: Schema.Int
}) {}

/** A run's reservation of `amount` (a non-negative integer) against the month's budget: the usage after it, or refused. */
export const reserveFromBudget = (state: KeyBudgetState, amount: number): KeyBudgetState | KeyLimitReached => {
  const remaining = keyRemaining(state)
  if (amount > remaining) return new KeyLimitReached({ required: amount, keyRemaining: remaining })
  return { ...state, used: state.used + amount }
}

/** What a settling run released, given back to the month it reserved in. */
export const releaseToBudget = (state: KeyBudgetState, amount: number): KeyBudgetState => ({
  ...state,
  used: Math.max(0, state.used - amount)
})
