import { describe, expect, it } from "vitest"
import type { EnrichmentContract } from "../src/catalog/Enrichment.ts"
import { plan, PlanRejected, type ScopeFacts } from "../src/runs/Planner.ts"
import type { Scope } from "../src/runs/Scope.ts"
import { settle } from "../src/credits/CreditPolicy.ts"

const contract: EnrichmentContract = {
  id: "email_validation",
  slug: "email_validation",
  name: "Email validation",
  description: "",
  subject: "person",
  version: 1,
  enabled: true,
  visibility: "public",
  reads: ["email"],
  inputSchema: {},
  outputSchema: {},
  defaultOutput: { target: "lead_attribute", attributeKey: "email_validation" },
  defaultOutputAttributeKey: "email_validation",
  outputOverridePolicy: { targets: ["lead_attribute", "membership_attribute"], attributeKey: true },
  costModel: { creditAction: "EMAIL_VALIDATION", unitCost: 2, chargeOn: "completed" },
  toolBinding: { type: "builtin", taskId: "x" }
}

const facts = (f: Partial<ScopeFacts>): ScopeFacts => ({
  listFound: true,
  freshCount: 0,
  missingLeadIds: [],
  missingLeadCount: 0,
  matchingCount: 0,
  mismatchedLeadIds: [],
  mismatchedCount: 0,
  nonMemberCount: 0,
  ...f
})

const explicit: Scope = { type: "explicit_leads", leadIds: ["a", "b"] }
const list: Scope = { type: "list", listId: "l1" }
const code = (outcome: unknown) => (outcome instanceof PlanRejected ? outcome.code : "PLANNED")

describe("Planner (unit)", () => {
  it("plans_the_matching_leads_and_quotes_their_cost", () => {
    const planned = plan(contract, list, undefined, facts({ matchingCount: 5, mismatchedCount: 2 }))
    expect(planned).toEqual({
      leadCount: 5,
      fresh: 0,
      output: { target: "lead_attribute", attributeKey: "email_validation" },
      cost: { creditAction: "EMAIL_VALIDATION", unitCost: 2, required: 10 }
    })
  })

  it("rejects_in_the_contract's_order", () => {
    expect(code(plan(contract, list, undefined, facts({ listFound: false })))).toBe("LIST_NOT_FOUND")
    expect(
      code(
        plan(contract, explicit, undefined, facts({ missingLeadCount: 1, missingLeadIds: ["b"], mismatchedCount: 1 }))
      )
    ).toBe("LEADS_NOT_FOUND")
    expect(code(plan(contract, explicit, { target: "membership_attribute" }, facts({ mismatchedCount: 1 })))).toBe(
      "OUTPUT_TARGET_UNSUPPORTED"
    )
    expect(
      code(
        plan(contract, explicit, undefined, facts({ matchingCount: 1, mismatchedCount: 1, mismatchedLeadIds: ["b"] }))
      )
    ).toBe("SUBJECT_MISMATCH")
    expect(code(plan(contract, list, undefined, facts({ mismatchedCount: 3 })))).toBe("SUBJECT_MISMATCH")
    expect(code(plan(contract, list, undefined, facts({})))).toBe("EMPTY_LEAD_SCOPE")
  })

  it("lists_keep_only_leads_of_the_subject", () => {
    expect(code(plan(contract, list, undefined, facts({ matchingCount: 1, mismatchedCount: 4 })))).toBe("PLANNED")
  })

  it("membership_output_needs_a_concrete_list", () => {
    expect(
      code(
        plan(contract, { type: "list", listId: "all" }, { target: "membership_attribute" }, facts({ matchingCount: 1 }))
      )
    ).toBe("OUTPUT_TARGET_UNSUPPORTED")
    expect(code(plan(contract, list, { target: "membership_attribute" }, facts({ matchingCount: 1 })))).toBe("PLANNED")
    const withList: Scope = { type: "explicit_leads", leadIds: ["a", "b"], listId: "l1" }
    expect(code(plan(contract, withList, { target: "membership_attribute" }, facts({ matchingCount: 2 })))).toBe(
      "PLANNED"
    )
    expect(
      code(plan(contract, withList, { target: "membership_attribute" }, facts({ matchingCount: 2, nonMemberCount: 1 })))
    ).toBe("OUTPUT_TARGET_UNSUPPORTED")
    expect(code(plan(contract, withList, undefined, facts({ matchingCount: 2, nonMemberCount: 1 })))).toBe("PLANNED")
  })

  it("a_fixed_attribute_key_cannot_be_overridden", () => {
    const fixed = { ...contract, outputOverridePolicy: { targets: ["lead_attribute" as const], attributeKey: false } }
    expect(code(plan(fixed, list, { attributeKey: "other" }, facts({ matchingCount: 1 })))).toBe(
      "OUTPUT_TARGET_UNSUPPORTED"
    )
  })
})

describe("Credit settlement (unit)", () => {
  it("follows_the_contract's_table", () => {
    expect(settle("dispatch", 2, 10, { completed: 1, found: 0 })).toEqual({ captured: 10, released: 0 })
    expect(settle("completed", 2, 10, { completed: 3, found: 1 })).toEqual({ captured: 6, released: 4 })
    expect(settle("found", 2, 10, { completed: 3, found: 1 })).toEqual({ captured: 2, released: 8 })
  })
})
