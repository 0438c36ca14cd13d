/**
 * What a run costs and what settlement captures or releases
 * (the contract's settlement table).
 */
import type { ChargeOn } from "../catalog/Enrichment.ts"

export const requiredCredits = (leadCount: number, unitCost: number): number => leadCount * unitCost

export interface SettlementCounts {
  readonly completed: number
  readonly found: number
}

export interface Settlement {
  readonly captured: number
  readonly released: number
}

/** Settlement of a run that reached its end with `reserved` credits held. */
export const settle = (
  chargeOn: ChargeOn,
  unitCost: number,
  reserved: number,
  counts: SettlementCounts
): Settlement => {
  const captured =
    chargeOn === "dispatch"
      ? reserved
      : Math.min(reserved, (chargeOn === "completed" ? counts.completed : counts.found) * unitCost)
  return { captured, released: reserved - captured }
}

/**
 * Settlement of a run whose hand-over to its engine failed (`FailDispatch`): nothing ran, so nothing is
 * charged and the whole reservation goes back — whatever the `chargeOn`, `dispatch` included (the run was
 * never dispatched).
 */
export const settleFailedHandOver = (reserved: number): Settlement => ({ captured: 0, released: reserved })

/** The credit check of a dispatch: balance must cover the reservation. */
export const canAfford = (balance: number, required: number): boolean => balance >= required
