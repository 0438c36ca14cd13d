import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  balance,
  type CreditAccountState,
  type CreditCommand,
  type CreditEvent,
  type CreditRejection,
  decide,
  decodeCreditEvent,
  encodeCreditEvent,
  evolve,
  fold,
  InsufficientCredits,
  initialState,
  isRejection
} from "../src/credits/CreditAccount.ts"
import { DeciderSpecification } from "./DeciderSpecification.ts"

const spec = DeciderSpecification<CreditAccountState, CreditCommand, CreditEvent, CreditRejection>({
  decide,
  evolve,
  initialState,
  isRejection
})

const now = "2026-11-28T10:00:00.000Z"

const granted: ReadonlyArray<CreditEvent> = [{ _tag: "CreditsGranted", amount: 100, reason: "opening", grantedAt: now }]
const held: ReadonlyArray<CreditEvent> = [...granted, { _tag: "CreditsHeld", runId: "run-1", amount: 30, heldAt: now }]
const settled: ReadonlyArray<CreditEvent> = [
  ...held,
  { _tag: "CreditsCaptured", runId: "run-1", amount: 20, capturedAt: now },
  { _tag: "CreditsReleased", runId: "run-1", amount: 10, releasedAt: now }
]

const grant = (amount: number): CreditCommand => ({ _tag: "Grant", amount, reason: "top-up", now })
const adjust = (amount: number): CreditCommand => ({ _tag: "Adjust", amount, reason: "correction", now })
const reserve = (amount: number, runId = "run-1"): CreditCommand => ({ _tag: "Reserve", runId, amount, now })
const settle = (captured: number, released: number, runId = "run-1"): CreditCommand => ({
  _tag: "Settle",
  runId,
  captured,
  released,
  now
})
const releaseAll = (runId = "run-1"): CreditCommand => ({ _tag: "ReleaseAll", runId, now })

const totals = (s: CreditAccountState) => ({
  granted: s.granted,
  held: s.held,
  captured: s.captured,
  balance: balance(s),
  holds: Object.fromEntries(s.holds)
})

describe("CreditAccount decider: Grant", () => {
  it("when_credits_are_granted_to_a_new_account_then_the_balance_rises", () =>
    spec
      .given([])
      .when(grant(100))
      .thenState((s) => expect(totals(s)).toEqual({ granted: 100, held: 0, captured: 0, balance: 100, holds: {} })))

  it("when_credits_are_granted_then_a_grant_is_recorded", () =>
    spec
      .given(held)
      .when(grant(5))
      .thenEmits([{ _tag: "CreditsGranted", amount: 5, reason: "top-up", grantedAt: now }]))

  it("when_credits_are_granted_with_an_open_hold_then_the_hold_is_untouched", () =>
    spec
      .given(held)
      .when(grant(5))
      .thenState((s) =>
        expect(totals(s)).toEqual({ granted: 105, held: 30, captured: 0, balance: 75, holds: { "run-1": 30 } })
      ))

  it("when_credits_are_granted_after_a_settle_then_the_balance_rises", () =>
    spec
      .given(settled)
      .when(grant(5))
      .thenState((s) => expect(balance(s)).toBe(85)))

  it("when_a_grant_is_zero_then_it_is_rejected_amount_not_positive", () =>
    spec.given(granted).when(grant(0)).thenRejects("amount_not_positive"))

  it("when_a_grant_is_negative_then_it_is_rejected_amount_not_positive", () =>
    spec.given(granted).when(grant(-5)).thenRejects("amount_not_positive"))

  it("when_a_grant_is_fractional_then_it_is_rejected_amount_not_integer", () =>
    spec.given(granted).when(grant(1.5)).thenRejects("amount_not_integer"))

  it("when_a_grant_is_not_a_number_then_it_is_rejected_amount_not_integer", () =>
    spec.given(granted).when(grant(Number.NaN)).thenRejects("amount_not_integer"))
})

describe("CreditAccount decider: Adjust", () => {
  it("when_a_positive_adjustment_is_made_then_granted_rises", () =>
    spec
      .given(granted)
      .when(adjust(7))
      .thenEmits([{ _tag: "CreditsAdjusted", amount: 7, reason: "correction", adjustedAt: now }]))

  it("when_a_negative_adjustment_fits_the_balance_then_granted_falls", () =>
    spec
      .given(held)
      .when(adjust(-70))
      .thenState((s) =>
        expect(totals(s)).toEqual({ granted: 30, held: 30, captured: 0, balance: 0, holds: { "run-1": 30 } })
      ))

  it("when_a_negative_adjustment_exceeds_the_balance_with_an_open_hold_then_it_is_rejected", () =>
    spec.given(held).when(adjust(-71)).thenRejects("balance_would_be_negative"))

  it("when_a_negative_adjustment_exceeds_the_balance_after_a_settle_then_it_is_rejected", () =>
    spec.given(settled).when(adjust(-81)).thenRejects("balance_would_be_negative"))

  it("when_a_negative_adjustment_empties_the_balance_after_a_settle_then_the_balance_is_zero", () =>
    spec
      .given(settled)
      .when(adjust(-80))
      .thenState((s) => expect(totals(s)).toEqual({ granted: 20, held: 0, captured: 20, balance: 0, holds: {} })))

  it("when_a_negative_adjustment_is_made_to_a_new_account_then_it_is_rejected", () =>
    spec.given([]).when(adjust(-1)).thenRejects("balance_would_be_negative"))

  it("when_an_adjustment_is_zero_then_it_is_rejected_amount_zero", () =>
    spec.given(granted).when(adjust(0)).thenRejects("amount_zero"))

  it("when_an_adjustment_is_fractional_then_it_is_rejected_amount_not_integer", () =>
    spec.given(granted).when(adjust(-0.5)).thenRejects("amount_not_integer"))
})

describe("CreditAccount decider: Reserve", () => {
  it("when_a_run_reserves_within_the_balance_then_a_hold_opens", () =>
    spec
      .given(granted)
      .when(reserve(30))
      .thenEmits([{ _tag: "CreditsHeld", runId: "run-1", amount: 30, heldAt: now }]))

  it("when_a_run_reserves_the_whole_balance_then_the_balance_is_zero", () =>
    spec
      .given(granted)
      .when(reserve(100))
      .thenState((s) =>
        expect(totals(s)).toEqual({ granted: 100, held: 100, captured: 0, balance: 0, holds: { "run-1": 100 } })
      ))

  it("when_a_run_reserves_zero_then_an_empty_hold_opens", () =>
    spec
      .given([])
      .when(reserve(0))
      .thenState((s) => expect(Object.fromEntries(s.holds)).toEqual({ "run-1": 0 })))

  it("when_a_run_reserves_more_than_the_balance_then_it_is_rejected_with_required_and_balance", () => {
    const outcome = decide(reserve(71, "run-2"), fold(held))
    expect(outcome).toBeInstanceOf(InsufficientCredits)
    expect(outcome).toMatchObject({ reason: "insufficient_credits", required: 71, balance: 70 })
  })

  it("when_a_new_account_reserves_then_it_is_rejected_insufficient_credits", () =>
    spec.given([]).when(reserve(1)).thenRejects("insufficient_credits"))

  it("when_another_run_reserves_while_a_hold_is_open_then_both_holds_are_open", () =>
    spec
      .given(held)
      .when(reserve(20, "run-2"))
      .thenState((s) =>
        expect(totals(s)).toEqual({
          granted: 100,
          held: 50,
          captured: 0,
          balance: 50,
          holds: { "run-1": 30, "run-2": 20 }
        })
      ))

  it("when_a_run_reserves_twice_then_it_is_rejected_hold_exists", () =>
    spec.given(held).when(reserve(1)).thenRejects("hold_exists"))

  it("when_a_settled_run_reserves_again_then_a_new_hold_opens", () =>
    spec
      .given(settled)
      .when(reserve(5))
      .thenEmits([{ _tag: "CreditsHeld", runId: "run-1", amount: 5, heldAt: now }]))

  it("when_a_reservation_is_negative_then_it_is_rejected_amount_negative", () =>
    spec.given(granted).when(reserve(-1)).thenRejects("amount_negative"))

  it("when_a_reservation_is_fractional_then_it_is_rejected_amount_not_integer", () =>
    spec.given(granted).when(reserve(2.5)).thenRejects("amount_not_integer"))
})

describe("CreditAccount decider: Settle", () => {
  it("when_a_hold_is_settled_then_it_captures_then_releases", () =>
    spec
      .given(held)
      .when(settle(20, 10))
      .thenEmits([
        { _tag: "CreditsCaptured", runId: "run-1", amount: 20, capturedAt: now },
        { _tag: "CreditsReleased", runId: "run-1", amount: 10, releasedAt: now }
      ]))

  it("when_a_hold_is_settled_then_the_hold_closes_and_released_credits_return", () =>
    spec
      .given(held)
      .when(settle(20, 10))
      .thenState((s) => expect(totals(s)).toEqual({ granted: 100, held: 0, captured: 20, balance: 80, holds: {} })))

  it("when_a_hold_is_captured_in_full_then_only_a_capture_is_recorded", () =>
    spec
      .given(held)
      .when(settle(30, 0))
      .thenEmits([{ _tag: "CreditsCaptured", runId: "run-1", amount: 30, capturedAt: now }]))

  it("when_a_hold_is_captured_in_full_then_the_hold_closes", () =>
    spec
      .given(held)
      .when(settle(30, 0))
      .thenState((s) => expect(totals(s)).toEqual({ granted: 100, held: 0, captured: 30, balance: 70, holds: {} })))

  it("when_nothing_of_a_hold_is_captured_then_only_a_release_is_recorded", () =>
    spec
      .given(held)
      .when(settle(0, 30))
      .thenEmits([{ _tag: "CreditsReleased", runId: "run-1", amount: 30, releasedAt: now }]))

  it("when_an_empty_hold_is_settled_then_a_release_of_zero_closes_it", () =>
    spec
      .given([{ _tag: "CreditsHeld", runId: "run-1", amount: 0, heldAt: now }])
      .when(settle(0, 0))
      .thenEmits([{ _tag: "CreditsReleased", runId: "run-1", amount: 0, releasedAt: now }]))

  it("when_an_empty_hold_is_settled_then_no_hold_remains", () =>
    spec
      .given([{ _tag: "CreditsHeld", runId: "run-1", amount: 0, heldAt: now }])
      .when(settle(0, 0))
      .thenState((s) => expect(s.holds.size).toBe(0)))

  it("when_one_of_two_holds_is_settled_then_the_other_stays_open", () =>
    spec
      .given([...held, { _tag: "CreditsHeld", runId: "run-2", amount: 20, heldAt: now }])
      .when(settle(5, 15, "run-2"))
      .thenState((s) =>
        expect(totals(s)).toEqual({ granted: 100, held: 30, captured: 5, balance: 65, holds: { "run-1": 30 } })
      ))

  it("when_a_run_without_a_hold_is_settled_then_it_is_rejected_no_hold", () =>
    spec.given(granted).when(settle(0, 0)).thenRejects("no_hold"))

  it("when_a_settled_run_is_settled_again_then_it_is_rejected_no_hold", () =>
    spec.given(settled).when(settle(20, 10)).thenRejects("no_hold"))

  it("when_captured_and_released_fall_short_of_the_hold_then_it_is_rejected_settlement_mismatch", () =>
    spec.given(held).when(settle(20, 9)).thenRejects("settlement_mismatch"))

  it("when_captured_and_released_exceed_the_hold_then_it_is_rejected_settlement_mismatch", () =>
    spec.given(held).when(settle(30, 1)).thenRejects("settlement_mismatch"))

  it("when_a_settlement_part_is_negative_then_it_is_rejected_amount_negative", () =>
    spec.given(held).when(settle(40, -10)).thenRejects("amount_negative"))

  it("when_a_settlement_part_is_fractional_then_it_is_rejected_amount_not_integer", () =>
    spec.given(held).when(settle(20.5, 9.5)).thenRejects("amount_not_integer"))
})

describe("CreditAccount decider: ReleaseAll", () => {
  it("when_a_dispatch_fails_then_the_whole_hold_is_released", () =>
    spec
      .given(held)
      .when(releaseAll())
      .thenEmits([{ _tag: "CreditsReleased", runId: "run-1", amount: 30, releasedAt: now }]))

  it("when_a_dispatch_fails_then_the_balance_is_restored", () =>
    spec
      .given(held)
      .when(releaseAll())
      .thenState((s) => expect(totals(s)).toEqual({ granted: 100, held: 0, captured: 0, balance: 100, holds: {} })))

  it("when_an_empty_hold_is_released_then_a_release_of_zero_closes_it", () =>
    spec
      .given([{ _tag: "CreditsHeld", runId: "run-1", amount: 0, heldAt: now }])
      .when(releaseAll())
      .thenEmits([{ _tag: "CreditsReleased", runId: "run-1", amount: 0, releasedAt: now }]))

  it("when_a_run_without_a_hold_is_released_then_it_is_rejected_no_hold", () =>
    spec.given(granted).when(releaseAll()).thenRejects("no_hold"))

  it("when_a_settled_run_is_released_then_it_is_rejected_no_hold", () =>
    spec.given(settled).when(releaseAll()).thenRejects("no_hold"))

  it("when_a_released_run_is_released_again_then_it_is_rejected_no_hold", () =>
    spec
      .given([...held, { _tag: "CreditsReleased", runId: "run-1", amount: 30, releasedAt: now }])
      .when(releaseAll())
      .thenRejects("no_hold"))
})

describe("CreditAccount events (unit)", () => {
  it("when_every_event_is_stored_then_it_reads_back_unchanged", async () => {
    const events: ReadonlyArray<CreditEvent> = [
      ...settled,
      { _tag: "CreditsAdjusted", amount: -15, reason: "refund reversal", adjustedAt: now }
    ]
    for (const event of events) {
      const stored = encodeCreditEvent(event)
      expect(stored.version).toBe(1)
      const decoded = await Effect.runPromise(
        decodeCreditEvent(stored.type, stored.version, JSON.parse(JSON.stringify(stored.data)))
      )
      expect(decoded).toEqual(event)
    }
  })

  it("when_an_unknown_event_version_is_read_then_it_is_a_typed_error", async () => {
    const error = await Effect.runPromise(
      Effect.flip(decodeCreditEvent("CreditsGranted", 99, { amount: 1, reason: "x", grantedAt: now }))
    )
    expect(error._tag).toBe("UnknownEventVersion")
  })

  it("when_an_unknown_event_type_is_read_then_it_is_a_typed_error", async () => {
    const error = await Effect.runPromise(Effect.flip(decodeCreditEvent("CreditsMinted", 1, { amount: 1 })))
    expect(error._tag).toBe("UnknownEventVersion")
  })

  it("when_a_stored_event_is_malformed_then_decoding_fails", async () => {
    const exit = await Effect.runPromiseExit(
      decodeCreditEvent("CreditsHeld", 1, { runId: "run-1", amount: 1.5, heldAt: now })
    )
    expect(exit._tag).toBe("Failure")
  })
})

// --- properties ---------------------------------------------------------------

const scale = (() => {
  const raw = Number(process.env["ENRICH_TEST_SCALE"] ?? "1")
  return Number.isFinite(raw) && raw > 0 ? raw : 1
})()
const numRuns = Math.max(1, Math.round(200 * scale))

const runIds = ["run-a", "run-b", "run-c", "run-d"] as const

/** A command intent; Settle picks its split from the hold open when it is applied. */
type Step =
  | { readonly _tag: "Grant"; readonly amount: number }
  | { readonly _tag: "Adjust"; readonly amount: number }
  | { readonly _tag: "Reserve"; readonly runId: string; readonly amount: number }
  | { readonly _tag: "Settle"; readonly runId: string; readonly capturedShare: number; readonly mismatch: number }
  | { readonly _tag: "ReleaseAll"; readonly runId: string }

const runId = fc.constantFrom(...runIds)
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ _tag: fc.constant("Grant" as const), amount: fc.integer({ min: -5, max: 200 }) }),
  fc.record({ _tag: fc.constant("Adjust" as const), amount: fc.integer({ min: -150, max: 150 }) }),
  fc.record({ _tag: fc.constant("Reserve" as const), runId, amount: fc.integer({ min: -2, max: 120 }) }),
  fc.record({
    _tag: fc.constant("Settle" as const),
    runId,
    capturedShare: fc.double({ min: 0, max: 1, noNaN: true }),
    // mostly exact settlements, sometimes off by a little (must be rejected)
    mismatch: fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0), fc.integer({ min: -3, max: 3 }))
  }),
  fc.record({ _tag: fc.constant("ReleaseAll" as const), runId })
)

const toCommand = (s: Step, state: CreditAccountState, at: string): CreditCommand => {
  switch (s._tag) {
    case "Grant":
      return { _tag: "Grant", amount: s.amount, reason: "top-up", now: at }
    case "Adjust":
      return { _tag: "Adjust", amount: s.amount, reason: "correction", now: at }
    case "Reserve":
      return { _tag: "Reserve", runId: s.runId, amount: s.amount, now: at }
    case "Settle": {
      const hold = state.holds.get(s.runId) ?? 0
      const captured = Math.min(hold, Math.floor(hold * s.capturedShare))
      return { _tag: "Settle", runId: s.runId, captured, released: hold - captured + s.mismatch, now: at }
    }
    case "ReleaseAll":
      return { _tag: "ReleaseAll", runId: s.runId, now: at }
  }
}

interface RunLedger {
  reserved: number
  captured: number
  released: number
}

describe("CreditAccount invariants (property)", () => {
  it("random_command_sequences_keep_every_credit_invariant_and_replay_to_the_same_state", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        let state = initialState
        const emitted: Array<CreditEvent> = []
        const ledgers = new Map<string, RunLedger>()
        steps.forEach((s, i) => {
          const command = toCommand(s, state, `2026-11-28T10:00:${String(i % 60).padStart(2, "0")}.000Z`)
          const outcome = decide(command, state)
          if (isRejection(outcome)) {
            expect(outcome.reason).toBeTypeOf("string")
            return
          }
          for (const event of outcome) {
            state = evolve(state, event)
            emitted.push(event)
            if (event._tag === "CreditsHeld" || event._tag === "CreditsCaptured" || event._tag === "CreditsReleased") {
              const ledger = ledgers.get(event.runId) ?? { reserved: 0, captured: 0, released: 0 }
              if (event._tag === "CreditsHeld") ledger.reserved += event.amount
              if (event._tag === "CreditsCaptured") ledger.captured += event.amount
              if (event._tag === "CreditsReleased") ledger.released += event.amount
              ledgers.set(event.runId, ledger)
            }
          }
          const sumOfHolds = [...state.holds.values()].reduce((a, b) => a + b, 0)
          expect(balance(state)).toBeGreaterThanOrEqual(0)
          expect(state.held).toBeGreaterThanOrEqual(0)
          expect(state.captured).toBeGreaterThanOrEqual(0)
          expect(state.granted).toBe(balance(state) + state.held + state.captured)
          expect(state.held).toBe(sumOfHolds)
          for (const amount of state.holds.values()) expect(amount).toBeGreaterThanOrEqual(0)
          for (const [id, ledger] of ledgers) {
            const open = state.holds.get(id)
            if (open === undefined) expect(ledger.reserved).toBe(ledger.captured + ledger.released)
            else expect(ledger.reserved).toBe(ledger.captured + ledger.released + open)
          }
          expect(fold(emitted)).toEqual(state)
        })
        expect(fold(emitted)).toEqual(state)
      }),
      { numRuns }
    )
  })

  it("every_emitted_event_survives_encode_json_decode_unchanged", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        let state = initialState
        steps.forEach((s, i) => {
          const outcome = decide(toCommand(s, state, `2026-11-28T10:${String(i % 60).padStart(2, "0")}:00.000Z`), state)
          if (isRejection(outcome)) return
          for (const event of outcome) {
            const stored = JSON.parse(JSON.stringify(encodeCreditEvent(event)))
            const decoded = Effect.runSync(decodeCreditEvent(stored.type, stored.version, stored.data))
            expect(decoded).toEqual(event)
            state = evolve(state, event)
          }
        })
      }),
      { numRuns }
    )
  })

  it("a_reservation_is_accepted_only_within_the_balance", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        let state = initialState
        steps.forEach((s, i) => {
          const command = toCommand(s, state, `t${i}`)
          const outcome = decide(command, state)
          if (isRejection(outcome)) {
            if (outcome instanceof InsufficientCredits && command._tag === "Reserve") {
              expect(command.amount).toBeGreaterThan(balance(state))
              expect(outcome.required).toBe(command.amount)
              expect(outcome.balance).toBe(balance(state))
            }
            return
          }
          if (command._tag === "Reserve") expect(command.amount).toBeLessThanOrEqual(balance(state))
          state = outcome.reduce(evolve, state)
        })
      }),
      { numRuns }
    )
  })
})
