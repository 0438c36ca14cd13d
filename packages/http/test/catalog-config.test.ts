/**
 * The catalog endpoint over a configured catalog (ENRICH_CATALOG_FILES): a
 * waterfall over built-ins is listed with its full contract and schemas, found
 * by `q` and `id`, quoted by the credit preview; a built-in the operator turned
 * off or hid is neither listed nor dispatchable (but a hidden one still serves
 * as a waterfall step).
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { builtinEntries } from "@enrich/catalog/Catalog"
import type { TestClient } from "./support/HttpTestClient.ts"
import { ADMIN_TOKEN, apiOnlyTestServer, TestServer } from "./support/TestServer.ts"

const catalogFile = () => {
  const file = join(mkdtempSync(join(tmpdir(), "enrich-catalog-http-")), "catalog.json")
  writeFileSync(
    file,
    JSON.stringify({
      enrichments: [
        { kind: "builtin", slug: "job_title_classification", enabled: false },
        { kind: "builtin", slug: "phone_normalization", visibility: "hidden" },
        {
          kind: "waterfall",
          slug: "contact_point",
          name: "Contact point",
          description: "A valid phone number, else a deliverable email.",
          steps: ["phone_normalization", "email_validation"],
          costModel: { creditAction: "CONTACT_POINT", unitCost: 2, chargeOn: "found" }
        }
      ]
    })
  )
  return file
}

const ConfiguredApi = apiOnlyTestServer({ ENRICH_CATALOG_FILES: catalogFile() })

const use = <A>(f: (api: TestClient) => Promise<A>) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    return yield* Effect.promise(() => f(api))
  })

layer(ConfiguredApi, { timeout: 120_000, excludeTestServices: true })("Configured catalog (HTTP)", (it) => {
  it.effect(
    "the_catalog_endpoint_lists_the_configured_waterfall_with_its_schemas_and_leaves_out_what_the_operator_hid",
    () =>
      Effect.gen(function* () {
        const key = yield* use(
          async (api) =>
            (await api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Acme", credits: 10 } })).body
              .apiKey as string
        )
        const listed = yield* use((api) => api.get("/api/enrichments", { key }))
        assert.strictEqual(listed.status, 200)
        assert.deepStrictEqual(
          listed.body.enrichments.map((e: any) => e.slug),
          ["email_validation", "company_domain", "name_parsing", "contact_point"]
        )
        const phone = builtinEntries.find((e) => e.contract.slug === "phone_normalization")!.contract
        const email = builtinEntries.find((e) => e.contract.slug === "email_validation")!.contract
        const waterfall = listed.body.enrichments.find((e: any) => e.slug === "contact_point")
        assert.deepStrictEqual(waterfall, {
          id: "contact_point",
          slug: "contact_point",
          name: "Contact point",
          description: "A valid phone number, else a deliverable email.",
          subject: "person",
          version: 1,
          enabled: true,
          visibility: "public",
          reads: ["phone", "location.country", "email"],
          inputSchema: { type: "object", properties: {}, additionalProperties: false },
          outputSchema: { anyOf: [phone.outputSchema, email.outputSchema] },
          defaultOutput: { target: "lead_attribute", attributeKey: "contact_point" },
          defaultOutputAttributeKey: "contact_point",
          outputOverridePolicy: { targets: ["lead_attribute", "membership_attribute"], attributeKey: true },
          costModel: { creditAction: "CONTACT_POINT", unitCost: 2, chargeOn: "found" },
          toolBinding: { type: "waterfall", taskId: "waterfall.contact_point" }
        })
        const byQuery = yield* use((api) => api.get("/api/enrichments?q=deliverable", { key }))
        assert.deepStrictEqual(
          byQuery.body.enrichments.map((e: any) => e.slug),
          ["contact_point"]
        )
        const byId = yield* use((api) => api.get("/api/enrichments?id=contact_point", { key }))
        assert.deepStrictEqual(byId.body.enrichments, [waterfall])
        for (const slug of ["job_title_classification", "phone_normalization"]) {
          const gone = yield* use((api) => api.get(`/api/enrichments?id=${slug}`, { key }))
          assert.strictEqual(gone.status, 404, slug)
          const dispatched = yield* use((api) =>
            api.post("/api/enrichment", {
              key,
              body: { enrichmentId: slug, scope: { type: "list", listId: "all" }, mode: "preview" }
            })
          )
          assert.strictEqual(dispatched.body.code, "ENRICHMENT_NOT_FOUND", slug)
        }
        // the waterfall's own price is what a dispatch quotes
        const preview = yield* use((api) =>
          api.post("/api/credits/preview", { key, body: { enrichmentId: "contact_point", count: 4 } })
        )
        assert.deepInclude(preview.body, { creditAction: "CONTACT_POINT", unitCost: 2, required: 8, sufficient: true })
      })
  )
})
