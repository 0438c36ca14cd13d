/**
 * The rules of never paying twice (unit): when a run may be retried, what a freshness window matches, which
 * ordinals it skips, and what the planner charges and the run counts for the Leads it skips.
 */
import { describe, expect, it } from "@effect/vitest"
import { evolve, initialState } from "../src/runs/Run.ts"
import { freshResultOf, isFreshOrdinal } from "../src/runs/Freshness.ts"
import { plan } from "../src/runs/Planner.ts"
import { NothingToRetry, retryEligibility, RunNotTerminal } from "../src/runs/Retry.ts"
import type { EnrichmentContract } from "../src/catalog/Enrichment.ts"

describe("Retry eligibility (unit)", () => {
  it("a_run_that_is_over_with_failed_items_may_be_retried", () => {
    for (const status of ["completed", "failed", "cancelled"]) {
      expect(retryEligibility("r", { status, settled: true, failedCount: 2 })).toBe("eligible")
    }
  })

  it("when_a_run_is_still_going_or_not_settled_it_is_not_terminal", () => {
    for (const source of [
      { status: "pending", settled: false, failedCount: 0 },
      { status: "running", settled: false, failedCount: 3 },
      // cancelled, its last batch still running: its failed count is not final
      { status: "cancelled", settled: false, failedCount: 1 }
    ]) {
      expect(retryEligibility("r", source)).toBeInstanceOf(RunNotTerminal)
    }
  })

  it("when_no_item_failed_there_is_nothing_to_retry", () => {
    expect(retryEligibility("r", { status: "completed", settled: true, failedCount: 0 })).toBeInstanceOf(NothingToRetry)
  })
})

const run = {
  enrichmentSlug: "vendor_title",
  enrichmentVersion: 2,
  target: "lead_attribute" as const,
  attributeKey: "title",
  listId: "list-1"
}

describe("Freshness window (unit)", () => {
  it("without_a_window_or_with_0_days_nothing_is_fresh", () => {
    expect(freshResultOf(undefined, "2026-12-06T00:00:00.000Z", run)).toBeUndefined()
    expect(freshResultOf({ maxAgeDays: 0 }, "2026-12-06T00:00:00.000Z", run)).toBeUndefined()
  })

  it("a_window_matches_the_same_enrichment_version_and_place_since_max_age_days", () => {
    expect(freshResultOf({ maxAgeDays: 30 }, "2026-12-06T12:00:00.000Z", run)).toEqual({
      enrichmentSlug: "vendor_title",
      enrichmentVersion: 2,
      target: "lead_attribute",
      attributeKey: "title",
      listId: null,
      completedSince: "2026-11-06T12:00:00.000Z"
    })
    // a membership attribute is fresh only for the same List's memberships
    expect(
      freshResultOf({ maxAgeDays: 1 }, "2026-12-06T12:00:00.000Z", { ...run, target: "membership_attribute" })?.listId
    ).toBe("list-1")
  })

  it("the_fresh_leads_take_the_last_ordinals", () => {
    const fresh = Array.from({ length: 10 }, (_, i) => i + 1).filter((o) => isFreshOrdinal(o, 10, 3))
    expect(fresh).toEqual([8, 9, 10])
    expect(isFreshOrdinal(1, 10, 0)).toBe(false)
  })

  it("the_planner_charges_only_the_leads_that_are_not_fresh_and_the_run_counts_them_skipped", () => {
    const contract = {
      id: "vendor_title",
      slug: "vendor_title",
      version: 2,
      subject: "person",
      defaultOutput: { target: "lead_attribute", attributeKey: "title" },
      outputOverridePolicy: { targets: ["lead_attribute"], attributeKey: false },
      costModel: { creditAction: "TITLE", unitCost: 3, chargeOn: "completed" }
    } as unknown as EnrichmentContract
    const planned = plan(contract, { type: "list", listId: "list-1" }, undefined, {
      listFound: true,
      missingLeadIds: [],
      missingLeadCount: 0,
      matchingCount: 10,
      mismatchedLeadIds: [],
      mismatchedCount: 0,
      nonMemberCount: 0,
      freshCount: 4
    })
    expect(planned).toMatchObject({ leadCount: 10, fresh: 4, cost: { required: 18 } })
    const state = evolve(initialState, {
      _tag: "RunRequested",
      runId: "r",
      workspaceId: "w",
      enrichment: { id: "vendor_title", slug: "vendor_title", version: 2, snapshot: {} },
      mode: "persisted",
      scope: { type: "list", listId: "list-1", leadIdCount: null },
      leadCount: 10,
      output: { target: "lead_attribute", attributeKey: "title", writePolicy: "overwrite" },
      cost: { creditAction: "TITLE", unitCost: 3, chargeOn: "completed", required: 18 },
      displayRequest: null,
      idempotency: null,
      freshness: { maxAgeDays: 30, skipped: 4 },
      requestedAt: "2026-12-06T00:00:00.000Z"
    })
    expect(state.status === "none" ? undefined : [state.counts, state.reserved]).toEqual([
      { pending: 6, running: 0, completed: 0, skipped: 4, failed: 0 },
      18
    ])
  })

  it("a_run_where_every_lead_is_fresh_plans_and_charges_nothing", () => {
    const contract = {
      slug: "x",
      subject: "person",
      defaultOutput: { target: "lead_attribute", attributeKey: "x" },
      outputOverridePolicy: { targets: ["lead_attribute"], attributeKey: false },
      costModel: { creditAction: "X", unitCost: 5, chargeOn: "completed" }
    } as unknown as EnrichmentContract
    const planned = plan(contract, { type: "list", listId: "all" }, undefined, {
      listFound: true,
      missingLeadIds: [],
      missingLeadCount: 0,
      matchingCount: 3,
      mismatchedLeadIds: [],
      mismatchedCount: 0,
      nonMemberCount: 0,
      freshCount: 3
    })
    expect(planned).toMatchObject({ leadCount: 3, fresh: 3, cost: { required: 0 } })
  })
})
