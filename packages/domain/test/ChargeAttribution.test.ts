/**
 * ChargeAttribution: which items a run's capture and release cover. Examples per
 * `chargeOn` and stop, and a property over random decider histories: every item lands in
 * exactly one bucket and the attribution always agrees with the run's own settlement.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { attribute, ordinalRanges } from "../src/credits/ChargeAttribution.ts"
import { type ActiveRunState, decide, evolve, fold, RunCommandRejected, type RunCommand } from "../src/runs/Run.ts"
import type { ItemOutcome, RunEvent } from "../src/runs/RunEvents.ts"

const now = "2026-11-28T10:00:00.000Z"
const scale = Number(process.env["ENRICH_TEST_SCALE"] ?? "1") || 1

const requestRun = (leadCount: number, unitCost: number, chargeOn: "dispatch" | "completed" | "found"): RunCommand => ({
  _tag: "RequestRun",
  runId: "run-1",
  workspaceId: "ws-1",
  enrichment: { id: "company_domain", slug: "company_domain", version: 1, snapshot: {} },
  chargeOn,
  scope: { type: "list", listId: "list-1", leadIdCount: null },
  plan: {
    leadCount,
    fresh: 0,
    output: { target: "lead_attribute", attributeKey: "company_domain" },
    cost: { creditAction: "WEBSITE_ENRICHMENT", unitCost, required: leadCount * unitCost }
  },
  writePolicy: "overwrite",
  displayRequest: null,
  idempotency: null,
  now
})

const history = (...commands: ReadonlyArray<RunCommand>): ReadonlyArray<RunEvent> => {
  const events: Array<RunEvent> = []
  for (const command of commands) {
    const decided = decide(command, fold(events))
    if (decided instanceof RunCommandRejected) throw new Error(`history: ${command._tag} rejected: ${decided.reason}`)
    events.push(...decided)
  }
  return events
}

const start = (...ordinals: Array<number>): RunCommand => ({
  _tag: "StartBatch",
  batch: `b${ordinals[0]}`,
  ordinals,
  now
})
const record = (...outcomes: Array<ItemOutcome>): RunCommand => ({
  _tag: "RecordBatch",
  batch: "b",
  outcomes,
  now
})
const done = (ordinal: number, found: boolean): ItemOutcome => ({
  ordinal,
  status: "completed",
  skippedReason: null,
  found
})
const failed = (ordinal: number): ItemOutcome => ({ ordinal, status: "failed", skippedReason: null, found: false })
const complete: RunCommand = { _tag: "CompleteRun", now }
const cancel: RunCommand = { _tag: "CancelRun", now }

describe("ChargeAttribution (examples)", () => {
  it("charge_on_found_charges_the_found_items_and_releases_the_not_found_and_failed_ones_by_reason", () => {
    const events = history(
      requestRun(6, 2, "found"),
      start(1, 2, 3, 4, 5, 6),
      record(done(1, true), done(2, false), done(3, true), failed(4), done(5, true), done(6, false)),
      complete
    )
    const a = attribute(events)!
    expect(a.status).toBe("completed")
    expect(a.charged).toEqual([1, 3, 5])
    expect(a.released).toEqual([
      { reason: "not_found", ordinals: [2, 6] },
      { reason: "failed", ordinals: [4] }
    ])
    expect(a.open).toEqual([])
    expect(a.expected).toEqual({ captured: 6, released: 6 })
    expect([a.settlement?.captured, a.settlement?.released, a.matchesSettlement]).toEqual([6, 6, true])
  })

  it("a_cancel_releases_the_items_never_started_as_run_cancelled_and_charges_what_finished", () => {
    const events = history(requestRun(5, 1, "completed"), start(1, 2), cancel, record(done(1, false), failed(2)))
    const a = attribute(events)!
    expect(a.status).toBe("cancelled")
    expect(a.charged).toEqual([1])
    expect(a.released).toEqual([
      { reason: "failed", ordinals: [2] },
      { reason: "run_cancelled", ordinals: [3, 4, 5] }
    ])
    expect([a.expected.captured, a.expected.released, a.matchesSettlement]).toEqual([1, 4, true])
  })

  it("while_items_run_they_are_open_and_there_is_no_settlement_yet", () => {
    const a = attribute(history(requestRun(3, 1, "completed"), start(1, 2), record(done(1, true))))!
    expect([a.charged, a.open, a.settlement]).toEqual([[1], [2, 3], null])
  })

  it("charge_on_dispatch_charges_every_item_even_those_a_cancel_skipped", () => {
    const a = attribute(history(requestRun(3, 1, "dispatch"), cancel))!
    expect([a.charged, a.released, a.expected]).toEqual([[1, 2, 3], [], { captured: 3, released: 0 }])
  })

  it("a_failed_hand_over_releases_every_item_as_run_failed_even_under_charge_on_dispatch", () => {
    for (const chargeOn of ["dispatch", "completed", "found"] as const) {
      const a = attribute(history(requestRun(3, 1, chargeOn), { _tag: "FailDispatch", message: "refused", now }))!
      expect([a.status, a.charged, a.released, a.expected, a.matchesSettlement]).toEqual([
        "failed",
        [],
        [{ reason: "run_failed", ordinals: [1, 2, 3] }],
        { captured: 0, released: 3 },
        true
      ])
    }
  })

  it("a_history_without_a_request_has_no_attribution", () => {
    expect(attribute([])).toBeUndefined()
  })

  it("a_settlement_that_disagrees_with_the_items_is_flagged", () => {
    const events = history(requestRun(2, 1, "completed"), start(1, 2), record(done(1, true), done(2, true)))
    const forged: Array<RunEvent> = [...events.filter((e) => e._tag !== "CreditsSettled")]
    forged.push({ _tag: "CreditsSettled", captured: 1, released: 1, settledAt: now })
    expect(attribute(forged)!.matchesSettlement).toBe(false)
  })

  it("ordinal_ranges_compress_runs_of_consecutive_items", () => {
    expect(ordinalRanges([1, 2, 3, 5, 7, 8])).toBe("1-3,5,7-8")
    expect(ordinalRanges([])).toBe("")
    expect(ordinalRanges([4])).toBe("4")
  })
})

// --- property ------------------------------------------------------------------------

type Step =
  | { readonly kind: "cancel" | "fail" | "complete" }
  | { readonly kind: "start"; readonly size: number }
  | { readonly kind: "record"; readonly size: number; readonly statuses: ReadonlyArray<number> }

const steps = fc.array(
  fc.oneof(
    fc.constantFrom<Step>({ kind: "cancel" }, { kind: "fail" }, { kind: "complete" }),
    fc.integer({ min: 0, max: 6 }).map((size): Step => ({ kind: "start", size })),
    fc
      .tuple(fc.integer({ min: 0, max: 6 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 6, maxLength: 6 }))
      .map(([size, statuses]): Step => ({ kind: "record", size, statuses }))
  ),
  { maxLength: 40 }
)

/** A random step as a command, naming items the way a worker would (next pending / oldest running ordinals). */
const toCommand = (step: Step, claimed: ReadonlyArray<number>, next: number): RunCommand => {
  switch (step.kind) {
    case "cancel":
      return cancel
    case "fail":
      return { _tag: "FailRun", message: "broken", now }
    case "complete":
      return complete
    case "start":
      return start(...Array.from({ length: step.size }, (_, i) => next + i))
    case "record":
      return record(
        ...claimed.slice(0, step.size).map((ordinal, i): ItemOutcome => {
          const s = step.statuses[i] ?? 2
          if (s === 0) return failed(ordinal)
          if (s === 1) return { ordinal, status: "skipped", skippedReason: "lead_deleted", found: false }
          return done(ordinal, s === 3)
        })
      )
  }
}

describe("ChargeAttribution (property)", () => {
  it("every_item_is_in_one_bucket_and_the_attribution_agrees_with_the_settlement", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom("dispatch" as const, "completed" as const, "found" as const),
        steps,
        (leadCount, unitCost, chargeOn, plan) => {
          const events: Array<RunEvent> = [...history(requestRun(leadCount, unitCost, chargeOn))]
          let state = fold(events)
          const claimed: Array<number> = []
          let next = 1
          for (const step of plan) {
            const command = toCommand(step, claimed, next)
            const decided = decide(command, state)
            if (decided instanceof RunCommandRejected) continue
            for (const event of decided) {
              if (event._tag === "ItemBatchStarted") {
                claimed.push(...event.ordinals)
                next += event.ordinals.length
              }
              if (event._tag === "ItemBatchRecorded") claimed.splice(0, event.outcomes.length)
            }
            events.push(...decided)
            state = decided.reduce(evolve, state)
          }
          const a = attribute(events)!
          const s = state as ActiveRunState
          const all = [...a.charged, ...a.released.flatMap((r) => r.ordinals), ...a.open].sort((x, y) => x - y)
          expect(all).toEqual(Array.from({ length: leadCount }, (_, i) => i + 1))
          expect(a.open.length).toBe(s.counts.pending + s.counts.running)
          expect(a.status).toBe(s.status)
          expect(a.matchesSettlement).toBe(true)
          if (s.settled) expect(a.settlement).not.toBeNull()
          if (a.open.length === 0 && chargeOn !== "dispatch") {
            expect(a.expected.captured).toBe(Math.min(a.reserved, a.charged.length * unitCost))
          }
          expect(a.expected.captured + a.expected.released).toBe(a.reserved)
        }
      ),
      { numRuns: Math.round(300 * scale) }
    ))
})
