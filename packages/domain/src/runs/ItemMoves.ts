/**
 * How a run's events move its items, stated once. An item is created `pending` when its run is requested
 * (the frozen scope); from then on only these moves change it, each applying to the items it names that are
 * in its `from` status and to no other:
 *
 * - `Claim`: a batch starts — its pending items run, one attempt more, under the batch's claim token;
 * - `Finish`: a batch is recorded — its running items end with their outcome (completed, failed, or skipped
 *   for a reason), one move per distinct outcome;
 * - `Requeue`: a batch's worker was lost — its running items go back to pending, keeping their claim token (the
 *   lost batch, should it come back, finds them no longer running) and their attempts;
 * - `SkipPending`: the run is cancelled or fails — every item still pending is skipped for the run's reason;
 *   running ones finish.
 *
 * The run's counts move by these in the decider (Run.ts `evolve`, `moveCounts`); the item rows move by these,
 * inline (adapters/postgres/projections/RunProjection.ts) and on a rebuild (RebuildBatch.ts).
 *
 * An item's row is written once per claim, when its batch ends (issue 24): a running item is a pending row in
 * an open batch (the batch's row holds its ordinals), so a `Claim` writes the batch's row and no item's, and a
 * `Finish` or a `Requeue` writes the attempt the claim made (`claimedBy`: one attempt more, the batch, when it
 * started) with the item's outcome.
 */
import type { ItemOutcome, RunEvent } from "./RunEvents.ts"

export type ItemStatus = "pending" | "running" | "completed" | "failed" | "skipped"

/** How many of a run's items are in each status. */
export interface ItemCounts {
  readonly pending: number
  readonly running: number
  readonly completed: number
  readonly skipped: number
  readonly failed: number
}

/** The status of a run's items as its request creates them (one per Lead of the frozen scope). */
export const requestedItemStatus = "pending" satisfies ItemStatus

/** The statuses each move takes an item from and to. */
export const itemTransitions = {
  claim: { from: "pending", to: "running" },
  finish: { from: "running" },
  requeue: { from: "running", to: "pending" },
  skipPending: { from: "pending", to: "skipped" }
} as const satisfies Record<string, { readonly from: ItemStatus; readonly to?: ItemStatus }>

/**
 * The status an item's row keeps for its status: a running item's row stays `pending` (its open batch says it
 * runs), every other status is kept as it is.
 */
export const storedStatus = (status: ItemStatus): Exclude<ItemStatus, "running"> =>
  status === "running" ? "pending" : status

export type ItemMove =
  | {
      readonly _tag: "Claim"
      readonly ordinals: ReadonlyArray<number>
      readonly batch: string
      readonly at: string
    }
  | {
      readonly _tag: "Finish"
      /** the batch that claimed them */
      readonly batch: string
      readonly ordinals: ReadonlyArray<number>
      readonly to: ItemOutcome["status"]
      readonly skippedReason: string | null
      readonly at: string
    }
  | {
      readonly _tag: "Requeue"
      /** the batch that claimed them */
      readonly batch: string
      readonly ordinals: ReadonlyArray<number>
      readonly at: string
    }
  | { readonly _tag: "SkipPending"; readonly skippedReason: "run_cancelled" | "run_failed"; readonly at: string }

/** The moves of `event`, in the order they apply (none for an event that moves no item). */
export const itemMovesOf = (event: RunEvent): ReadonlyArray<ItemMove> => {
  switch (event._tag) {
    case "ItemBatchStarted":
      return [{ _tag: "Claim", ordinals: event.ordinals, batch: event.batch, at: event.startedAt }]
    case "ItemBatchRecorded": {
      const groups = new Map<
        string,
        { to: ItemOutcome["status"]; skippedReason: string | null; ordinals: Array<number> }
      >()
      for (const o of event.outcomes) {
        const key = `${o.status}/${o.skippedReason ?? ""}`
        const group = groups.get(key) ?? { to: o.status, skippedReason: o.skippedReason, ordinals: [] }
        group.ordinals.push(o.ordinal)
        groups.set(key, group)
      }
      return [...groups.values()].map((g) => ({ _tag: "Finish", batch: event.batch, ...g, at: event.recordedAt }))
    }
    case "ItemBatchAbandoned":
      return [{ _tag: "Requeue", batch: event.batch, ordinals: event.ordinals, at: event.abandonedAt }]
    case "RunCancelled":
      return [{ _tag: "SkipPending", skippedReason: "run_cancelled", at: event.cancelledAt }]
    case "RunFailed":
      return [{ _tag: "SkipPending", skippedReason: "run_failed", at: event.failedAt }]
    case "RunRequested":
    case "RunDispatched":
    case "RunStarted":
    case "RunCompleted":
    case "CreditsSettled":
      return []
  }
}

/** A move's statuses: where the items it names come from and where they go. */
export const transitionOf = (move: ItemMove): { readonly from: ItemStatus; readonly to: ItemStatus } => {
  switch (move._tag) {
    case "Claim":
      return itemTransitions.claim
    case "Finish":
      return { from: itemTransitions.finish.from, to: move.to }
    case "Requeue":
      return itemTransitions.requeue
    case "SkipPending":
      return itemTransitions.skipPending
  }
}

/**
 * The run's counts after `move`: as many items as it names leave its `from` status for its `to` (a SkipPending,
 * every item of its `from`). The decider refuses a batch that names more items than are in that status, so the
 * counts and the rows the projections move agree.
 */
export const moveCounts = (counts: ItemCounts, move: ItemMove): ItemCounts => {
  const { from, to } = transitionOf(move)
  const n = move._tag === "SkipPending" ? counts[from] : move.ordinals.length
  return { ...counts, [from]: counts[from] - n, [to]: counts[to] + n }
}
