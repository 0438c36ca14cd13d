import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { fromInput, groupByIdentity, identityKeysOf, mergeInto } from "../src/leads/Lead.ts"
import { isStorable } from "../src/ClientText.ts"
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

  it("the_phone_shorthand_is_the_first_phone_contact_as_email_is_the_first_email", () => {
    const lead = fromInput({
      type: "person",
      email: "a@x.example",
      phone: "+1 555 0100",
      contacts: [
        { type: "email", value: "b@x.example" },
        { type: "phone", value: "+1 555 0199" }
      ]
    })
    expect(lead.contacts.map((c) => c.value)).toEqual(["a@x.example", "b@x.example", "+1 555 0100", "+1 555 0199"])
    expect(fromInput({ type: "person", phone: "+1 555 0100" }).contacts).toEqual([
      { type: "phone", value: "+1 555 0100" }
    ])
  })

  it("a_company_is_known_by_its_domain", () => {
    expect(normaliseDomain("https://WWW.Example.com/about?x=1")).toBe("example.com")
    expect(identityKeysOf(fromInput({ type: "company", company: { domain: "www.acme.io" } }))).toEqual([
      "domain:acme.io"
    ])
    expect(normaliseLinkedinUrl("not a url")).toBeUndefined()
  })

  it("regression_a_percent_in_a_linkedin_url_was_a_500", () => {
    // decodeURIComponent threw on a `%` that starts no escape, and every Lead write path let it through
    expect(normaliseLinkedinUrl("https://linkedin.com/in/jane-100%")).toBe("linkedin.com/in/jane-100%")
    expect(normaliseLinkedinUrl("https://linkedin.com/in/ren%C3%A9e")).toBe("linkedin.com/in/renée")
    // a cut UTF-8 sequence, and an escape of NUL (which no identity key may hold): kept as written
    expect(normaliseLinkedinUrl("https://linkedin.com/in/x%E2%82")).toBe("linkedin.com/in/x%e2%82")
    expect(normaliseLinkedinUrl("https://linkedin.com/in/a%00b")).toBe("linkedin.com/in/a%00b")
    fc.assert(
      // what reaches here passed the edge's check (ClientText): decoding must not make it unstorable again
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary" }).filter(isStorable),
          fc
            .array(fc.constantFrom("%", "%00", "%C3", "%A9", "%E2%82", "%ED%A0%80", "%25", "%zz", "a", "-"))
            .map((parts) => parts.join(""))
        ),
        (slug) => {
          const key = normaliseLinkedinUrl(`https://www.linkedin.com/in/${slug}`)
          expect(key === undefined || isStorable(key)).toBe(true)
        }
      )
    )
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
