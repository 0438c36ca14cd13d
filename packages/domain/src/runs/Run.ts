/**
 * The enrichment run aggregate as a decider: `decide(command, state)` returns
 * the events a command produces (or a typed refusal), `evolve(state, event)`
 * folds them, `initialState` is a run that does not exist yet. Pure: time and
 * ids arrive inside commands.
 *
 * Run status: pending → running → completed | failed | cancelled (pending may
 * go straight to failed or cancelled); a terminal status never changes. Counts
 * and credits may still move after a cancel or failure until the run is settled
 * (items already running finish first).
 */
import { Schema } from "effect"
import type { ChargeOn } from "../catalog/Enrichment.ts"
import { settle, settleFailedHandOver } from "../credits/CreditPolicy.ts"
import type { Plan } from "./Planner.ts"
import type { RequestedScope } from "./Scope.ts"
import { type ItemCounts, itemMovesOf, moveCounts } from "./ItemMoves.ts"
import type { ItemOutcome, RunEvent, WritePolicy } from "./RunEvents.ts"

export type RunStatus = "pending" | "running" | "completed" | "failed" | "cancelled"
export const terminalRunStatuses: ReadonlyArray<RunStatus> = ["completed", "failed", "cancelled"]

export type { ItemCounts }

/**
 * What the run's read model shows besides its status and counts, folded from the events like the rest: when
 * each step happened (the events' own times, never the clock), the engine's hand-over, the failure, the
 * settlement. Decisions do not read it; the projections write the run's row from it
 * (adapters/postgres/projections/RunRow.ts), inline and on a rebuild alike.
 */
export interface RunRecord {
  readonly requestedAt: string
  /** the time of the last event that moved the run */
  readonly updatedAt: string
  /** when it went from pending to running */
  readonly startedAt: string | null
  /** when it completed, was cancelled or failed */
  readonly endedAt: string | null
  readonly cancelledAt: string | null
  /** why it failed */
  readonly failure: string | null
  /** the last hand-over recorded */
  readonly dispatch: { readonly engine: string; readonly triggerRunId: string; readonly dispatchedAt: string } | null
  readonly settlement: { readonly captured: number; readonly released: number; readonly settledAt: string } | null
}

export interface ActiveRunState {
  readonly status: RunStatus
  readonly leadCount: number
  readonly counts: ItemCounts
  readonly found: number
  readonly chargeOn: ChargeOn
  readonly unitCost: number
  /** credits held for this run since dispatch */
  readonly reserved: number
  readonly dispatched: boolean
  readonly settled: boolean
  readonly record: RunRecord
}

export type RunState = { readonly status: "none" } | ActiveRunState

export const initialState: RunState = { status: "none" }

// --- commands ---------------------------------------------------------------

export interface RequestRun {
  readonly _tag: "RequestRun"
  readonly runId: string
  readonly workspaceId: string
  readonly enrichment: {
    readonly id: string
    readonly slug: string
    readonly version: number
    readonly snapshot: unknown
  }
  readonly chargeOn: ChargeOn
  readonly scope: RequestedScope
  readonly plan: Plan
  readonly writePolicy: WritePolicy
  readonly displayRequest: { readonly fieldId: string } | null
  readonly idempotency: { readonly key: string; readonly fingerprint: string } | null
  /** the decoded run input (defaults applied); empty or absent when the enrichment takes none */
  readonly input?: { readonly [key: string]: unknown } | undefined
  /** the dispatch's freshness window, when it asked for one (the plan says how many Leads it skipped) */
  readonly freshness?: { readonly maxAgeDays: number } | undefined
  /** a retry: the run whose failed items this one runs again */
  readonly retryOf?: string | undefined
  readonly now: string
}
export interface RecordDispatch {
  readonly _tag: "RecordDispatch"
  readonly engine: string
  readonly triggerRunId: string
  readonly now: string
}
/** The engine refused the hand-over: the run fails and its whole reservation is released. */
export interface FailDispatch {
  readonly _tag: "FailDispatch"
  readonly message: string
  readonly now: string
}
export interface StartBatch {
  readonly _tag: "StartBatch"
  readonly batch: string
  readonly ordinals: ReadonlyArray<number>
  readonly now: string
}
export interface RecordBatch {
  readonly _tag: "RecordBatch"
  readonly batch: string
  readonly outcomes: ReadonlyArray<ItemOutcome>
  readonly now: string
}
export interface CancelRun {
  readonly _tag: "CancelRun"
  readonly now: string
}
/** A run-level error during execution. */
export interface FailRun {
  readonly _tag: "FailRun"
  readonly message: string
  readonly now: string
}
/** Ends the run once every item is terminal: completes it (if still active) and settles its credits. */
export interface CompleteRun {
  readonly _tag: "CompleteRun"
  readonly now: string
}
/**
 * The run watchdog found a batch whose worker is gone (its lease expired before the batch was recorded):
 * its items still running, each with the number of times it was claimed. On an active run each goes back
 * to pending, or fails once it was claimed `maxAttempts` times (`abandonedItemFate`); on a cancelled or
 * failed run each is released (skipped for the run's reason), and the run settles after its last one.
 */
export interface AbandonBatch {
  readonly _tag: "AbandonBatch"
  readonly batch: string
  readonly items: ReadonlyArray<{ readonly ordinal: number; readonly attempts: number }>
  readonly maxAttempts: number
  readonly now: string
}
/**
 * The run ends now, whatever is in flight (an operator's `enrich run fail`, or the watchdog on a run no
 * worker executes any more): an active run fails, its pending items are skipped, every running item —
 * `running`, all of them, by batch — is released (skipped for the run's reason), and the run settles by its
 * `chargeOn`. Refused on a settled run.
 */
export interface EndRun {
  readonly _tag: "EndRun"
  readonly message: string
  readonly running: ReadonlyArray<{ readonly batch: string; readonly ordinals: ReadonlyArray<number> }>
  readonly now: string
}
export type RunCommand =
  | RequestRun
  | RecordDispatch
  | FailDispatch
  | StartBatch
  | RecordBatch
  | CancelRun
  | FailRun
  | CompleteRun
  | AbandonBatch
  | EndRun

export type RunRejectionReason =
  | "run_exists"
  | "run_not_found"
  | "run_not_awaiting_dispatch"
  | "run_not_active"
  | "run_not_cancellable"
  | "empty_batch"
  | "more_items_than_pending"
  | "more_items_than_running"
  | "items_not_terminal"
  | "run_settled"
  | "running_items_mismatch"

export class RunCommandRejected extends Schema.TaggedError<RunCommandRejected>()("RunCommandRejected", {
  command: Schema.String,
  status: Schema.String,
  reason: Schema.String
}) {}

const reject = (command: RunCommand, state: RunState, reason: RunRejectionReason) =>
  new RunCommandRejected({ command: command._tag, status: state.status, reason })

export const isTerminal = (status: RunState["status"]): boolean =>
  (terminalRunStatuses as ReadonlyArray<string>).includes(status)

/** Cancel is allowed from pending and running only. */
export const isCancellable = (status: RunState["status"]): boolean => status === "pending" || status === "running"

const allItemsTerminal = (counts: ItemCounts) => counts.pending === 0 && counts.running === 0

/**
 * What becomes of an item whose batch's worker was lost, on an active run: it is claimed again, unless it
 * was claimed `maxAttempts` times already (a Lead that kills its worker every time must not do so forever).
 */
export const abandonedItemFate = (attempts: number, maxAttempts: number): "requeue" | "fail" =>
  attempts >= Math.max(1, maxAttempts) ? "fail" : "requeue"

/**
 * What is left of a run once a holder's loop claims nothing: nothing (`settled`, also for a run unknown), pending
 * items to claim on a run still active (`claim`: a lost batch gave them back), items running in other holders'
 * batches (`wait`), or nothing in flight — the run is to complete and settle (`complete`).
 */
export const leftAfterClaims = (state: RunState): "settled" | "claim" | "wait" | "complete" => {
  if (state.status === "none" || state.settled) return "settled"
  if (state.counts.pending > 0 && !isTerminal(state.status)) return "claim"
  if (state.counts.running > 0) return "wait"
  return "complete"
}

/** Why an item that can no longer run is released: the reason of the run's own end. */
const releaseReason = (status: RunStatus): "run_cancelled" | "run_failed" =>
  status === "cancelled" ? "run_cancelled" : "run_failed"

/** Outcomes releasing `ordinals` (skipped for `reason`: never charged by `completed` or `found`). */
const released = (ordinals: ReadonlyArray<number>, reason: "run_cancelled" | "run_failed"): Array<ItemOutcome> =>
  ordinals.map((ordinal) => ({ ordinal, status: "skipped", skippedReason: reason, found: false }))

/** Settlement follows the completion of the last item: append it whenever the run ends with nothing in flight. */
const settlementIfDone = (state: ActiveRunState, now: string): ReadonlyArray<RunEvent> =>
  allItemsTerminal(state.counts) && !state.settled
    ? [
        {
          _tag: "CreditsSettled",
          ...settle(state.chargeOn, state.unitCost, state.reserved, {
            completed: state.counts.completed,
            found: state.found
          }),
          settledAt: now
        }
      ]
    : []

/** Decides, then folds the decision onto the state to append what follows from it (settlement). */
const andSettle = (state: ActiveRunState, events: ReadonlyArray<RunEvent>, now: string): ReadonlyArray<RunEvent> => {
  const after = events.reduce(evolve, state as RunState)
  return after.status === "none" || !isTerminal(after.status) ? events : [...events, ...settlementIfDone(after, now)]
}

// --- decide -----------------------------------------------------------------

export const decide = (command: RunCommand, state: RunState): ReadonlyArray<RunEvent> | RunCommandRejected => {
  if (command._tag === "RequestRun") {
    if (state.status !== "none") return reject(command, state, "run_exists")
    return [
      {
        _tag: "RunRequested",
        runId: command.runId,
        workspaceId: command.workspaceId,
        enrichment: command.enrichment,
        mode: "persisted",
        scope: command.scope,
        leadCount: command.plan.leadCount,
        output: { ...command.plan.output, writePolicy: command.writePolicy },
        cost: { ...command.plan.cost, chargeOn: command.chargeOn },
        displayRequest: command.displayRequest,
        idempotency: command.idempotency,
        ...(command.input === undefined || Object.keys(command.input).length === 0 ? {} : { input: command.input }),
        ...(command.freshness === undefined
          ? {}
          : { freshness: { maxAgeDays: command.freshness.maxAgeDays, skipped: command.plan.fresh } }),
        ...(command.retryOf === undefined ? {} : { retryOf: command.retryOf }),
        requestedAt: command.now
      }
    ]
  }
  if (state.status === "none") return reject(command, state, "run_not_found")
  switch (command._tag) {
    case "RecordDispatch": {
      if (state.dispatched) return []
      // whatever the status: an engine outside the database is called once the run is committed, so its task
      // may claim batches (or finish the run), or a cancel end it, before the hand-over is recorded
      return [
        { _tag: "RunDispatched", engine: command.engine, triggerRunId: command.triggerRunId, dispatchedAt: command.now }
      ]
    }
    case "FailDispatch": {
      if (state.status !== "pending" || state.dispatched) return reject(command, state, "run_not_awaiting_dispatch")
      // a failed hand-over ran nothing and charges nothing, whatever the chargeOn
      return [
        { _tag: "RunFailed", message: command.message, failedAt: command.now },
        { _tag: "CreditsSettled", ...settleFailedHandOver(state.reserved), settledAt: command.now }
      ]
    }
    case "StartBatch": {
      if (state.status !== "pending" && state.status !== "running") return reject(command, state, "run_not_active")
      if (command.ordinals.length === 0) return reject(command, state, "empty_batch")
      if (command.ordinals.length > state.counts.pending) return reject(command, state, "more_items_than_pending")
      const events: Array<RunEvent> = []
      if (state.status === "pending") events.push({ _tag: "RunStarted", startedAt: command.now })
      events.push({
        _tag: "ItemBatchStarted",
        batch: command.batch,
        ordinals: command.ordinals,
        startedAt: command.now
      })
      return events
    }
    case "RecordBatch": {
      if (command.outcomes.length === 0) return reject(command, state, "empty_batch")
      if (command.outcomes.length > state.counts.running) return reject(command, state, "more_items_than_running")
      return andSettle(
        state,
        [{ _tag: "ItemBatchRecorded", batch: command.batch, outcomes: command.outcomes, recordedAt: command.now }],
        command.now
      )
    }
    case "CancelRun": {
      if (!isCancellable(state.status)) return reject(command, state, "run_not_cancellable")
      return andSettle(state, [{ _tag: "RunCancelled", cancelledAt: command.now }], command.now)
    }
    case "FailRun": {
      if (isTerminal(state.status)) return reject(command, state, "run_not_active")
      return andSettle(state, [{ _tag: "RunFailed", message: command.message, failedAt: command.now }], command.now)
    }
    case "CompleteRun": {
      if (state.settled) return []
      if (!allItemsTerminal(state.counts)) return reject(command, state, "items_not_terminal")
      const events: Array<RunEvent> = isTerminal(state.status)
        ? []
        : [{ _tag: "RunCompleted", completedAt: command.now }]
      return andSettle(state, events, command.now)
    }
    case "AbandonBatch": {
      if (command.items.length === 0) return reject(command, state, "empty_batch")
      if (command.items.length > state.counts.running) return reject(command, state, "more_items_than_running")
      const ordinals = command.items.map((i) => i.ordinal)
      if (isTerminal(state.status)) {
        const outcomes = released(ordinals, releaseReason(state.status))
        return andSettle(
          state,
          [{ _tag: "ItemBatchRecorded", batch: command.batch, outcomes, recordedAt: command.now }],
          command.now
        )
      }
      const requeued = command.items.filter((i) => abandonedItemFate(i.attempts, command.maxAttempts) === "requeue")
      const failed = command.items.filter((i) => abandonedItemFate(i.attempts, command.maxAttempts) === "fail")
      const events: Array<RunEvent> = []
      if (requeued.length > 0) {
        events.push({
          _tag: "ItemBatchAbandoned",
          batch: command.batch,
          ordinals: requeued.map((i) => i.ordinal),
          abandonedAt: command.now
        })
      }
      if (failed.length > 0) {
        events.push({
          _tag: "ItemBatchRecorded",
          batch: command.batch,
          outcomes: failed.map((i) => ({ ordinal: i.ordinal, status: "failed", skippedReason: null, found: false })),
          recordedAt: command.now
        })
      }
      return events
    }
    case "EndRun": {
      if (state.settled) return reject(command, state, "run_settled")
      const listed = command.running.reduce((n, b) => n + b.ordinals.length, 0)
      if (listed !== state.counts.running) return reject(command, state, "running_items_mismatch")
      const events: Array<RunEvent> = isTerminal(state.status)
        ? []
        : [{ _tag: "RunFailed", message: command.message, failedAt: command.now }]
      const reason = isTerminal(state.status) ? releaseReason(state.status) : "run_failed"
      for (const batch of command.running) {
        if (batch.ordinals.length === 0) continue
        events.push({
          _tag: "ItemBatchRecorded",
          batch: batch.batch,
          outcomes: released(batch.ordinals, reason),
          recordedAt: command.now
        })
      }
      return andSettle(state, events, command.now)
    }
  }
}

// --- evolve -----------------------------------------------------------------

/** The run's record moved by an event at `at`. */
const recorded = (state: ActiveRunState, at: string, patch: Partial<RunRecord> = {}): RunRecord => ({
  ...state.record,
  ...patch,
  updatedAt: at
})

/** The run's counts as the event's item moves (ItemMoves.ts) leave them. */
const movedCounts = (state: ActiveRunState, event: RunEvent): ItemCounts =>
  itemMovesOf(event).reduce(moveCounts, state.counts)

/**
 * A live run stops (cancel or failure): its status is the stop's, it ended then, and its items move as the stop
 * moves them (pending ones skipped; running ones finish).
 */
const stop = (
  state: ActiveRunState,
  event: RunEvent,
  status: "cancelled" | "failed",
  at: string,
  failure: string | null
): ActiveRunState => ({
  ...state,
  status,
  counts: movedCounts(state, event),
  record: recorded(state, at, {
    endedAt: at,
    cancelledAt: status === "cancelled" ? at : null,
    failure
  })
})

export const evolve = (state: RunState, event: RunEvent): RunState => {
  if (event._tag === "RunRequested") {
    // the Leads with a fresh result are skipped as the run is requested (runs/Freshness.ts)
    const fresh = event.freshness?.skipped ?? 0
    return {
      status: "pending",
      leadCount: event.leadCount,
      counts: { pending: event.leadCount - fresh, running: 0, completed: 0, skipped: fresh, failed: 0 },
      found: 0,
      chargeOn: event.cost.chargeOn,
      unitCost: event.cost.unitCost,
      reserved: event.cost.required,
      dispatched: false,
      settled: false,
      record: {
        requestedAt: event.requestedAt,
        updatedAt: event.requestedAt,
        startedAt: null,
        endedAt: null,
        cancelledAt: null,
        failure: null,
        dispatch: null,
        settlement: null
      }
    }
  }
  if (state.status === "none") return state
  switch (event._tag) {
    case "RunDispatched":
      return {
        ...state,
        dispatched: true,
        record: recorded(state, event.dispatchedAt, {
          dispatch: { engine: event.engine, triggerRunId: event.triggerRunId, dispatchedAt: event.dispatchedAt }
        })
      }
    case "RunStarted":
      return state.status !== "pending"
        ? state
        : { ...state, status: "running", record: recorded(state, event.startedAt, { startedAt: event.startedAt }) }
    case "ItemBatchStarted":
      return { ...state, counts: movedCounts(state, event), record: recorded(state, event.startedAt) }
    case "ItemBatchRecorded":
      return {
        ...state,
        found: state.found + event.outcomes.filter((o) => o.status === "completed" && o.found).length,
        counts: movedCounts(state, event),
        record: recorded(state, event.recordedAt)
      }
    case "ItemBatchAbandoned":
      return { ...state, counts: movedCounts(state, event), record: recorded(state, event.abandonedAt) }
    case "RunCompleted":
      return isTerminal(state.status)
        ? state
        : { ...state, status: "completed", record: recorded(state, event.completedAt, { endedAt: event.completedAt }) }
    case "RunCancelled":
      return isTerminal(state.status) ? state : stop(state, event, "cancelled", event.cancelledAt, null)
    case "RunFailed":
      return isTerminal(state.status) ? state : stop(state, event, "failed", event.failedAt, event.message)
    case "CreditsSettled":
      return {
        ...state,
        settled: true,
        record: recorded(state, event.settledAt, {
          settlement: { captured: event.captured, released: event.released, settledAt: event.settledAt }
        })
      }
  }
}

export const fold = (events: Iterable<RunEvent>): RunState => {
  let state: RunState = initialState
  for (const event of events) state = evolve(state, event)
  return state
}

/**
 * Commands decided one after the other, each against the state the events of
 * the ones before it lead to: all their events, or the first refusal (then no
 * event of any of them).
 */
export const decideInOrder = (
  commands: ReadonlyArray<RunCommand>,
  state: RunState
): ReadonlyArray<RunEvent> | RunCommandRejected => {
  const events: Array<RunEvent> = []
  let current = state
  for (const command of commands) {
    const decided = decide(command, current)
    if (decided instanceof RunCommandRejected) return decided
    events.push(...decided)
    current = decided.reduce(evolve, current)
  }
  return events
}
