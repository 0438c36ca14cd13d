/**
 * A workspace's credit account as a decider: `decide(command, state)` returns
 * the events a command produces (or a typed refusal), `evolve(state, event)`
 * folds them, `initialState` is an account nothing was ever granted to. Pure:
 * time and run ids arrive inside commands; amounts are integers.
 *
 * The contract's rules (CONTRACT.md, "Credits"):
 * - `balance = granted − held − captured`, and `balance ≥ 0` always;
 * - per workspace `granted = balance + held + captured`;
 * - per settled run `reserved = captured + released`.
 *
 * Each run has at most one open hold. Settling a hold emits `CreditsCaptured`
 * then `CreditsReleased`, each only when its amount is positive (ledger
 * entries carry positive amounts); a hold of 0 is closed by a single
 * `CreditsReleased` of 0. Captures and releases draw the hold down, and the
 * hold closes when nothing of it remains. Once closed, the run id has no hold:
 * a later `Reserve` for it opens a new one (run ids are unique per run and the
 * Run aggregate refuses a second request, `run_exists`).
 */
import { Schema } from "effect"
import { versionedEvents } from "../events/VersionedEvents.ts"

// --- events -----------------------------------------------------------------

/** Credits granted to the workspace (a top-up or the opening grant). */
export const CreditsGranted = Schema.TaggedStruct("CreditsGranted", {
  amount: Schema.Int,
  reason: Schema.String,
  grantedAt: Schema.String
})

/** An operator's correction of `granted`: signed, never taking the balance below zero. */
export const CreditsAdjusted = Schema.TaggedStruct("CreditsAdjusted", {
  amount: Schema.Int,
  reason: Schema.String,
  adjustedAt: Schema.String
})

/** A run's reservation opened (the balance drops by `amount` at once). */
export const CreditsHeld = Schema.TaggedStruct("CreditsHeld", {
  runId: Schema.String,
  amount: Schema.Int,
  heldAt: Schema.String
})

/** Part (or all) of a run's hold was charged. */
export const CreditsCaptured = Schema.TaggedStruct("CreditsCaptured", {
  runId: Schema.String,
  amount: Schema.Int,
  capturedAt: Schema.String
})

/** Part (or all) of a run's hold went back to the balance. */
export const CreditsReleased = Schema.TaggedStruct("CreditsReleased", {
  runId: Schema.String,
  amount: Schema.Int,
  releasedAt: Schema.String
})

export const CreditEvent = Schema.Union([
  CreditsGranted,
  CreditsAdjusted,
  CreditsHeld,
  CreditsCaptured,
  CreditsReleased
])
export type CreditEvent = typeof CreditEvent.Type
export type CreditEventType = CreditEvent["_tag"]

/** The current schema version of each event type. */
export const creditEventVersion: { readonly [K in CreditEventType]: number } = {
  CreditsGranted: 1,
  CreditsAdjusted: 1,
  CreditsHeld: 1,
  CreditsCaptured: 1,
  CreditsReleased: 1
}

/**
 * Upcasters from an older stored version to the next one, keyed `Type@version`.
 * None exist yet: version 1 is the first of every event. Add one here when an
 * event's schema changes, and bump `creditEventVersion`.
 */
const creditEvents = versionedEvents({ schema: CreditEvent, versions: creditEventVersion, upcasters: {} })

/** Reads a stored credit event of any known version as the current CreditEvent. */
export const decodeCreditEvent = creditEvents.decode

/** The stored form of a credit event: type, version and JSON data without the tag. */
export const encodeCreditEvent = creditEvents.encode

// --- state ------------------------------------------------------------------

export interface CreditAccountState {
  readonly granted: number
  readonly held: number
  readonly captured: number
  /** The open reservation of each run: what is still held for it. */
  readonly holds: ReadonlyMap<string, number>
}

export const initialState: CreditAccountState = { granted: 0, held: 0, captured: 0, holds: new Map() }

/** What can be spent now: `granted − held − captured`. */
export const balance = (state: CreditAccountState): number => state.granted - state.held - state.captured

// --- commands ---------------------------------------------------------------

export interface Grant {
  readonly _tag: "Grant"
  /** A positive integer. */
  readonly amount: number
  readonly reason: string
  readonly now: string
}
/** An operator's signed correction: negative lowers `granted`, never below a zero balance. */
export interface Adjust {
  readonly _tag: "Adjust"
  /** A non-zero integer. */
  readonly amount: number
  readonly reason: string
  readonly now: string
}
/** A dispatch reserves what the run may cost. */
export interface Reserve {
  readonly _tag: "Reserve"
  readonly runId: string
  /** A non-negative integer. */
  readonly amount: number
  readonly now: string
}
/** A run ended: its hold splits into what is charged and what goes back. */
export interface Settle {
  readonly _tag: "Settle"
  readonly runId: string
  readonly captured: number
  readonly released: number
  readonly now: string
}
/** The engine refused the hand-over: the whole hold goes back. */
export interface ReleaseAll {
  readonly _tag: "ReleaseAll"
  readonly runId: string
  readonly now: string
}
export type CreditCommand = Grant | Adjust | Reserve | Settle | ReleaseAll

// --- rejections -------------------------------------------------------------

export type CreditRejectionReason =
  | "amount_not_integer"
  | "amount_not_positive"
  | "amount_negative"
  | "amount_zero"
  | "balance_would_be_negative"
  | "hold_exists"
  | "no_hold"
  | "settlement_mismatch"

export class CreditCommandRejected extends Schema.TaggedError<CreditCommandRejected>()("CreditCommandRejected", {
  command: Schema.String,
  reason: Schema.String
}) {}

/**
 * A reservation larger than the balance (the API's 402); or one the workspace could pay but the API key that
 * asked may not, past its monthly limit (`key_credit_limit`, credits/KeyBudget.ts), with what the key may
 * still use this month (`keyRemaining`).
 */
export class InsufficientCredits extends Schema.TaggedError<InsufficientCredits>()("InsufficientCredits", {
  command: Schema.String,
  reason: Schema.Literals(["insufficient_credits", "key_credit_limit"]),
  required: Schema.Int,
  balance: Schema.Int,
  keyRemaining: Schema.optionalKey(Schema.Int)
}) {}

export type CreditRejection = CreditCommandRejected | InsufficientCredits

export const isRejection = (outcome: ReadonlyArray<CreditEvent> | CreditRejection): outcome is CreditRejection =>
  outcome instanceof CreditCommandRejected || outcome instanceof InsufficientCredits

const reject = (command: CreditCommand, reason: CreditRejectionReason) =>
  new CreditCommandRejected({ command: command._tag, reason })

const isInteger = (n: number): boolean => Number.isSafeInteger(n)

// --- decide -----------------------------------------------------------------

export const decide = (
  command: CreditCommand,
  state: CreditAccountState
): ReadonlyArray<CreditEvent> | CreditRejection => {
  switch (command._tag) {
    case "Grant": {
      if (!isInteger(command.amount)) return reject(command, "amount_not_integer")
      if (command.amount <= 0) return reject(command, "amount_not_positive")
      return [{ _tag: "CreditsGranted", amount: command.amount, reason: command.reason, grantedAt: command.now }]
    }
    case "Adjust": {
      if (!isInteger(command.amount)) return reject(command, "amount_not_integer")
      if (command.amount === 0) return reject(command, "amount_zero")
      if (balance(state) + command.amount < 0) return reject(command, "balance_would_be_negative")
      return [{ _tag: "CreditsAdjusted", amount: command.amount, reason: command.reason, adjustedAt: command.now }]
    }
    case "Reserve": {
      if (!isInteger(command.amount)) return reject(command, "amount_not_integer")
      if (command.amount < 0) return reject(command, "amount_negative")
      if (state.holds.has(command.runId)) return reject(command, "hold_exists")
      const available = balance(state)
      if (command.amount > available) {
        return new InsufficientCredits({
          command: command._tag,
          reason: "insufficient_credits",
          required: command.amount,
          balance: available
        })
      }
      return [{ _tag: "CreditsHeld", runId: command.runId, amount: command.amount, heldAt: command.now }]
    }
    case "Settle": {
      if (!isInteger(command.captured) || !isInteger(command.released)) return reject(command, "amount_not_integer")
      if (command.captured < 0 || command.released < 0) return reject(command, "amount_negative")
      const hold = state.holds.get(command.runId)
      if (hold === undefined) return reject(command, "no_hold")
      if (command.captured + command.released !== hold) return reject(command, "settlement_mismatch")
      return closeHold(command.runId, command.captured, command.released, command.now)
    }
    case "ReleaseAll": {
      const hold = state.holds.get(command.runId)
      if (hold === undefined) return reject(command, "no_hold")
      return closeHold(command.runId, 0, hold, command.now)
    }
  }
}

/** Captured then released, each only when positive; a hold of 0 closes with a release of 0. */
const closeHold = (runId: string, captured: number, released: number, now: string): ReadonlyArray<CreditEvent> => {
  const events: Array<CreditEvent> = []
  if (captured > 0) events.push({ _tag: "CreditsCaptured", runId, amount: captured, capturedAt: now })
  if (released > 0 || captured === 0) events.push({ _tag: "CreditsReleased", runId, amount: released, releasedAt: now })
  return events
}

// --- evolve -----------------------------------------------------------------

/** Draws `amount` from a run's hold; the hold closes when nothing of it remains. */
const drawHold = (holds: ReadonlyMap<string, number>, runId: string, amount: number): ReadonlyMap<string, number> => {
  const current = holds.get(runId)
  if (current === undefined) return holds
  const next = new Map(holds)
  const remaining = current - amount
  if (remaining <= 0) next.delete(runId)
  else next.set(runId, remaining)
  return next
}

export const evolve = (state: CreditAccountState, event: CreditEvent): CreditAccountState => {
  switch (event._tag) {
    case "CreditsGranted":
    case "CreditsAdjusted":
      return { ...state, granted: state.granted + event.amount }
    case "CreditsHeld": {
      const holds = new Map(state.holds)
      holds.set(event.runId, (holds.get(event.runId) ?? 0) + event.amount)
      return { ...state, held: state.held + event.amount, holds }
    }
    case "CreditsCaptured":
      return {
        ...state,
        held: state.held - event.amount,
        captured: state.captured + event.amount,
        holds: drawHold(state.holds, event.runId, event.amount)
      }
    case "CreditsReleased":
      return { ...state, held: state.held - event.amount, holds: drawHold(state.holds, event.runId, event.amount) }
  }
}

export const fold = (events: Iterable<CreditEvent>): CreditAccountState => {
  let state: CreditAccountState = initialState
  for (const event of events) state = evolve(state, event)
  return state
}
