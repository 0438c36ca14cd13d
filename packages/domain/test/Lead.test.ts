import { describe, expect, it } from "vitest"
import { fromInput, groupByIdentity, identityKeysOf, mergeInto } from "../src/leads/Lead.ts"
import { normaliseDomain, normaliseLinkedinUrl } from "../src/leads/Identity.ts"

describe("Lead identity (unit)", () => {
  it("a_person_is_known_by_email_first_then_linkedin", () => {
    const lead = fromInput({
      type: "person",
      email: " Ada@Example.COM ",
      linkedinUrl: "https://www.linkedin.com/in/Ada-L/"
    })
    expect(identityKeysOf(lead)).toEqual(["email:ada@example.com", "linkedin:linkedin.com/in/ada-l"])
  })

  it("a_company_is_known_by_its_domain", () => {
    expect(normaliseDomain("https://WWW.Example.com/about?x=1")).toBe("example.com")
    expect(identityKeysOf(fromInput({ type: "company", company: { domain: "www.acme.io" } }))).toEqual([
      "domain:acme.io"
    ])
    expect(normaliseLinkedinUrl("not a url")).toBeUndefined()
  })

  it("rows_sharing_a_key_become_one_lead_and_the_first_values_win", () => {
    const { groupOfRow, groups } = groupByIdentity([
      fromInput({ type: "person", email: "a@x.com", title: "CTO", attributes: { score: 1 } }),
      fromInput({ type: "person", email: "b@y.com" }),
      fromInput({
        type: "person",
        email: "A@X.com",
        title: "CEO",
        name: { full: "Ada" },
        attributes: { score: 2, tier: "A" }
      })
    ])
    expect(groupOfRow).toEqual([0, 1, 0])
    expect(groups[0]!.fields.title).toBe("CTO")
    expect(groups[0]!.fields.name).toEqual({ full: "Ada" })
    expect(groups[0]!.fields.attributes).toEqual({ score: 1, tier: "A" })
  })

  it("a_merge_fills_empty_fields_and_never_overwrites", () => {
    const merged = mergeInto(
      fromInput({ type: "company", domain: "acme.io", industry: "Software" }),
      fromInput({ type: "company", domain: "acme.io", industry: "Retail", size: "51-200" })
    )
    expect(merged.industry).toBe("Software")
    expect(merged.size).toBe("51-200")
  })
})
