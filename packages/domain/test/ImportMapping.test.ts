import { describe, expect, it } from "vitest"
import {
  aliasOf,
  describeMapping,
  detectDelimiter,
  type HeaderMapping,
  inferLeadType,
  leadOfObject,
  leadOfRecord,
  mapHeader,
  normalizeHeader,
  parseDelimiter,
  parseOverride,
  typed,
  typeMismatchSentence
} from "../src/leads/ImportMapping.ts"

const fields = (mapping: HeaderMapping) => mapping.columns.map((c) => c.field)

describe("Import mapping (unit)", () => {
  it("given_the_spellings_of_one_header_when_normalised_then_they_are_one_name", () => {
    const spellings = [
      "First Name",
      "first_name",
      "FIRST-NAME",
      "firstName",
      '"First Name"',
      "\uFEFFFirst Name",
      "  first.name "
    ]
    expect(new Set(spellings.map(normalizeHeader))).toEqual(new Set(["firstname"]))
    expect(normalizeHeader("Prénom")).toBe("prenom")
    expect(normalizeHeader("# Employees")).toBe("employees")
    expect(spellings.map(aliasOf)).toEqual(spellings.map(() => "name.first"))
  })

  it("given_the_readme_header_when_mapped_then_every_column_has_its_field", () => {
    const mapping = mapHeader(["First Name", "Last Name", "Email", "Title", "Phone", "Company"])
    expect(fields(mapping)).toEqual(["name.first", "name.last", "email", "title", "phone", "company.name"])
    expect(mapping.unmapped).toEqual([])
  })

  it("given_field_paths_and_attribute_headers_when_mapped_then_they_name_themselves", () => {
    const mapping = mapHeader(["email", "name.full", "company.domain", "attributes.score", "linkedinUrl", "type"])
    expect(fields(mapping)).toEqual(["email", "name.full", "company.domain", "attributes.score", "linkedinUrl", "type"])
    expect(mapping.columns.every((c) => c.field !== null && c.via === "name")).toBe(true)
    // an attribute key the API would refuse is not a field
    expect(aliasOf("attributes.Bad Key")).toBeUndefined()
  })

  it("given_the_real_header_rows_of_the_common_exports_when_mapped_then_every_contact_field_is_mapped", () => {
    const apollo = mapHeader([
      "First Name",
      "Last Name",
      "Title",
      "Company",
      "Company Name for Emails",
      "Email",
      "Email Status",
      "Seniority",
      "Departments",
      "Work Direct Phone",
      "Mobile Phone",
      "Corporate Phone",
      "# Employees",
      "Industry",
      "Person Linkedin Url",
      "Website",
      "Company Linkedin Url",
      "City",
      "State",
      "Country",
      "Apollo Contact Id",
      "Secondary Email"
    ])
    expect(Object.fromEntries(apollo.columns.map((c) => [c.column, c.field]))).toEqual({
      "First Name": "name.first",
      "Last Name": "name.last",
      Title: "title",
      Company: "company.name",
      "Company Name for Emails": null,
      Email: "email",
      "Email Status": "attributes.email_status",
      Seniority: "attributes.seniority",
      Departments: "attributes.departments",
      "Work Direct Phone": "phone",
      "Mobile Phone": "contacts.phone",
      "Corporate Phone": "contacts.phone",
      "# Employees": "size",
      Industry: "industry",
      "Person Linkedin Url": "linkedinUrl",
      Website: "attributes.website",
      "Company Linkedin Url": "attributes.company_linkedin_url",
      City: "location.city",
      State: "location.state",
      Country: "location.country",
      "Apollo Contact Id": "attributes.apollo_contact_id",
      "Secondary Email": "contacts.email"
    })
    expect(apollo.unmapped).toEqual(["Company Name for Emails"])

    const hubspot = mapHeader([
      "Record ID",
      "First Name",
      "Last Name",
      "Email",
      "Phone Number",
      "Job Title",
      "Company Name",
      "City",
      "State/Region",
      "Country/Region",
      "Contact owner"
    ])
    expect(fields(hubspot)).toEqual([
      "attributes.record_id",
      "name.first",
      "name.last",
      "email",
      "phone",
      "title",
      "company.name",
      "location.city",
      "location.state",
      "location.country",
      null
    ])

    const salesforce = mapHeader([
      "FirstName",
      "LastName",
      "Title",
      "Account Name",
      "Email",
      "Phone",
      "Mobile",
      "Mailing City",
      "Mailing State/Province",
      "Mailing Country"
    ])
    expect(fields(salesforce)).toEqual([
      "name.first",
      "name.last",
      "title",
      "company.name",
      "email",
      "phone",
      "contacts.phone",
      "location.city",
      "location.state",
      "location.country"
    ])

    const salesNavigator = mapHeader([
      "profileUrl",
      "fullName",
      "firstName",
      "lastName",
      "companyName",
      "title",
      "linkedInProfileUrl",
      "location"
    ])
    // PhantomBuster's Sales Navigator export: profileUrl is the Sales Navigator URL, kept as a social
    expect(fields(salesNavigator)).toEqual([
      "socials",
      "name.full",
      "name.first",
      "name.last",
      "company.name",
      "title",
      "linkedinUrl",
      "attributes.location"
    ])
  })

  it("given_a_second_column_for_a_field_when_mapped_then_a_contact_is_added_or_the_column_is_a_duplicate", () => {
    const mapping = mapHeader(["Email", "Work Email", "Company", "Company Name", "LinkedIn", "Profile URL"])
    expect(fields(mapping)).toEqual(["email", "contacts.email", "company.name", null, "linkedinUrl", "socials"])
    expect(mapping.columns[3]).toEqual({
      column: "Company Name",
      field: null,
      reason: "duplicate",
      duplicateOf: "Company"
    })
    expect(mapping.unmapped).toEqual(["Company Name"])
  })

  it("given_overrides_when_mapped_then_they_win_over_aliases_match_by_normalised_name_and_can_skip", () => {
    const overrides = ["Work Email=email", "notes=attributes.notes", "Owner=-", "Nope=title"].map((o) => {
      const parsed = parseOverride(o)
      if ("error" in parsed) throw new Error(parsed.error)
      return parsed
    })
    const mapping = mapHeader(["Email", "Work Email", "Notes", "Owner"], overrides)
    expect(mapping.columns).toEqual([
      { column: "Email", field: "contacts.email", via: "name" },
      { column: "Work Email", field: "email", via: "map" },
      { column: "Notes", field: "attributes.notes", via: "map" },
      { column: "Owner", field: null, reason: "skipped" }
    ])
    expect(mapping.unmapped).toEqual([])
    expect(mapping.unusedOverrides).toEqual(["Nope"])
  })

  it("given_bad_overrides_when_parsed_then_the_error_says_what_is_expected", () => {
    expect(parseOverride("Mail")).toHaveProperty("error")
    expect((parseOverride("Mail=nope") as { error: string }).error).toMatch(/"nope" is not a Lead field/)
    expect(parseOverride("Mail=attributes.Bad")).toHaveProperty("error")
    expect(parseOverride("a=b=email")).toEqual({ column: "a=b", field: "email" })
  })

  it("given_a_record_when_made_a_lead_then_values_are_trimmed_empty_ones_left_out_and_contacts_appended", () => {
    const mapping = mapHeader(
      ["Email", "Work Email", "Mobile", "Phone 2", "Full Name", "Twitter", "Type", "Score"],
      [{ column: "Score", field: "attributes.score" }]
    )
    expect(
      leadOfRecord(mapping, [
        " a@x.example ",
        "b@x.example",
        "+1 555",
        "",
        "Ada",
        "https://x.example/ada",
        "Contact",
        "7"
      ])
    ).toEqual({
      lead: {
        email: "a@x.example",
        contacts: [{ type: "email", value: "b@x.example" }],
        phone: "+1 555",
        name: { full: "Ada" },
        socials: [{ url: "https://x.example/ada" }],
        type: "person",
        attributes: { score: "7" }
      }
    })
    expect(leadOfRecord(mapping, [" ", "", ""])).toEqual({ blank: true })
    expect(leadOfRecord(mapHeader(["Email", "Notes"]), ["", "only notes"])).toEqual({
      error: "no mapped column has a value (values only in: Notes)"
    })
    expect(leadOfRecord(mapHeader(["Email"]), ["a@x.example", "spill"])).toHaveProperty("error")
    // fewer fields than the header: the missing ones are empty
    expect(leadOfRecord(mapHeader(["Email", "Title"]), ["a@x.example"])).toEqual({ lead: { email: "a@x.example" } })
  })

  it("given_rows_when_typed_then_person_fields_make_a_person_company_fields_a_company_and_the_list_decides_the_rest", () => {
    expect(inferLeadType({ email: "a@x.example", company: { name: "X" } })).toBe("person")
    expect(inferLeadType({ name: { last: "Lovelace" } })).toBe("person")
    expect(inferLeadType({ linkedinUrl: "https://linkedin.com/in/ada" })).toBe("person")
    expect(inferLeadType({ socials: [{ url: "https://www.linkedin.com/in/ada" }] })).toBe("person")
    expect(inferLeadType({ company: { name: "Acme" }, industry: "Software" })).toBe("company")
    expect(inferLeadType({ linkedinUrl: "https://linkedin.com/company/acme" })).toBe("company")
    expect(inferLeadType({ domain: "acme.example" })).toBe("company")
    // neither: the List's type, else person
    expect(inferLeadType({ phone: "+1 555" })).toBe("person")
    expect(inferLeadType({ phone: "+1 555" }, { listType: "company" })).toBe("company")
    expect(inferLeadType({ location: { city: "Oslo" } }, { listType: "person" })).toBe("person")
    // the row's own type, then the forced type, come first
    expect(inferLeadType({ type: "company", email: "a@x.example" }, { forced: "person" })).toBe("company")
    expect(inferLeadType({ email: "a@x.example" }, { forced: "company" })).toBe("company")
    expect(typed({ email: "a@x.example" })).toEqual({ type: "person", email: "a@x.example" })
  })

  it("given_a_jsonl_object_when_made_a_lead_then_lead_keys_stay_aliases_map_and_overrides_win", () => {
    expect(
      leadOfObject(
        { "First Name": "Ada", name: { last: "L" }, Mail: "a@x.example", "Secondary Email": "b@x.example", x: 1 },
        [
          { column: "mail", field: "email" },
          { column: "x", field: null }
        ]
      )
    ).toEqual({
      name: { first: "Ada", last: "L" },
      email: "a@x.example",
      contacts: [{ type: "email", value: "b@x.example" }]
    })
  })

  it("given_rows_of_the_other_type_when_described_then_one_sentence_says_the_type_the_count_and_what_to_do", () => {
    const sentence = typeMismatchSentence({
      listId: "L",
      listType: "company",
      otherRows: 20_000,
      rows: 20_000,
      firstRows: [1, 2, 3, 4, 5],
      forceHint: (t) => `--type ${t}`
    })
    expect(sentence).toBe(
      "List L takes company Leads, but 20000 of the 20000 rows are people (rows 1, 2, 3, 4, 5, …): import the file into a person List or the List all, or pass --type company to import every row as a company; nothing was imported."
    )
    expect(sentence.split(". ").length).toBe(1)
  })

  it("given_a_header_line_when_the_delimiter_is_detected_then_the_most_frequent_one_outside_quotes_wins", () => {
    expect(detectDelimiter("First Name,Last Name,Email")).toBe(",")
    expect(detectDelimiter('\uFEFF"Name, full";Email;Title')).toBe(";")
    expect(detectDelimiter("a\tb\tc")).toBe("\t")
    expect(detectDelimiter("Email")).toBe(",")
    expect([parseDelimiter("tab"), parseDelimiter(";"), parseDelimiter("|")]).toEqual(["\t", ";", undefined])
  })

  it("given_a_mapping_when_described_then_each_column_and_what_is_not_imported_are_listed", () => {
    const lines = describeMapping(mapHeader(["Email", "Notes", "Owner"], [{ column: "Owner", field: null }]))
    expect(lines).toEqual([
      "  Email → email",
      "  Notes → not imported: no Lead field of that name",
      "  Owner → skipped (--map)",
      '1 of 3 columns mapped; not imported: Notes (--map "COLUMN=attributes.<key>" keeps one, --map "COLUMN=-" skips it, --strict refuses the file)'
    ])
  })
})
