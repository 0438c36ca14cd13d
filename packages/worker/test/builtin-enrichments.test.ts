/**
 * The offline built-in enrichments end to end: phone normalisation, name
 * parsing and job-title classification dispatched over HTTP to the real server
 * and engine, results read back from the items and the Leads' attributes, and
 * credits charged by each enrichment's `chargeOn`.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { eventually, type TestClient } from "@enrich/http/testing/HttpTestClient"
import { ADMIN_TOKEN, TestServer } from "@enrich/http/testing/TestServer"
import { FullApp } from "./support/FullApp.ts"

const use = <A>(f: (api: TestClient) => Promise<A>) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    return yield* Effect.promise(() => f(api))
  })

const setUp = (api: TestClient, credits: number) =>
  Effect.promise(async () => {
    const ws = await api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Acme", credits } })
    return ws.body.apiKey as string
  })

const waitForSettled = (api: TestClient, key: string, runId: string) =>
  Effect.promise(() =>
    eventually(async () => {
      const status = await api.get(`/api/enrichment/${runId}`, { key })
      return status.body.run.timing.settledAt === null ? undefined : status.body.run
    })
  )

/** Imports the Leads into a new List, runs the enrichment on it, and returns the settled run, items and Leads by input order. */
const runOn = (key: string, enrichmentId: string, leads: ReadonlyArray<unknown>) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    const listId = yield* use(
      async (api) => (await api.post("/api/lists", { key, body: { name: enrichmentId } })).body.list.id as string
    )
    const imported = yield* use((api) => api.post("/api/lists/import", { key, body: { listId, leads } }))
    assert.strictEqual(imported.status, 200, JSON.stringify(imported.body))
    const leadIds = imported.body.leadIds as ReadonlyArray<string>
    const dispatched = yield* use((api) =>
      api.post("/api/enrichment", { key, body: { enrichmentId, scope: { type: "list", listId } } })
    )
    assert.strictEqual(dispatched.status, 202, JSON.stringify(dispatched.body))
    const run = yield* waitForSettled(api, key, dispatched.body.runId)
    const items = yield* use((api) => api.get(`/api/enrichment/${run.id}/items`, { key }))
    const byLead = new Map(items.body.items.map((i: any) => [i.leadId, i]))
    const listed = yield* use((api) => api.get(`/api/lists/${listId}/leads`, { key }))
    const leadById = new Map(listed.body.leads.map((l: any) => [l.id, l]))
    return {
      run,
      items: leadIds.map((id) => byLead.get(id) as any),
      leads: leadIds.map((id) => leadById.get(id) as any)
    }
  })

layer(FullApp, { timeout: 180_000, excludeTestServices: true })("Built-in enrichments (end to end)", (it) => {
  it.effect("the_catalog_lists_the_new_enrichments_with_their_contracts", () =>
    Effect.gen(function* () {
      const api = yield* TestServer
      const key = yield* setUp(api, 0)
      const listed = yield* use((api) => api.get("/api/enrichments", { key }))
      const bySlug = new Map(listed.body.enrichments.map((e: any) => [e.slug, e]))
      const expected = [
        ["phone_normalization", ["phone", "location.country"], "PHONE_NORMALIZATION", "found"],
        ["name_parsing", ["name.full", "name.first", "name.last"], "NAME_PARSING", "completed"],
        ["job_title_classification", ["title"], "JOB_TITLE_CLASSIFICATION", "completed"]
      ] as const
      for (const [slug, reads, creditAction, chargeOn] of expected) {
        const contract = bySlug.get(slug) as any
        assert.isDefined(contract, slug)
        assert.strictEqual(contract.subject, "person")
        assert.deepStrictEqual(contract.reads, reads)
        assert.deepStrictEqual(contract.costModel, { creditAction, unitCost: 1, chargeOn })
        assert.deepStrictEqual(contract.defaultOutput, { target: "lead_attribute", attributeKey: slug })
        assert.strictEqual(contract.outputSchema.type, "object")
        assert.include(contract.outputSchema.required, "found")
      }
    })
  )

  it.effect("phone_normalization:_numbers_are_normalised_in_the_leads_country_and_only_valid_ones_are_charged", () =>
    Effect.gen(function* () {
      const api = yield* TestServer
      const key = yield* setUp(api, 100)
      const { run, items, leads } = yield* runOn(key, "phone_normalization", [
        { type: "person", phone: "+44 20 7123 4567" },
        { type: "person", phone: "030 12345678", location: { country: "Deutschland" } },
        { type: "person", contacts: [{ type: "phone", value: "1-800-FLOWERS ext. 7" }], location: { country: "US" } },
        { type: "person", phone: "not a phone" },
        { type: "person", name: { full: "No Phone" } },
        { type: "person", phone: "(212) 555-0100", location: { country: "US" } }
      ])
      const [uk, berlin, vanity, garbage, none, fiction] = items
      assert.strictEqual(run.status, "completed")
      assert.deepStrictEqual(run.scope.counts, { pending: 0, running: 0, completed: 6, skipped: 0, failed: 0 })
      assert.deepStrictEqual(run.cost.actual, { reserved: 6, captured: 3, released: 3 })

      assert.deepStrictEqual(
        [uk.result.e164, uk.result.country, uk.result.lineType, uk.result.found],
        ["+442071234567", "GB", "fixed_line", true]
      )
      assert.deepStrictEqual(uk.metadata.leadSnapshot, { phone: "+44 20 7123 4567", country: null })
      assert.deepStrictEqual(
        [berlin.result.e164, berlin.result.national, berlin.result.defaultCountry],
        ["+493012345678", "030 12345678", "DE"]
      )
      assert.deepStrictEqual(
        [vanity.result.e164, vanity.result.extension, vanity.result.lineType, vanity.result.vanity],
        ["+18003569377", "7", "toll_free", true]
      )
      assert.deepStrictEqual([garbage.result.reason, garbage.result.found], ["not_a_number", false])
      assert.deepStrictEqual([none.result.reason, none.result.found], ["missing", false])
      // 555-0100 is reserved for fiction: formatted, but no one answers it, so not found and not charged
      assert.deepStrictEqual(
        [fiction.result.e164, fiction.result.valid, fiction.result.reason, fiction.result.found],
        ["+12125550100", false, "fictional_number", false]
      )

      assert.strictEqual(leads[0].attributes.phone_normalization.e164, "+442071234567")
      assert.strictEqual(leads[1].attributes.phone_normalization.country, "DE")
    })
  )

  it.effect("name_parsing:_full_names_and_first_last_fields_are_split_and_every_completed_item_is_charged", () =>
    Effect.gen(function* () {
      const api = yield* TestServer
      const key = yield* setUp(api, 100)
      const { run, items, leads } = yield* runOn(key, "name_parsing", [
        { type: "person", name: { full: "Dr. Martin Luther King, Jr." } },
        { type: "person", name: { full: "María José de la Fuente García" } },
        { type: "person", name: { full: "山田太郎" } },
        { type: "person", name: { first: "GRACE", last: "HOPPER" } },
        { type: "person", email: "nameless@corp.example" }
      ])
      const [king, maria, yamada, grace, nameless] = items
      assert.strictEqual(run.status, "completed")
      assert.deepStrictEqual(run.cost.actual, { reserved: 5, captured: 5, released: 0 })

      assert.deepStrictEqual(
        [king.result.honorific, king.result.first, king.result.middle, king.result.last, king.result.suffix],
        ["Dr", "Martin", "Luther", "King", "Jr"]
      )
      assert.deepStrictEqual(king.metadata.leadSnapshot, {
        full: "Dr. Martin Luther King, Jr.",
        first: null,
        last: null
      })
      assert.deepStrictEqual([maria.result.first, maria.result.last], ["María", "de la Fuente García"])
      assert.deepStrictEqual(
        [yamada.result.last, yamada.result.first, yamada.result.order],
        ["山田", "太郎", "family_given"]
      )
      assert.deepStrictEqual(
        [grace.result.source, grace.result.first, grace.result.last],
        ["first_last", "Grace", "Hopper"]
      )
      assert.deepStrictEqual([nameless.result.reason, nameless.result.found], ["missing", false])

      assert.strictEqual(leads[1].attributes.name_parsing.last, "de la Fuente García")
    })
  )

  it.effect("job_title_classification:_titles_in_several_languages_get_a_seniority_and_departments", () =>
    Effect.gen(function* () {
      const api = yield* TestServer
      const key = yield* setUp(api, 100)
      const { run, items, leads } = yield* runOn(key, "job_title_classification", [
        { type: "person", title: "VP, Eng & Ops" },
        { type: "person", title: "Geschäftsführer" },
        { type: "person", title: "Gerente de Ventas" },
        { type: "person", title: "Co-Founder & CTO" },
        { type: "person", title: "Ninja" },
        { type: "person", name: { full: "No Title" } }
      ])
      const [vp, gf, gerente, founder, ninja, none] = items
      assert.strictEqual(run.status, "completed")
      assert.deepStrictEqual(run.cost.actual, { reserved: 6, captured: 6, released: 0 })

      assert.deepStrictEqual(
        [vp.result.seniority, vp.result.department, vp.result.departments],
        ["vp", "engineering", ["engineering", "operations"]]
      )
      assert.deepStrictEqual([gf.result.seniority, gf.result.department], ["c_level", "executive"])
      assert.deepStrictEqual([gerente.result.seniority, gerente.result.department], ["manager", "sales"])
      assert.deepStrictEqual(
        [founder.result.seniority, founder.result.departments, founder.result.founderOrOwner],
        ["c_level", ["engineering", "executive"], true]
      )
      assert.deepStrictEqual([ninja.result.reason, ninja.result.found], ["unrecognised", false])
      assert.deepStrictEqual([none.result.reason, none.result.found], ["missing", false])

      assert.strictEqual(leads[0].attributes.job_title_classification.seniority, "vp")
      assert.strictEqual(leads[2].attributes.job_title_classification.department, "sales")
    })
  )
})
