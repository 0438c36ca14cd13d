/**
 * `POST /api/lists/import` with `Content-Type: text/csv`, over a real server and a real
 * PostgreSQL: the CRM-shaped header maps itself (the domain's ImportMapping, as the CLI), the
 * Lead type comes per row, rows that are not Leads are answered by row number with the reasons
 * and the rest is imported; the query carries the options (listId, type, map, delimiter,
 * strict, preview). What cannot be read — an unterminated quote, NUL, invalid UTF-8, a header
 * only, 100,000 columns — is a 400 that names the problem; over 5,000 rows or 1 MiB a 413; a
 * List of the other type one sentence; every refusal writes nothing (no table of the database
 * moves). The memory of a large import through a real API process: csv-import.process.test.ts.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { Reply } from "./support/HttpTestClient.ts"
import {
  ADMIN_TOKEN,
  allTableCounts,
  ApiOnlyTestServer,
  expectError,
  use,
  writesNothing
} from "./support/TestServer.ts"

const createWorkspace = use((api) =>
  api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Csv", credits: 0 } })
).pipe(Effect.map((r) => r.body.apiKey as string))

const createList = (key: string, leadType: "person" | "company") =>
  use((api) => api.post("/api/lists", { key, body: { name: `${leadType}s`, leadType } })).pipe(
    Effect.map((r) => r.body.list.id as string)
  )

/** A CSV body (text or bytes) to the import, with the query. */
const postCsv = (key: string, body: string | Uint8Array, query = "") =>
  use(async (api): Promise<Reply> => {
    const response = await fetch(`${api.baseUrl}/api/lists/import${query}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "text/csv" },
      body
    })
    const text = await response.text()
    let parsed: unknown = text
    try {
      parsed = JSON.parse(text)
    } catch {
      // not JSON
    }
    return { status: response.status, headers: response.headers, body: parsed }
  })

const ok = (reply: Reply) => {
  assert.strictEqual(reply.status, 200, JSON.stringify(reply.body).slice(0, 2000))
  return reply.body
}

const leadsOf = (key: string, listId: string) =>
  use((api) => api.get(`/api/lists/${listId}/leads?limit=500`, { key })).pipe(
    Effect.map((r) => r.body.leads as Array<any>)
  )

layer(ApiOnlyTestServer, { timeout: 120_000, excludeTestServices: true })("CSV import (integration)", (it) => {
  it.effect(
    "given_a_crm_header_and_a_person_list_when_the_csv_is_posted_then_every_field_is_set_the_type_is_inferred_and_bad_rows_come_back_by_number",
    () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace
        const list = yield* createList(key, "person")
        const csv = [
          "First Name,Last Name,Email,Title,Phone,Company",
          "Ada,Lovelace,ada@engines.example,CTO,+44 20 7946 0000,Analytical Engines",
          `Bad,Row,bad@engines.example,${"x".repeat(2_100)},,Engines`,
          "Grace,Hopper,grace@navy.example,Rear Admiral,+1 202 555 0100,US Navy",
          ",,,,,",
          "Too,Many,fields@engines.example,CEO,1,Corp,extra"
        ].join("\r\n")
        const reply = ok(yield* postCsv(key, csv, `?listId=${list}`))
        assert.deepStrictEqual(
          reply.mapping.map((c: { column: string; field: string }) => `${c.column}=${c.field}`),
          [
            "First Name=name.first",
            "Last Name=name.last",
            "Email=email",
            "Title=title",
            "Phone=phone",
            "Company=company.name"
          ]
        )
        assert.deepStrictEqual(reply.unmapped, [])
        // the blank row is skipped; rows 2 and 5 are answered, the others imported
        assert.deepStrictEqual([reply.rows, reply.created, reply.matched, reply.leadIds.length], [4, 2, 0, 2])
        assert.deepStrictEqual(
          reply.rejected.map((r: { row: number; reasons: Array<{ path: string }> }) => [r.row, r.reasons[0]!.path]),
          [
            [2, "title"],
            [5, "(row)"]
          ]
        )
        assert.match(reply.rejected[1].reasons[0].message, /7 fields, the header 6/)
        const stored = yield* leadsOf(key, list)
        const ada = stored.find((l) => l.email === "ada@engines.example")
        assert.deepStrictEqual(
          [ada.type, ada.name, ada.title, ada.contacts, ada.company],
          [
            "person",
            { first: "Ada", last: "Lovelace" },
            "CTO",
            [
              { type: "email", value: "ada@engines.example" },
              { type: "phone", value: "+44 20 7946 0000" }
            ],
            { name: "Analytical Engines" }
          ]
        )
      })
  )

  it.effect(
    "given_a_semicolon_file_with_a_bom_and_a_multi_line_field_when_posted_with_map_then_the_override_wins",
    () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace
        const csv = `\uFEFF"E-Mail";"Full Name";Notes;Score\n"lin@corp.example";"Lin ""the"" Wei";"line one\nline two";7\n`
        const reply = ok(
          yield* postCsv(
            key,
            new TextEncoder().encode(csv),
            `?map=${encodeURIComponent("Score=attributes.score")}&map=${encodeURIComponent("Notes=attributes.notes")}`
          )
        )
        assert.deepStrictEqual(
          reply.mapping.map((c: { field: string }) => c.field),
          ["email", "name.full", "attributes.notes", "attributes.score"]
        )
        const [lead] = (yield* use((api) => api.get(`/api/leads?id=${reply.leadIds[0]}`, { key }))).body.leads
        assert.deepStrictEqual(
          [lead.type, lead.email, lead.name.full, lead.attributes],
          ["person", "lin@corp.example", 'Lin "the" Wei', { notes: "line one\nline two", score: "7" }]
        )
        // a tab-separated file, its delimiter given
        const tabs = ok(yield* postCsv(key, "Company Name\tCompany Domain\nAcme\tacme.example\n", "?delimiter=tab"))
        const [company] = (yield* use((api) => api.get(`/api/leads?id=${tabs.leadIds[0]}`, { key }))).body.leads
        assert.deepStrictEqual([company.type, company.domain], ["company", "acme.example"])
      })
  )

  it.effect(
    "given_strict_preview_a_list_of_the_other_type_or_a_bad_query_when_posted_then_the_answer_says_so_and_nothing_is_written",
    () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace
        const companies = yield* createList(key, "company")
        const csv = "Email,Name,Favourite Colour\na@corp.example,A,blue\nb@corp.example,B,red\n"
        yield* writesNothing(
          Effect.gen(function* () {
            const strict = yield* postCsv(key, csv, "?strict=true")
            expectError(strict, 400, "VALIDATION_FAILED")
            assert.include(strict.body.message, "Favourite Colour")
            assert.deepStrictEqual(strict.body.details.unmapped, ["Favourite Colour"])

            const preview = ok(yield* postCsv(key, csv, "?preview=true"))
            assert.deepStrictEqual(preview.preview, { leadCount: 2, personCount: 2, companyCount: 0 })
            assert.deepStrictEqual(preview.unmapped, ["Favourite Colour"])
            // the first rows as the Leads they would import
            assert.deepStrictEqual(preview.sample, [
              { row: 1, lead: { type: "person", email: "a@corp.example", name: { full: "A" } } },
              { row: 2, lead: { type: "person", email: "b@corp.example", name: { full: "B" } } }
            ])

            const mismatch = yield* postCsv(key, csv, `?listId=${companies}`)
            expectError(mismatch, 400, "LEAD_TYPE_MISMATCH")
            assert.strictEqual(
              mismatch.body.message,
              `List ${companies} takes company Leads, but 2 of the 2 rows are people (rows 1, 2): import the file into a person List or the List all, or pass the query parameter type=company to import every row as a company; nothing was imported.`
            )
            assert.notProperty(mismatch.body.details, "leadIds")

            expectError(yield* postCsv(key, csv, "?listId=no-such-list"), 400, "LIST_NOT_FOUND")
            const badMap = yield* postCsv(key, csv, "?map=Email%3Dnope")
            expectError(badMap, 400, "VALIDATION_FAILED")
            assert.strictEqual(badMap.body.details.issues[0].path, "query.map[0]")
            expectError(yield* postCsv(key, csv, "?bogus=1"), 400, "VALIDATION_FAILED")
            // a JSON body takes no query: its options are in the body
            const json = yield* use((api) =>
              api.post("/api/lists/import?listId=x", {
                key,
                body: { leads: [{ type: "person", email: "j@x.example" }] }
              })
            )
            expectError(json, 400, "VALIDATION_FAILED")
            assert.strictEqual(json.body.details.issues[0].path, "query.listId")
          }),
          allTableCounts
        )
        // forced: every row a company, into the company List
        const forced = ok(yield* postCsv(key, csv, `?listId=${companies}&type=company`))
        assert.strictEqual(forced.created, 2)
      })
  )

  it.effect("given_bad_csv_when_posted_then_a_400_names_the_problem_never_a_500_and_nothing_is_written", () =>
    Effect.gen(function* () {
      const key = yield* createWorkspace
      const cases: ReadonlyArray<readonly [string, string | Uint8Array, RegExp]> = [
        ["unterminated quote", 'Email,Name\na@x.example,"Ada\nb@x.example,Bob\n', /unterminated quote.*line 2/],
        [
          "text after a closing quote",
          'Email,Name\na@x.example,"Ada"Lovelace\n',
          /line 2: text after the closing quote/
        ],
        ["NUL", "Email,Name\na@x.example,A\u0000da\n", /line 2: a NUL character/],
        [
          "invalid UTF-8",
          new Uint8Array([...new TextEncoder().encode("Email,Name\na@x.example,"), 0xc3, 0x28, 0x0a]),
          /not valid UTF-8/
        ],
        ["UTF-16", new Uint8Array(Buffer.from("\uFEFFEmail,Name\na@x.example,Ada\n", "utf16le")), /UTF-16/],
        ["a header only", "Email,Name\n", /a header and no rows/],
        ["nothing", "", /no header row/],
        [
          "100,000 columns",
          `${Array.from({ length: 100_000 }, (_, i) => `c${i}`).join(",")}\n1\n`,
          /the header has 100000 columns; at most 2000/
        ],
        ["no valid row", "Email,Type\na@x.example,robot\n", /None of the 1 rows is a valid Lead \(row 1: type/]
      ]
      yield* writesNothing(
        Effect.gen(function* () {
          for (const [name, body, message] of cases) {
            const reply = yield* postCsv(key, body)
            assert.strictEqual(reply.status, 400, `${name}: ${JSON.stringify(reply.body).slice(0, 500)}`)
            assert.strictEqual(reply.body.code, "VALIDATION_FAILED", name)
            assert.match(reply.body.message, message, name)
          }
        }),
        allTableCounts
      )
    })
  )

  it.effect("given_a_csv_over_the_request_limits_when_posted_then_413_and_nothing_is_written", () =>
    Effect.gen(function* () {
      const key = yield* createWorkspace
      const rows = (n: number) => `Email\n${Array.from({ length: n }, (_, i) => `r${i}@limits.example`).join("\n")}\n`
      yield* writesNothing(
        Effect.gen(function* () {
          const tooMany = yield* postCsv(key, rows(5_001))
          expectError(tooMany, 413, "PAYLOAD_TOO_LARGE")
          assert.include(tooMany.body.message, "5000 rows")
          // over 1 MiB: refused by its Content-Length, and when it is streamed without one
          const big = `Email,Notes\n${"a@limits.example,".concat("n".repeat(1_000), "\n").repeat(1_100)}`
          const declared = yield* postCsv(key, big)
          expectError(declared, 413, "PAYLOAD_TOO_LARGE")
          const streamed = yield* use(async (api) => {
            const bytes = new TextEncoder().encode(big)
            const body = new ReadableStream<Uint8Array>({
              start(controller) {
                for (let i = 0; i < bytes.length; i += 16_384) controller.enqueue(bytes.slice(i, i + 16_384))
                controller.close()
              }
            })
            const response = await fetch(`${api.baseUrl}/api/lists/import`, {
              method: "POST",
              headers: { authorization: `Bearer ${key}`, "content-type": "text/csv" },
              body,
              duplex: "half"
            } as RequestInit)
            return { status: response.status, body: (await response.json()) as { readonly code?: string } }
          })
          assert.deepStrictEqual([streamed.status, streamed.body.code], [413, "PAYLOAD_TOO_LARGE"])
        }),
        allTableCounts
      )
      // exactly at the row limit: imported
      assert.strictEqual(ok(yield* postCsv(key, rows(5_000))).created, 5_000)
    })
  )
})
