import { describe, expect, it } from "vitest"
import {
  combineOutputSchemas,
  conclude,
  isFinished,
  nextStep,
  planWaterfalls,
  type StepAttempt,
  type StepFacts,
  unionReads,
  walkRecord
} from "../src/catalog/Waterfall.ts"

const found = (step: string, attempts = 1): StepAttempt => ({
  step,
  status: "found",
  attempts,
  provider: step,
  providerSubmissionId: `sub-${step}`
})
const miss = (step: string): StepAttempt => ({ step, status: "not_found", attempts: 1, provider: step })
const failed = (step: string, message: string, attempts = 3, retryable = true): StepAttempt => ({
  step,
  status: "failed",
  attempts,
  error: { message, retryable }
})

const person = (enabled = true): StepFacts => ({ subject: "person", enabled })
const company: StepFacts = { subject: "company", enabled: true }

describe("Waterfall rules (unit)", () => {
  it("the_walk_stops_at_the_first_step_that_finds_and_moves_on_after_a_miss_or_a_failure", () => {
    const steps = ["a", "b", "c"]
    expect(nextStep(steps, [])).toBe("a")
    expect(nextStep(steps, [miss("a")])).toBe("b")
    expect(nextStep(steps, [failed("a", "503")])).toBe("b")
    expect(nextStep(steps, [miss("a"), found("b")])).toBeUndefined()
    expect(isFinished([miss("a"), found("b")])).toBe(true)
    expect(nextStep(steps, [miss("a"), miss("b"), miss("c")])).toBeUndefined()
    expect(isFinished([miss("a"), miss("b"), miss("c")])).toBe(false)
  })

  it("a_hit_wins_over_earlier_failures_and_names_the_step_that_answered", () => {
    expect(conclude("w", [failed("a", "vendor answered 503"), found("b")])).toEqual({
      _tag: "Found",
      step: "b",
      index: 1
    })
    expect(conclude("w", [found("a")])).toEqual({ _tag: "Found", step: "a", index: 0 })
  })

  it("every_step_missing_is_a_completed_not_found_but_one_failure_without_a_hit_fails_the_item_listing_each_failure", () => {
    expect(conclude("w", [miss("a"), miss("b")])).toEqual({ _tag: "NotFound" })
    const verdict = conclude("w", [
      failed("a", "vendor answered 503", 3),
      miss("b"),
      failed("c", "c: bad key", 1, false)
    ])
    expect(verdict._tag).toBe("Failed")
    if (verdict._tag !== "Failed") return
    expect(verdict.failures.map((f) => f.step)).toEqual(["a", "c"])
    expect(verdict.message).toBe(
      "Waterfall w: no step found a result and 2 of 3 failed — a: vendor answered 503 (3 attempts); c: bad key (1 attempt)"
    )
  })

  it("the_walk_record_is_compact_and_says_who_answered", () => {
    expect(walkRecord("w", [failed("a", "timeout", 2), found("b")], { email: "x" })).toEqual({
      waterfall: "w",
      answeredBy: "b",
      steps: [
        { step: "a", status: "failed", attempts: 2, error: "timeout" },
        { step: "b", status: "found", attempts: 1, providerSubmissionId: "sub-b" }
      ],
      raw: { email: "x" }
    })
    expect(walkRecord("w", [miss("a")], null).answeredBy).toBeNull()
  })

  it("valid_definitions_are_built_after_the_waterfalls_they_use_and_inherit_their_first_steps_subject", () => {
    const plan = planWaterfalls(
      [
        { slug: "outer", subject: undefined, steps: ["inner", "c"] },
        { slug: "inner", subject: "person", steps: ["a", "b"] }
      ],
      new Map([
        ["a", person()],
        ["b", person()],
        ["c", person()]
      ])
    )
    expect(plan.problems).toEqual([])
    expect(plan.order).toEqual(["inner", "outer"])
    expect(plan.subjects.get("outer")).toBe("person")
  })

  it("unknown_disabled_repeated_and_wrong_subject_steps_are_refused_by_path", () => {
    const plan = planWaterfalls(
      [
        { slug: "w1", subject: undefined, steps: ["a", "nope"] },
        { slug: "w2", subject: undefined, steps: ["a", "off"] },
        { slug: "w3", subject: undefined, steps: ["a", "a"] },
        { slug: "w4", subject: undefined, steps: ["a", "co"] },
        { slug: "w5", subject: "company", steps: ["a"] },
        { slug: "w6", subject: undefined, steps: [] }
      ],
      new Map([
        ["a", person()],
        ["off", person(false)],
        ["co", company]
      ])
    )
    expect(plan.order).toEqual([])
    expect(plan.problems).toEqual([
      { slug: "w1", path: "steps[1]", message: 'unknown enrichment "nope"' },
      { slug: "w2", path: "steps[1]", message: 'enrichment "off" is disabled' },
      { slug: "w3", path: "steps[1]", message: 'step "a" appears more than once' },
      { slug: "w6", path: "steps", message: "a waterfall needs at least one step" },
      { slug: "w4", path: "steps[1]", message: 'step "co" enriches company Leads, the waterfall person Leads' },
      { slug: "w5", path: "steps[0]", message: 'step "a" enriches person Leads, the waterfall company Leads' }
    ])
  })

  it("a_cycle_is_reported_once_with_its_path_and_invalidates_the_waterfalls_that_use_it", () => {
    const plan = planWaterfalls(
      [
        { slug: "x", subject: undefined, steps: ["a", "y"] },
        { slug: "y", subject: undefined, steps: ["x"] },
        { slug: "user", subject: undefined, steps: ["x"] },
        { slug: "me", subject: undefined, steps: ["a", "me"] },
        { slug: "fine", subject: undefined, steps: ["a"] }
      ],
      new Map([["a", person()]])
    )
    expect(plan.order).toEqual(["fine"])
    expect(plan.problems).toEqual([
      { slug: "y", path: "steps[0]", message: "cycle: x → y → x" },
      { slug: "me", path: "steps[1]", message: "cycle: me → me" },
      { slug: "user", path: "steps[0]", message: 'waterfall "x" is itself invalid' }
    ])
  })

  it("reads_are_the_union_of_the_steps_reads_in_order", () => {
    expect(
      unionReads([
        ["email", "name.full"],
        ["email", "linkedinUrl"]
      ])
    ).toEqual(["email", "name.full", "linkedinUrl"])
  })

  it("output_schemas_collapse_when_equal_and_otherwise_combine_with_their_defs_at_the_top", () => {
    const s1 = { type: "object", properties: { email: { type: "string" } } }
    expect(combineOutputSchemas([s1, { ...s1 }])).toEqual(s1)
    const s2 = { type: "object", properties: { p: { $ref: "#/$defs/P" } }, $defs: { P: { type: "string" } } }
    expect(combineOutputSchemas([s1, s2])).toEqual({
      anyOf: [s1, { type: "object", properties: { p: { $ref: "#/$defs/P" } } }],
      $defs: { P: { type: "string" } }
    })
    const s3 = { type: "object", $defs: { P: { type: "number" } } }
    expect(combineOutputSchemas([s2, s3])).toBeUndefined()
  })
})
