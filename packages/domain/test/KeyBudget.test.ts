import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  budgetMonth,
  type KeyBudgetState,
  KeyLimitReached,
  keyRemaining,
  releaseToBudget,
  reserveFromBudget
} from "../src/credits/KeyBudget.ts"

describe("KeyBudget: a key's monthly credit limit", () => {
  it("given_room_when_a_run_reserves_then_the_month_uses_it", () => {
    expect(reserveFromBudget({ limit: 37, used: 30 }, 7)).toEqual({ limit: 37, used: 37 })
  })

  it("given_less_room_than_asked_when_a_run_reserves_then_it_is_refused_naming_what_remains", () => {
    expect(reserveFromBudget({ limit: 37, used: 36 }, 2)).toEqual(new KeyLimitReached({ required: 2, keyRemaining: 1 }))
    expect(reserveFromBudget({ limit: 0, used: 0 }, 1)).toEqual(new KeyLimitReached({ required: 1, keyRemaining: 0 }))
  })

  it("given_a_limit_lowered_below_what_is_in_use_then_nothing_remains_and_a_reservation_of_0_still_fits", () => {
    expect(keyRemaining({ limit: 5, used: 9 })).toBe(0)
    expect(reserveFromBudget({ limit: 5, used: 9 }, 0)).toEqual({ limit: 5, used: 9 })
  })

  it("when_a_settled_run_releases_then_the_month_gets_it_back_never_below_zero", () => {
    expect(releaseToBudget({ limit: 37, used: 37 }, 10)).toEqual({ limit: 37, used: 27 })
    expect(releaseToBudget({ limit: 37, used: 3 }, 10)).toEqual({ limit: 37, used: 0 })
  })

  it("the_month_is_the_calendar_month_in_utc_of_the_reservation", () => {
    expect(budgetMonth("2026-11-30T23:59:59.999Z")).toBe("2026-11")
    expect(budgetMonth("2026-12-01T00:00:00.000Z")).toBe("2026-12")
    // an offset is read as the instant it names
    expect(budgetMonth("2026-12-01T00:30:00+01:00")).toBe("2026-11")
  })

  /** A reservation of a run, or the settlement of one accepted earlier (capturing part, releasing the rest). */
  type Step =
    | { readonly _tag: "reserve"; readonly amount: number }
    | { readonly _tag: "settle"; readonly pick: number; readonly capturedShare: number }

  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ _tag: fc.constant("reserve" as const), amount: fc.integer({ min: 0, max: 20 }) }),
    fc.record({
      _tag: fc.constant("settle" as const),
      pick: fc.nat(),
      capturedShare: fc.double({ min: 0, max: 1, noNaN: true })
    })
  )

  it("property_whatever_the_reservations_and_settlements_the_accepted_ones_never_exceed_the_limit", () =>
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.array(step, { maxLength: 200 }), (limit, steps) => {
        let state: KeyBudgetState = { limit, used: 0 }
        const open: Array<number> = []
        let captured = 0
        for (const s of steps) {
          if (s._tag === "reserve") {
            const before = state
            const decided = reserveFromBudget(state, s.amount)
            if (decided instanceof KeyLimitReached) {
              // refused only when it would have crossed the limit, naming exactly what remained
              expect(before.used + s.amount).toBeGreaterThan(limit)
              expect(decided.keyRemaining).toBe(limit - before.used)
              expect(decided.required).toBe(s.amount)
            } else {
              state = decided
              open.push(s.amount)
            }
          } else if (open.length > 0) {
            const [reserved] = open.splice(s.pick % open.length, 1) as [number]
            const capture = Math.floor(reserved * s.capturedShare)
            captured += capture
            state = releaseToBudget(state, reserved - capture)
          }
          // what is in use is what the open runs hold plus what the settled ones captured, within the limit
          expect(state.used).toBe(open.reduce((a, b) => a + b, 0) + captured)
          expect(state.used).toBeLessThanOrEqual(limit)
          expect(keyRemaining(state)).toBe(limit - state.used)
        }
      }),
      { numRuns: 500 }
    ))
})
