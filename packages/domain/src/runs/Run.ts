/**
 * The enrichment run aggregate as a decider: `decide(command, state)` returns
 * the events a command produces (or a typed refusal), `evolve(state, event)`
 * folds them, `initialState` is a run that does not exist yet. Pure: time and
 * ids arrive inside commands.
 */
import { Schema } from "effect"
import type { ChargeOn } from "../catalog/Enrichment.ts"
import { settle } from "../credits/CreditPolicy.ts"
import type { Plan } from "./Planner.ts"
import type { RequestedScope } from "./Scope.ts"
import type { RunEvent, WritePolicy } from "./RunEvents.ts"

export type RunStatus = "pending" | "running" | "completed" | "failed" | "cancelled"
export const terminalRunStatuses: ReadonlyArray<RunStatus> = ["completed", "failed", "cancelled"]

export interface ItemCounts {
  readonly pending: number
  readonly running: number
  readonly completed: number
  readonly skipped: number
  readonly failed: number
}

export type RunState =
  | { readonly status: "none" }
  | {
      readonly status: RunStatus
      readonly leadCount: number
      readonly counts: ItemCounts
      readonly found: number
      readonly chargeOn: ChargeOn
      readonly unitCost: number
      readonly reserved: number
      readonly dispatched: boolean
      readonly settled: boolean
    }

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
  readonly now: string
}
export interface RecordDispatch {
  readonly _tag: "RecordDispatch"
  readonly engine: string
  readonly triggerRunId: string
  readonly now: string
}
export interface StartBatch {
  readonly _tag: "StartBatch"
  readonly batch: string
  readonly count: number
  readonly now: string
}
export interface RecordBatch {
  readonly _tag: "RecordBatch"
  readonly batch: string
  readonly completed: number
  readonly failed: number
  readonly skipped: number
  readonly found: number
  readonly now: string
}
export interface CompleteRun {
  readonly _tag: "CompleteRun"
  readonly now: string
}
/** The engine refused the hand-over: the run fails and its whole reservation is released. */
export interface FailDispatch {
  readonly _tag: "FailDispatch"
  readonly message: string
  readonly now: string
}
export type RunCommand = RequestRun | RecordDispatch | FailDispatch | StartBatch | RecordBatch | CompleteRun

export class RunCommandRejected extends Schema.TaggedError<RunCommandRejected>()("RunCommandRejected", {
  command: Schema.String,
  status: Schema.String,
  reason: Schema.String
}) {}

const reject = (command: RunCommand, state: RunState, reason: string) =>
  new RunCommandRejected({ command: command._tag, status: state.status, reason })

export const isTerminal = (status: RunState["status"]): boolean =>
  (terminalRunStatuses as ReadonlyArray<string>).includes(status)

const allItemsTerminal = (counts: ItemCounts) => counts.pending === 0 && counts.running === 0

// --- decide -----------------------------------------------------------------

export const decide = (command: RunCommand, state: RunState): ReadonlyArray<RunEvent> | RunCommandRejected => {
  switch (command._tag) {
    case "RequestRun": {
      if (state.status !== "none") return reject(command, state, "run_exists")
      const events: Array<RunEvent> = [
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
          requestedAt: command.now
        }
      ]
      if (command.plan.cost.required > 0) {
        events.push({ _tag: "CreditsReserved", amount: command.plan.cost.required, reservedAt: command.now })
      }
      return events
    }
    case "RecordDispatch": {
      if (state.status === "none") return reject(command, state, "run_not_found")
      if (state.dispatched) return []
      return [
        { _tag: "RunDispatched", engine: command.engine, triggerRunId: command.triggerRunId, dispatchedAt: command.now }
      ]
    }
    case "FailDispatch": {
      if (state.status !== "pending" || state.dispatched) return reject(command, state, "run_not_awaiting_dispatch")
      return [
        { _tag: "RunFailed", message: command.message, failedAt: command.now },
        { _tag: "CreditsSettled", captured: 0, released: state.reserved, settledAt: command.now }
      ]
    }
    case "StartBatch": {
      if (state.status !== "pending" && state.status !== "running") return reject(command, state, "run_not_active")
      if (command.count > state.counts.pending) return reject(command, state, "more_items_than_pending")
      const events: Array<RunEvent> = []
      if (state.status === "pending") events.push({ _tag: "RunStarted", startedAt: command.now })
      events.push({ _tag: "ItemBatchStarted", batch: command.batch, count: command.count, startedAt: command.now })
      return events
    }
    case "RecordBatch": {
      if (state.status === "none") return reject(command, state, "run_not_found")
      const total = command.completed + command.failed + command.skipped
      if (total > state.counts.running) return reject(command, state, "more_items_than_running")
      return [
        {
          _tag: "ItemBatchRecorded",
          batch: command.batch,
          completed: command.completed,
          failed: command.failed,
          skipped: command.skipped,
          found: command.found,
          recordedAt: command.now
        }
      ]
    }
    case "CompleteRun": {
      if (state.status === "none") return reject(command, state, "run_not_found")
      if (state.settled) return []
      if (!allItemsTerminal(state.counts)) return reject(command, state, "items_not_terminal")
      const events: Array<RunEvent> = []
      if (!isTerminal(state.status)) events.push({ _tag: "RunCompleted", completedAt: command.now })
      const settlement = settle(state.chargeOn, state.unitCost, state.reserved, {
        completed: state.counts.completed,
        found: state.found
      })
      events.push({ _tag: "CreditsSettled", ...settlement, settledAt: command.now })
      return events
    }
  }
}

// --- evolve -----------------------------------------------------------------

export const evolve = (state: RunState, event: RunEvent): RunState => {
  if (event._tag === "RunRequested") {
    return {
      status: "pending",
      leadCount: event.leadCount,
      counts: { pending: event.leadCount, running: 0, completed: 0, skipped: 0, failed: 0 },
      found: 0,
      chargeOn: event.cost.chargeOn,
      unitCost: event.cost.unitCost,
      reserved: 0,
      dispatched: false,
      settled: false
    }
  }
  if (state.status === "none") return state
  switch (event._tag) {
    case "CreditsReserved":
      return { ...state, reserved: state.reserved + event.amount }
    case "RunDispatched":
      return { ...state, dispatched: true }
    case "RunStarted":
      return isTerminal(state.status) ? state : { ...state, status: "running" }
    case "ItemBatchStarted":
      return {
        ...state,
        counts: {
          ...state.counts,
          pending: state.counts.pending - event.count,
          running: state.counts.running + event.count
        }
      }
    case "ItemBatchRecorded": {
      const done = event.completed + event.failed + event.skipped
      return {
        ...state,
        found: state.found + event.found,
        counts: {
          ...state.counts,
          running: state.counts.running - done,
          completed: state.counts.completed + event.completed,
          failed: state.counts.failed + event.failed,
          skipped: state.counts.skipped + event.skipped
        }
      }
    }
    case "RunCompleted":
      return isTerminal(state.status) ? state : { ...state, status: "completed" }
    case "RunFailed":
      return isTerminal(state.status) ? state : { ...state, status: "failed" }
    case "CreditsSettled":
      return { ...state, settled: true }
  }
}

export const fold = (events: Iterable<RunEvent>): RunState => {
  let state: RunState = initialState
  for (const event of events) state = evolve(state, event)
  return state
}
