/**
 * The catalog's input schemas are the truth of what dispatch accepts: for every
 * enrichment the endpoint lists — the built-ins and configured ones (the PDL
 * and Apollo examples, the waterfall over them) — a JSON Schema validator
 * (Ajv, draft 2020-12) run on its published `inputSchema` and the API's own
 * verdict on a preview dispatch agree, input by input.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Ajv2020 } from "ajv/dist/2020.js"
import type { TestClient } from "./support/HttpTestClient.ts"
import { ADMIN_TOKEN, apiOnlyTestServer, TestServer } from "./support/TestServer.ts"

const examples = ["people-data-labs.json", "apollo.json", "person-waterfall.json"].map(
  (f) => new URL(`../../../examples/catalog/${f}`, import.meta.url).pathname
)

const Api = apiOnlyTestServer({
  ENRICH_CATALOG_FILES: examples.join(","),
  PDL_API_KEY: "pdl-test",
  APOLLO_API_KEY: "apollo-test"
})

const use = <A>(f: (api: TestClient) => Promise<A>) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    return yield* Effect.promise(() => f(api))
  })

type JsonSchema = {
  readonly type?: string
  readonly properties?: Record<string, JsonSchema>
  readonly minimum?: number
  readonly maximum?: number
  readonly maxLength?: number
  readonly enum?: ReadonlyArray<unknown>
}

/** Inputs worth asking about, from the schema: each declared field right, wrong-typed and out of bounds. */
const candidates = (schema: JsonSchema): Array<Record<string, unknown>> => {
  const out: Array<Record<string, unknown>> = [{}, { not_a_field: 1 }, { ["__proto__"]: 1 }]
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const values: Array<unknown> = [null, true, {}, [], "text", 1, 1.5, -1]
    if (field.minimum !== undefined) values.push(field.minimum, field.minimum - 1)
    if (field.maximum !== undefined) values.push(field.maximum, field.maximum + 1)
    if (field.maxLength !== undefined) values.push("x".repeat(field.maxLength), "x".repeat(field.maxLength + 1))
    for (const v of field.enum ?? []) values.push(v)
    for (const value of values) out.push({ [name]: value })
  }
  return out
}

layer(Api, { timeout: 120_000, excludeTestServices: true })("Catalog schemas (HTTP)", (it) => {
  it.effect("every_listed_input_schema_accepts_exactly_the_inputs_dispatch_accepts", () =>
    Effect.gen(function* () {
      const { key, leadId } = yield* use(async (api) => {
        const created = await api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Schemas", credits: 5 } })
        const key = created.body.apiKey as string
        const imported = await api.post("/api/lists/import", {
          key,
          body: { leads: [{ type: "person", email: "ada@corp.example", name: { full: "Ada Lovelace" } }] }
        })
        return { key, leadId: imported.body.leadIds[0] as string }
      })
      const listed = yield* use((api) => api.get("/api/enrichments", { key }))
      const slugs = listed.body.enrichments.map((e: any) => e.slug)
      for (const expected of ["email_validation", "pdl_person", "apollo_people_match", "person_waterfall"]) {
        assert.include(slugs, expected)
      }
      const ajv = new Ajv2020({ strict: false })
      let asked = 0
      let accepted = 0
      for (const enrichment of listed.body.enrichments) {
        if (enrichment.subject !== "person") continue
        const validate = ajv.compile(enrichment.inputSchema)
        for (const input of candidates(enrichment.inputSchema)) {
          const reply = yield* use((api) =>
            api.post("/api/enrichment", {
              key,
              body: {
                enrichmentId: enrichment.id,
                scope: { type: "explicit_leads", leadIds: [leadId] },
                mode: "preview",
                input
              }
            })
          )
          const schemaSays = validate(input)
          assert.notStrictEqual(reply.status, 500, JSON.stringify(reply.body))
          const apiSays = reply.status === 200
          if (!apiSays) assert.strictEqual(reply.body.code, "INPUT_INVALID", JSON.stringify(reply.body))
          assert.strictEqual(
            apiSays,
            schemaSays,
            `${enrichment.slug} input ${JSON.stringify(input)}: schema ${schemaSays}, API ${reply.status} ${JSON.stringify(reply.body)}`
          )
          asked++
          if (apiSays) accepted++
        }
      }
      // both verdicts occurred, and the preview changed nothing
      assert.isAbove(accepted, 4)
      assert.isAbove(asked - accepted, 10)
      const runs = yield* use((api) => api.get("/api/enrichment", { key }))
      assert.deepStrictEqual(runs.body.runs ?? runs.body.data ?? [], [])
    })
  )
})
