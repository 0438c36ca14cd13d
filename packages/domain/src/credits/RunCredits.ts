/**
 * How a run moves its workspace's credits: the reaction of the credit account to the run's events,
 * stated once. A run that asks for credits reserves them when it is requested (`RunRequested` with a
 * cost: `Reserve`, which the account refuses past its balance — the dispatch's 402); a run that
 * reserved settles once (`CreditsSettled`: `Settle` splits the hold into captured and released, by
 * the run's `chargeOn`, decided by the run). No other run event touches credits.
 */
import type { RunState } from "../runs/Run.ts"
import type { RunEvent } from "../runs/RunEvents.ts"
import type { Reserve, Settle } from "./CreditAccount.ts"

/** The credit command `event` of run `runId` implies, given the run as it was before it; none for most events. */
export const creditCommandOf = (runId: string, before: RunState, event: RunEvent): Reserve | Settle | undefined => {
  if (event._tag === "RunRequested" && event.cost.required > 0) {
    return { _tag: "Reserve", runId, amount: event.cost.required, now: event.requestedAt }
  }
  if (event._tag === "CreditsSettled" && before.status !== "none" && before.reserved > 0) {
    return { _tag: "Settle", runId, captured: event.captured, released: event.released, now: event.settledAt }
  }
  return undefined
}
