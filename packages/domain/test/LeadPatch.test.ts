import { describe, expect, it } from "vitest"
import { fromInput, identityKeysOf } from "../src/leads/Lead.ts"
import { applyPatch } from "../src/leads/LeadPatch.ts"

describe("Lead patch (unit)", () => {
  const ada = fromInput({
    type: "person",
    email: "ada@example.com",
    phone: "+44 1",
    linkedinUrl: "https://linkedin.com/in/ada",
    name: { full: "Ada Lovelace" },
    title: "Analyst",
    contacts: [{ type: "email", value: "ada@work.example" }],
    socials: [{ url: "https://github.com/ada" }],
    attributes: { keep: 1, drop: 2, change: "old" }
  })

  it("fields_given_replace_null_clears_and_attributes_merge_by_key_with_null_deleting", () => {
    const next = applyPatch(ada, {
      title: null,
      name: { first: "Ada" },
      location: { city: "London" },
      attributes: { drop: null, change: "new", added: [1] }
    })
    expect(next.title).toBeNull()
    expect(next.name).toEqual({ first: "Ada" })
    expect(next.location).toEqual({ city: "London" })
    expect(next.attributes).toEqual({ keep: 1, change: "new", added: [1] })
    expect(next.type).toBe("person")
    expect(applyPatch(ada, {})).toEqual(ada)
  })

  it("email_replaces_the_first_email_contact_and_null_removes_every_email", () => {
    const moved = applyPatch(ada, { email: "countess@example.com" })
    expect(moved.contacts.map((c) => c.value)).toEqual(["countess@example.com", "ada@work.example", "+44 1"])
    expect(identityKeysOf(moved)).toContain("email:countess@example.com")
    expect(identityKeysOf(moved)).not.toContain("email:ada@example.com")
    // the same address in other case is not duplicated
    expect(applyPatch(ada, { email: "ADA@work.example" }).contacts.map((c) => c.value)).toEqual([
      "ADA@work.example",
      "+44 1"
    ])
    const none = applyPatch(ada, { email: null })
    expect(none.contacts).toEqual([{ type: "phone", value: "+44 1" }])
    expect(identityKeysOf(none)).toEqual(["linkedin:linkedin.com/in/ada"])
    expect(applyPatch(none, { email: "new@x.io" }).contacts[0]).toEqual({ type: "email", value: "new@x.io" })
    expect(applyPatch(ada, { phone: "+44 2" }).contacts.at(-1)).toEqual({ type: "phone", value: "+44 2" })
  })

  it("linkedin_url_moves_within_socials_and_replaced_socials_decide_the_linkedin_url", () => {
    const moved = applyPatch(ada, { linkedinUrl: "https://linkedin.com/in/countess" })
    expect(moved.linkedinUrl).toBe("https://linkedin.com/in/countess")
    expect(moved.socials.map((s) => s.url)).toEqual(["https://linkedin.com/in/countess", "https://github.com/ada"])
    const cleared = applyPatch(ada, { linkedinUrl: null })
    expect([cleared.linkedinUrl, cleared.socials]).toEqual([null, [{ url: "https://github.com/ada" }]])
    expect(applyPatch(ada, { socials: [{ url: "https://x.com/ada" }] }).linkedinUrl).toBeNull()
  })

  it("a_company_domain_follows_its_company_domain_unless_domain_is_given", () => {
    const acme = fromInput({ type: "company", domain: "acme.io", company: { name: "Acme" } })
    expect(applyPatch(acme, { company: { domain: "acme.com" } }).domain).toBe("acme.com")
    expect(applyPatch(acme, { company: { name: "Acme Inc" } }).domain).toBe("acme.io")
    expect(applyPatch(acme, { domain: "x.io", company: { domain: "y.io" } }).domain).toBe("x.io")
    expect(applyPatch(acme, { company: null }).company).toEqual({})
    // a person's company domain is not their identity
    expect(applyPatch(ada, { company: { domain: "acme.com" } }).domain).toBeNull()
  })
})
