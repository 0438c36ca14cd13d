/**
 * `enrich lead import` on the files people have, through the real binary against a real API
 * server and PostgreSQL: the export files of Apollo, HubSpot (with a BOM, every field quoted,
 * CRLF), Salesforce (`;`-separated, a `;` inside a quoted field) and Sales Navigator
 * (PhantomBuster's camelCase header), committed in test/fixtures/ with their real header rows,
 * each imported with every contact field mapped and its printed mapping asserted; the README's
 * `First Name,Last Name,Email,Title,Phone,Company` file into a person List with no --type;
 * `--strict`, `--dry-run` (the row counts of every table before and after), a List of the other
 * type (one sentence, exit 2) and a file that cannot be read (exit 2, nothing written).
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { allTableCounts, ApiOnlyTestServer, TestServer } from "@enrich/http/testing/TestServer"
import type { CliResult, cliFor } from "./support/Cli.ts"
import { promise, testTimeout, workspaceThroughCli } from "./support/CliServer.ts"

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url))

/** A workspace, its CLI, and a fresh directory with a copy of `fixture` (the importer writes next to the file). */
const setUp = Effect.gen(function* () {
  const { baseUrl } = yield* TestServer
  const { cli } = yield* workspaceThroughCli(baseUrl, "Importer")
  const dir = mkdtempSync(join(tmpdir(), "enrich-fixtures-"))
  const copy = (fixture: string) => {
    copyFileSync(join(fixtures, fixture), join(dir, fixture))
    return join(dir, fixture)
  }
  const list = (leadType: "person" | "company") =>
    promise(async () => {
      const created = await cli(["list", "create", "--name", `${leadType} list`, "--lead-type", leadType])
      assert.strictEqual(created.code, 0, created.stderr)
      return created.json.list.id as string
    })
  return { cli, dir, copy, list }
})

const examples = fileURLToPath(new URL("../../../examples/", import.meta.url))

/** The mapping lines the importer printed: `column → field` for each column, in order. */
const printedMapping = (result: CliResult) =>
  result.stderr
    .split("\n")
    .filter((l) => l.startsWith("  ") && l.includes(" → "))
    .map((l) => l.trim().replace(/\s+→/, " →"))

const leadsOf = (cli: ReturnType<typeof cliFor>, listId: string) =>
  promise(async () => {
    const page = await cli(["list", "leads", listId, "--limit", "500"])
    assert.strictEqual(page.code, 0, page.stderr)
    return page.json.leads as Array<any>
  })

layer(ApiOnlyTestServer, { timeout: 600_000, excludeTestServices: true })("enrich lead import (real binary)", (it) => {
  it.effect(
    "given_the_readme_file_when_imported_into_a_person_list_without_type_then_every_field_is_set",
    () =>
      Effect.gen(function* () {
        const { cli, dir, copy, list } = yield* setUp
        const people = yield* list("person")
        const result = yield* promise(() => cli(["lead", "import", copy("readme.csv"), "--list", people]))
        assert.strictEqual(result.code, 0, result.stderr)
        assert.deepStrictEqual(printedMapping(result), [
          "First Name → name.first",
          "Last Name → name.last",
          "Email → email",
          "Title → title",
          "Phone → phone",
          "Company → company.name"
        ])
        assert.include(result.stderr, "6 of 6 columns mapped\n")
        assert.deepStrictEqual(
          [result.json.rows, result.json.created, result.json.rejected, result.json.people, result.json.unmapped],
          [2, 2, 0, 2, []]
        )
        const [ada] = (yield* leadsOf(cli, people)).filter((l) => l.email === "ada@engines.example")
        assert.deepStrictEqual(
          [ada.type, ada.name, ada.title, ada.company, ada.contacts],
          [
            "person",
            { first: "Ada", last: "Lovelace" },
            "CTO",
            { name: "Analytical Engines" },
            [
              { type: "email", value: "ada@engines.example" },
              { type: "phone", value: "+44 20 7946 0000" }
            ]
          ]
        )

        // the README's CLI example, as written: a dry run of examples/leads.csv, then the import
        const prospects = yield* list("person")
        const example = join(dir, "leads.csv")
        copyFileSync(join(examples, "leads.csv"), example)
        const dry = yield* promise(() => cli(["lead", "import", example, "--list", prospects, "--dry-run"]))
        assert.strictEqual(dry.code, 0, dry.stderr)
        assert.include(printedMapping(dry), "Score → not imported: no Lead field of that name")
        assert.deepStrictEqual([dry.json.rows, dry.json.people, dry.json.unmapped], [4, 4, ["Score"]])
        const imported = yield* promise(() =>
          cli(["lead", "import", example, "--list", prospects, "--map", "Score=attributes.score"])
        )
        assert.strictEqual(imported.code, 0, imported.stderr)
        assert.include(printedMapping(imported), "Score → attributes.score (--map)")
        // Ada is there already (the file above): matched, not created
        assert.deepStrictEqual([imported.json.imported, imported.json.matched, imported.json.rejected], [4, 1, 0])
        const grace = (yield* leadsOf(cli, prospects)).find((l) => l.name.first === "Grace")
        assert.deepStrictEqual(
          [grace.email, grace.title, grace.company.name, grace.attributes],
          ["Grace.Hopper@Navy.mil", "Rear Admiral", "US Navy", { score: "92" }]
        )

        // JSONL: a line is a Lead; keys that are not Lead fields go through the same aliases
        const jsonl = join(dir, "leads.jsonl")
        writeFileSync(
          jsonl,
          '{"type":"person","email":"lin@corp.example","name":{"full":"Lin Wei"}}\n{"First Name":"Kofi","Work Email":"kofi@corp.example","Job Title":"CFO"}\nnot json\n'
        )
        const lines = yield* promise(() => cli(["lead", "import", jsonl, "--list", prospects]))
        assert.strictEqual(lines.code, 0, lines.stderr)
        assert.deepStrictEqual([lines.json.format, lines.json.created, lines.json.rejected], ["jsonl", 2, 1])
        const kofi = (yield* leadsOf(cli, prospects)).find((l) => l.email === "kofi@corp.example")
        assert.deepStrictEqual([kofi.type, kofi.name, kofi.title], ["person", { first: "Kofi" }, "CFO"])
      }),
    testTimeout
  )

  it.effect(
    "given_the_export_files_of_apollo_hubspot_salesforce_and_sales_navigator_when_imported_then_every_contact_field_is_mapped_and_stored",
    () =>
      Effect.gen(function* () {
        const { cli, copy, list } = yield* setUp
        const cases = [
          {
            file: "apollo-people.csv",
            delimiter: '","',
            mapped: [
              "First Name → name.first",
              "Last Name → name.last",
              "Title → title",
              "Company → company.name",
              "Email → email",
              "Work Direct Phone → phone",
              "Mobile Phone → contacts.phone",
              "Person Linkedin Url → linkedinUrl",
              "City → location.city",
              "State → location.state",
              "Country → location.country",
              "Company Address → attributes.company_address",
              "Secondary Email → contacts.email"
            ],
            email: "maya.okafor@northwind.example",
            expect: {
              name: { first: "Maya", last: "Okafor" },
              title: "Chief Technology Officer",
              company: { name: "Northwind Labs" },
              linkedinUrl: "http://www.linkedin.com/in/maya-okafor-example",
              location: { city: "San Francisco", state: "California", country: "United States" },
              phones: ["+1 415-555-0142", "+1 415-555-0199", "+1 415-555-0100"],
              emails: ["maya.okafor@northwind.example", "maya@okafor.example"],
              // the quoted field over three lines
              attribute: ["company_address", "500 Howard St\nSuite 300\nSan Francisco, CA 94105"]
            }
          },
          {
            file: "hubspot-contacts.csv",
            delimiter: '","',
            mapped: [
              "Record ID → attributes.record_id",
              "First Name → name.first",
              "Last Name → name.last",
              "Email → email",
              "Phone Number → phone",
              "Job Title → title",
              "Company Name → company.name",
              'Associated Company → not imported: "Company Name" fills the same field',
              "Mobile Phone Number → contacts.phone",
              "City → location.city",
              "State/Region → location.state",
              "Country/Region → location.country"
            ],
            email: "lena.fischer@contoso.example",
            expect: {
              name: { first: "Lena", last: "Fischer" },
              title: "Head of Marketing",
              company: { name: "Contoso GmbH" },
              linkedinUrl: null,
              location: { city: "Berlin", state: "Berlin", country: "Germany" },
              phones: ["+49 30 901820", "+49 151 23456789"],
              emails: ["lena.fischer@contoso.example"],
              attribute: ["record_id", "51234567801"]
            }
          },
          {
            file: "salesforce-contacts.csv",
            delimiter: '";"',
            mapped: [
              "Salutation → not imported: no Lead field of that name",
              "First Name → name.first",
              "Last Name → name.last",
              "Title → title",
              "Account Name → company.name",
              "Email → email",
              "Phone → phone",
              "Mobile → contacts.phone",
              "Mailing City → location.city",
              "Mailing State/Province → location.state",
              "Mailing Country → location.country"
            ],
            email: "lukas.novak@tailspin.example",
            expect: {
              name: { first: "Lukas", last: "Novak" },
              // a `;` inside a quoted field of a `;`-separated file
              title: "IT Manager; Infrastructure",
              company: { name: "Tailspin SA" },
              linkedinUrl: null,
              location: { city: "Paris", state: "Île-de-France", country: "France" },
              phones: ["+33 1 23 45 67 90"],
              emails: ["lukas.novak@tailspin.example"],
              attribute: ["contact_id", "0035g00000AbCdEAA2"]
            }
          },
          {
            file: "sales-navigator.csv",
            delimiter: '","',
            mapped: [
              "profileUrl → socials",
              "fullName → name.full",
              "firstName → name.first",
              "lastName → name.last",
              "companyName → company.name",
              "title → title",
              "industry → industry",
              "location → attributes.location",
              'name → not imported: "fullName" fills the same field',
              "linkedInProfileUrl → linkedinUrl",
              "defaultProfileUrl → socials"
            ],
            email: null,
            expect: {
              name: { full: "Noah Berg", first: "Noah", last: "Berg" },
              title: "Head of Data",
              company: { name: "Litware Inc." },
              linkedinUrl: "https://www.linkedin.com/in/noah-berg-example",
              location: {},
              phones: [],
              emails: [],
              attribute: ["location", "Seattle, Washington, United States"]
            }
          }
        ] as const
        for (const c of cases) {
          const people = yield* list("person")
          const result = yield* promise(() => cli(["lead", "import", copy(c.file), "--list", people]))
          assert.strictEqual(result.code, 0, `${c.file}: ${result.stderr}`)
          assert.include(result.stderr, `delimiter ${c.delimiter}`, c.file)
          const printed = printedMapping(result)
          for (const line of c.mapped) assert.include(printed, line, `${c.file}: ${printed.join("\n")}`)
          assert.deepStrictEqual(
            [result.json.rows, result.json.created, result.json.rejected, result.json.people],
            [3, 3, 0, 3],
            c.file
          )
          const stored = yield* leadsOf(cli, people)
          assert.strictEqual(stored.length, 3, c.file)
          const lead =
            c.email === null ? stored.find((l) => l.name.first === "Noah") : stored.find((l) => l.email === c.email)
          assert.isDefined(lead, c.file)
          assert.deepStrictEqual<unknown>(
            {
              name: lead.name,
              title: lead.title,
              company: lead.company,
              linkedinUrl: lead.linkedinUrl,
              location: lead.location,
              phones: lead.contacts.filter((x: any) => x.type === "phone").map((x: any) => x.value),
              emails: lead.contacts.filter((x: any) => x.type === "email").map((x: any) => x.value),
              attribute: [c.expect.attribute[0], lead.attributes[c.expect.attribute[0]]]
            },
            c.expect,
            c.file
          )
          assert.strictEqual(lead.type, "person", c.file)
        }
      }),
    testTimeout
  )

  it.effect(
    "given_strict_or_dry_run_when_imported_then_strict_refuses_unmapped_columns_and_a_dry_run_shows_the_leads_and_writes_nothing",
    () =>
      Effect.gen(function* () {
        const { cli, copy, list } = yield* setUp
        const people = yield* list("person")
        const file = copy("hubspot-contacts.csv")
        const before = yield* allTableCounts
        const strict = yield* promise(() => cli(["lead", "import", file, "--list", people, "--strict"]))
        assert.deepStrictEqual([strict.code, strict.error?.code], [2, "VALIDATION_FAILED"], strict.stderr)
        assert.include(
          strict.error.message,
          "--strict: columns not mapped to a Lead field: Contact owner, Marketing contact status, Create Date, Last Activity Date, Associated Company"
        )
        assert.include(strict.stderr, "Email                    → email")

        const dry = yield* promise(() => cli(["lead", "import", file, "--list", people, "--dry-run"]))
        assert.strictEqual(dry.code, 0, dry.stderr)
        assert.include(dry.stderr, "First Name               → name.first")
        assert.deepStrictEqual(
          [dry.json.dryRun, dry.json.rows, dry.json.people, dry.json.wouldReject, dry.json.leads.length],
          [true, 3, 3, 0, 3]
        )
        assert.deepStrictEqual(dry.json.leads[0], {
          row: 1,
          lead: {
            type: "person",
            attributes: {
              record_id: "51234567801",
              lead_status: "Open",
              lifecycle_stage: "Lead",
              website: "https://contoso.example"
            },
            name: { first: "Lena", last: "Fischer" },
            email: "lena.fischer@contoso.example",
            phone: "+49 30 901820",
            title: "Head of Marketing",
            company: { name: "Contoso GmbH" },
            contacts: [{ type: "phone", value: "+49 151 23456789" }],
            location: { city: "Berlin", state: "Berlin", country: "Germany" }
          }
        })
        // strict with every other column skipped on purpose: it passes the check (here, as a dry run)
        const skipped = yield* promise(() =>
          cli([
            "lead",
            "import",
            file,
            "--strict",
            "--dry-run",
            ...[
              "Contact owner",
              "Marketing contact status",
              "Create Date",
              "Last Activity Date",
              "Associated Company"
            ].flatMap((column) => ["--map", `${column}=-`])
          ])
        )
        assert.strictEqual(skipped.code, 0, skipped.stderr)
        assert.deepStrictEqual(skipped.json.unmapped, [])
        assert.deepStrictEqual(yield* allTableCounts, before, "neither --strict nor --dry-run wrote anything")
        assert.isFalse(existsSync(`${file}.rejected.jsonl`))
      }),
    testTimeout
  )

  it.effect(
    "given_a_list_of_the_other_type_or_a_file_that_cannot_be_read_when_imported_then_one_sentence_exit_2_and_nothing_written",
    () =>
      Effect.gen(function* () {
        const { cli, dir, copy, list } = yield* setUp
        const companies = yield* list("company")
        const file = copy("readme.csv")
        const broken = join(dir, "broken.csv")
        writeFileSync(broken, 'Email,Name\nok@x.example,Ok\nbad@x.example,"Unterminated\nnext@x.example,Next\n')
        const before = yield* allTableCounts
        const wrong = yield* promise(() => cli(["lead", "import", file, "--list", companies]))
        assert.deepStrictEqual([wrong.code, wrong.error?.code], [2, "LEAD_TYPE_MISMATCH"], wrong.stderr)
        assert.strictEqual(
          wrong.error.message,
          `List ${companies} takes company Leads, but 2 of the 2 rows are people (rows 1, 2): import the file into a person List or the List all, or pass --type company to import every row as a company; nothing was imported.`
        )
        assert.notProperty(wrong.error.details, "leadIds")
        const unreadable = yield* promise(() => cli(["lead", "import", broken]))
        assert.deepStrictEqual([unreadable.code, unreadable.error?.code], [2, "VALIDATION_FAILED"], unreadable.stderr)
        assert.match(unreadable.error.message, /unterminated quote: the row that starts on line 3/)
        assert.match(unreadable.error.message, /nothing was imported/)
        assert.deepStrictEqual(yield* allTableCounts, before)
        // the same file, every row forced to the List's type: imported
        const forced = yield* promise(() => cli(["lead", "import", file, "--list", companies, "--type", "company"]))
        assert.deepStrictEqual([forced.code, forced.json?.created], [0, 2], forced.stderr)
      }),
    testTimeout
  )
})
