/**
 * The fair share of a runner's batch slots between workspaces.
 *
 * A runner executes at most `slots` batches at once. A free slot goes to a
 * waiting batch at once; when batches wait, a slot that frees up goes to the
 * waiting workspace that holds the FEWEST slots, and among equals to the one
 * that has waited longest. So the share is work-conserving (one workspace
 * alone may use every slot) and max-min fair: a workspace with a million-Lead
 * run cannot starve another's small run, which gets a slot as soon as any
 * batch ends, and, while both have work, each ends up holding about half.
 */

/** A batch waiting for a slot. */
export interface SlotRequest {
  readonly workspaceId: string
  /** arrival order (smaller waited longer) */
  readonly seq: number
}

/**
 * The request that gets the next free slot, given how many slots each
 * workspace holds now; `undefined` when nothing waits.
 */
export const nextSlotGrant = <R extends SlotRequest>(
  held: ReadonlyMap<string, number>,
  waiting: Iterable<R>
): R | undefined => {
  let best: R | undefined
  let bestHeld = 0
  for (const request of waiting) {
    const h = held.get(request.workspaceId) ?? 0
    if (best === undefined || h < bestHeld || (h === bestHeld && request.seq < best.seq)) {
      best = request
      bestHeld = h
    }
  }
  return best
}
