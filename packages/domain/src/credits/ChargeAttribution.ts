/**
 * Which items a run's credit movements cover, from the run's events alone: the
 * settlement table (CreditPolicy.settle) says how much a run captures, this says
 * for which items. Pure; `audit credits` explains each ledger line with it.
 *
 * Every item of the scope (ordinals `1..leadCount`, item id `<runId>.<ordinal>`) ends
 * in one bucket:
 * - charged (`dispatch`: every item, whatever its outcome; `completed`: the completed
 *   items; `found`: the completed items whose result says found) — none when the run's
 *   hand-over to its engine failed (it failed pending, never dispatched: `settleFailedHandOver`);
 * - released, with the reason: `not_found` (completed, not found, under `chargeOn:
 *   "found"`), `failed`, or the skip reason (`run_cancelled` and `run_failed` for
 *   items a stopped run never started, `attribute_exists`, `lead_deleted`);
 * - open: still pending or running (the run is not settled yet);
 * - fresh: skipped as the run was requested, for a fresh result (its last ordinals): never reserved.
 *
 * `captured` is `min(reserved, charged × unitCost)` and `released` the rest, as the
 * settlement computes them; `matchesSettlement` says whether the run's own
 * `CreditsSettled` agrees (it must, or the history is inconsistent).
 */
import type { ChargeOn } from "../catalog/Enrichment.ts"
import { settle, settleFailedHandOver } from "./CreditPolicy.ts"
import type { RunEvent, SkippedReason } from "../runs/RunEvents.ts"

export type ReleaseReason = "not_found" | "failed" | SkippedReason

export const releaseReasons: ReadonlyArray<ReleaseReason> = [
  "not_found",
  "failed",
  "run_cancelled",
  "run_failed",
  "attribute_exists",
  "lead_deleted"
]

export interface RunAttribution {
  readonly runId: string
  readonly workspaceId: string
  readonly enrichmentId: string
  readonly enrichmentVersion: number
  readonly chargeOn: ChargeOn
  readonly unitCost: number
  readonly leadCount: number
  readonly reserved: number
  readonly status: "pending" | "running" | "completed" | "failed" | "cancelled"
  /** ordinals charged by the settlement rule, ascending */
  readonly charged: ReadonlyArray<number>
  /** ordinals whose credits go back, by reason, ascending; only reasons with items */
  readonly released: ReadonlyArray<{ readonly reason: ReleaseReason; readonly ordinals: ReadonlyArray<number> }>
  /** ordinals still pending or running */
  readonly open: ReadonlyArray<number>
  /** ordinals skipped at the request for a fresh result (runs/Freshness.ts): never reserved, never charged */
  readonly fresh: ReadonlyArray<number>
  /** what the settlement rule captures and releases for these items */
  readonly expected: { readonly captured: number; readonly released: number }
  /** the run's CreditsSettled, when it is settled */
  readonly settlement: { readonly captured: number; readonly released: number; readonly at: string } | null
  /** false when the run's CreditsSettled disagrees with its items (a broken history) */
  readonly matchesSettlement: boolean
}

type Outcome =
  | { readonly status: "completed"; readonly found: boolean }
  | { readonly status: "failed" }
  | {
      readonly status: "skipped"
      readonly reason: SkippedReason
    }

/** The attribution of a run's events (in stream order); undefined when the stream has no RunRequested. */
export const attribute = (events: Iterable<RunEvent>): RunAttribution | undefined => {
  let requested: Extract<RunEvent, { _tag: "RunRequested" }> | undefined
  let status: RunAttribution["status"] = "pending"
  let stoppedBy: SkippedReason | undefined
  let settlement: RunAttribution["settlement"] = null
  let dispatched = false
  let failedUndispatched = false
  const started = new Set<number>()
  const outcomes = new Map<number, Outcome>()
  const terminal = () => status === "completed" || status === "failed" || status === "cancelled"
  for (const event of events) {
    switch (event._tag) {
      case "RunRequested":
        requested ??= event
        break
      case "RunStarted":
        if (!terminal()) status = "running"
        break
      case "ItemBatchStarted":
        for (const o of event.ordinals) started.add(o)
        break
      case "ItemBatchAbandoned":
        // back to pending: a stop skips them as it skips the items never claimed
        for (const o of event.ordinals) started.delete(o)
        break
      case "ItemBatchRecorded":
        for (const o of event.outcomes) {
          outcomes.set(
            o.ordinal,
            o.status === "completed"
              ? { status: "completed", found: o.found }
              : o.status === "failed"
                ? { status: "failed" }
                : { status: "skipped", reason: o.skippedReason ?? "run_cancelled" }
          )
        }
        break
      case "RunCompleted":
        if (!terminal()) status = "completed"
        break
      case "RunCancelled":
        if (!terminal()) {
          status = "cancelled"
          stoppedBy = "run_cancelled"
        }
        break
      case "RunFailed":
        if (!terminal()) {
          failedUndispatched = status === "pending" && !dispatched
          status = "failed"
          stoppedBy = "run_failed"
        }
        break
      case "CreditsSettled":
        settlement ??= { captured: event.captured, released: event.released, at: event.settledAt }
        break
      case "RunDispatched":
        dispatched = true
        break
    }
  }
  if (requested === undefined) return undefined
  // failed while pending and never dispatched: its hand-over failed (FailDispatch: nothing charged) — or, rarely,
  // its executor failed it before claiming a batch (FailRun: charged by chargeOn). Their events are alike; the
  // settlement says which (they differ only for a dispatch-priced run)
  const handOverFailed = failedUndispatched && (settlement === null || settlement.captured === 0)
  const { chargeOn, unitCost } = requested.cost
  const charged: Array<number> = []
  const released = new Map<ReleaseReason, Array<number>>()
  const open: Array<number> = []
  const release = (reason: ReleaseReason, ordinal: number) => {
    const list = released.get(reason)
    if (list === undefined) released.set(reason, [ordinal])
    else list.push(ordinal)
  }
  let completed = 0
  let found = 0
  // the last ordinals, skipped as the run was requested, were never reserved
  const runnable = requested.leadCount - (requested.freshness?.skipped ?? 0)
  const fresh = Array.from({ length: requested.leadCount - runnable }, (_, i) => runnable + i + 1)
  for (let ordinal = 1; ordinal <= runnable; ordinal++) {
    const outcome = outcomes.get(ordinal)
    if (outcome === undefined) {
      // never recorded: pending or running, or skipped by the stop when it was never started
      if (!started.has(ordinal) && stoppedBy !== undefined) {
        if (chargeOn === "dispatch" && !handOverFailed) charged.push(ordinal)
        else release(stoppedBy, ordinal)
      } else {
        open.push(ordinal)
      }
      continue
    }
    if (outcome.status === "completed") {
      completed++
      if (outcome.found) found++
    }
    if (chargeOn === "dispatch") charged.push(ordinal)
    else if (outcome.status === "completed") {
      if (chargeOn === "completed" || outcome.found) charged.push(ordinal)
      else release("not_found", ordinal)
    } else release(outcome.status === "failed" ? "failed" : outcome.reason, ordinal)
  }
  const reserved = requested.cost.required
  const expected = handOverFailed
    ? settleFailedHandOver(reserved)
    : settle(chargeOn, unitCost, reserved, { completed, found })
  return {
    runId: requested.runId,
    workspaceId: requested.workspaceId,
    enrichmentId: requested.enrichment.id,
    enrichmentVersion: requested.enrichment.version,
    chargeOn,
    unitCost,
    leadCount: requested.leadCount,
    reserved,
    status,
    charged,
    released: releaseReasons.flatMap((reason) => {
      const ordinals = released.get(reason)
      return ordinals === undefined ? [] : [{ reason, ordinals }]
    }),
    open,
    fresh,
    expected,
    settlement,
    matchesSettlement:
      settlement === null || (settlement.captured === expected.captured && settlement.released === expected.released)
  }
}

/** Ordinals as ranges: `[1, 2, 3, 5, 7, 8]` → `"1-3,5,7-8"` (input ascending). */
export const ordinalRanges = (ordinals: ReadonlyArray<number>): string => {
  const parts: Array<string> = []
  let i = 0
  while (i < ordinals.length) {
    const start = ordinals[i]!
    let end = start
    while (i + 1 < ordinals.length && ordinals[i + 1] === end + 1) {
      end = ordinals[i + 1]!
      i++
    }
    parts.push(start === end ? String(start) : `${start}-${end}`)
    i++
  }
  return parts.join(",")
}
