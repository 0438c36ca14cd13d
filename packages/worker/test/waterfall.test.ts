/**
 * Waterfall enrichment end to end (issue #6's Done-when): two vendors as real
 * local HTTP servers, each counting the Leads it is asked about, configured as
 * `http` entries in a catalog file (ENRICH_CATALOG_FILES) with a waterfall
 * over them; a persisted run over N Leads through the real API, engine,
 * executor and database. Provider 2 is asked only about the Leads provider 1
 * did not find, each item records the provider that answered, and under
 * `chargeOn: "found"` only found Leads are charged. The catalog endpoint lists
 * the configured waterfall with its schemas and leaves the hidden vendors out.
 */
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "@enrich/adapters/postgres/EmbeddedPostgres"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { scaled } from "@enrich/domain/testing/TestScale"
import { eventually } from "@enrich/http/testing/HttpTestClient"
import { ADMIN_TOKEN, TestServer, testConfig, testServer } from "@enrich/http/testing/TestServer"
import { apiAndWorker } from "./support/FullApp.ts"

/**
 * A vendor: finds the emails `knows` says it knows (200 with a record), else 404; is down (503) for the emails
 * `down` says; counts the calls per email.
 */
const startVendor = async (name: string, knows: (email: string) => boolean, down: (email: string) => boolean) => {
  const calls = new Map<string, number>()
  const server = createServer((req, res) => {
    const email = new URL(req.url ?? "/", "http://x").searchParams.get("email") ?? ""
    calls.set(email, (calls.get(email) ?? 0) + 1)
    res.setHeader("content-type", "application/json")
    if (down(email)) {
      res.writeHead(503)
      res.end(JSON.stringify({ error: "maintenance" }))
      return
    }
    if (!knows(email)) {
      res.writeHead(404)
      res.end(JSON.stringify({ error: "no match" }))
      return
    }
    res.writeHead(200)
    res.end(
      JSON.stringify({ id: `${name}-${email}`, data: { work_email: `work.${email.split("@")[0]}@${name}.example` } })
    )
  })
  const port = await freePort()
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok))
  return { url: `http://127.0.0.1:${port}/person`, calls, close: () => server.close() }
}

const N = 30
const UNIT_COST = 3
const emailOf = (i: number) => `lead${i}@corp.example`
const indexOf = (email: string) => Number(/^lead(\d+)@/.exec(email)?.[1])
/** vendor one knows every third Lead; vendor two the next third too (and would know vendor one's, if asked) */
const oneKnows = (i: number) => i % 3 === 0
const twoKnows = (i: number) => i % 3 !== 2
/** vendor one is down for these Leads: one it would know (vendor two then answers), one nobody knows (the item fails) */
const oneDown = (i: number) => i === 27 || i === 29
/** who answers Lead i */
const answeredBy = (i: number) =>
  oneKnows(i) && !oneDown(i) ? "vendor_one" : twoKnows(i) ? "vendor_two" : oneDown(i) ? null : "work_email"

const vendorConfig = (slug: string, url: string) => ({
  kind: "http",
  slug,
  name: `Vendor ${slug}`,
  description: "Finds a person's work email from a known email.",
  subject: "person",
  version: 1,
  visibility: "hidden",
  reads: ["email"],
  defaultOutput: { target: "lead_attribute", attributeKey: slug },
  outputOverridePolicy: { targets: ["lead_attribute"], attributeKey: true },
  costModel: { creditAction: "VENDOR_LOOKUP", unitCost: 1, chargeOn: "found" },
  mode: "per_lead",
  request: { method: "GET", url, query: { email: { $lead: "email" } } },
  response: { data: "/data", output: { workEmail: "/work_email" }, submissionId: [{ body: "/id" }] },
  rateLimit: { requestsPerSecond: 1000, burst: 100 },
  timeoutMs: 5000
})

class Vendors extends Context.Service<
  Vendors,
  { readonly one: Awaited<ReturnType<typeof startVendor>>; readonly two: Awaited<ReturnType<typeof startVendor>> }
>()("test/Vendors") {}

/** The two vendors, the catalog file naming them, and the whole process configured with it. */
const WaterfallApp = Layer.unwrap(
  Effect.gen(function* () {
    const one = yield* Effect.acquireRelease(
      Effect.promise(() =>
        startVendor(
          "one",
          (e) => oneKnows(indexOf(e)),
          (e) => oneDown(indexOf(e))
        )
      ),
      (v) => Effect.sync(v.close)
    )
    const two = yield* Effect.acquireRelease(
      Effect.promise(() =>
        startVendor(
          "two",
          (e) => twoKnows(indexOf(e)),
          () => false
        )
      ),
      (v) => Effect.sync(v.close)
    )
    const file = join(mkdtempSync(join(tmpdir(), "enrich-waterfall-")), "catalog.json")
    writeFileSync(
      file,
      JSON.stringify({
        enrichments: [
          vendorConfig("vendor_one", one.url),
          vendorConfig("vendor_two", two.url),
          {
            kind: "waterfall",
            slug: "work_email",
            name: "Work email (waterfall)",
            description: "Vendor one, then vendor two; charged only when one of them finds.",
            steps: ["vendor_one", "vendor_two"],
            costModel: { creditAction: "WORK_EMAIL", unitCost: UNIT_COST, chargeOn: "found" }
          }
        ]
      })
    )
    const runnerPort = yield* Effect.promise(freePort)
    return testServer((port) => apiAndWorker({ port, runner: { host: "127.0.0.1", port: runnerPort } })).pipe(
      Layer.merge(Layer.succeed(Vendors, { one, two })),
      Layer.provideMerge(TestDatabaseUrl),
      testConfig({ ENRICH_CATALOG_FILES: file })
    )
  })
)

layer(WaterfallApp, { timeout: scaled(180_000), excludeTestServices: true })(
  "Waterfall enrichment (end to end)",
  (it) => {
    it.effect("the_catalog_lists_the_configured_waterfall_with_its_schemas_and_hides_the_vendors", () =>
      Effect.gen(function* () {
        const api = yield* TestServer
        const key = yield* Effect.promise(
          async () =>
            (await api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Catalog", credits: 0 } })).body
              .apiKey as string
        )
        const listed = yield* Effect.promise(() => api.get("/api/enrichments", { key }))
        assert.strictEqual(listed.status, 200)
        const slugs = listed.body.enrichments.map((e: any) => e.slug)
        assert.include(slugs, "work_email")
        assert.include(slugs, "email_validation", "the built-ins are still there")
        assert.notInclude(slugs, "vendor_one", "hidden steps are not listed")
        const one = yield* Effect.promise(() => api.get("/api/enrichments?id=work_email", { key }))
        assert.strictEqual(one.status, 200)
        const contract = one.body.enrichments[0]
        assert.deepInclude(contract, {
          id: "work_email",
          slug: "work_email",
          subject: "person",
          version: 1,
          enabled: true,
          visibility: "public",
          reads: ["email"],
          inputSchema: { type: "object", properties: {}, additionalProperties: false },
          defaultOutput: { target: "lead_attribute", attributeKey: "work_email" },
          defaultOutputAttributeKey: "work_email",
          costModel: { creditAction: "WORK_EMAIL", unitCost: UNIT_COST, chargeOn: "found" },
          toolBinding: { type: "waterfall", taskId: "waterfall.work_email" }
        })
        assert.strictEqual(contract.outputSchema.type, "object")
        assert.hasAllKeys(contract.outputSchema.properties, ["found", "workEmail"])
        const hidden = yield* Effect.promise(() => api.get("/api/enrichments?id=vendor_one", { key }))
        assert.strictEqual(hidden.status, 404)
        // the input schema says no input: the API agrees
        const withInput = yield* Effect.promise(() =>
          api.post("/api/enrichment", {
            key,
            body: { enrichmentId: "work_email", scope: { type: "list", listId: "all" }, input: { vendor: "x" } }
          })
        )
        assert.strictEqual(withInput.status, 400)
        assert.strictEqual(withInput.body.code, "INPUT_INVALID")
      })
    )

    it.effect("provider_two_is_asked_only_for_leads_provider_one_missed_and_only_found_leads_are_charged", () =>
      Effect.gen(function* () {
        const api = yield* TestServer
        const { one, two } = yield* Vendors
        const credits = 1_000
        const key = yield* Effect.promise(
          async () =>
            (await api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Waterfall", credits } })).body
              .apiKey as string
        )
        const leads = Array.from({ length: N }, (_, i) => ({ type: "person", email: emailOf(i) }))
        const imported = yield* Effect.promise(() => api.post("/api/lists/import", { key, body: { leads } }))
        assert.strictEqual(imported.status, 200, JSON.stringify(imported.body))
        const leadIds = imported.body.leadIds as ReadonlyArray<string>
        const dispatched = yield* Effect.promise(() =>
          api.post("/api/enrichment", {
            key,
            body: { enrichmentId: "work_email", scope: { type: "explicit_leads", leadIds } }
          })
        )
        assert.strictEqual(dispatched.status, 202, JSON.stringify(dispatched.body))
        assert.strictEqual(dispatched.body.leadCount, N)
        const runId = dispatched.body.runId as string
        const run = yield* Effect.promise(() =>
          eventually(async () => {
            const status = await api.get(`/api/enrichment/${runId}`, { key })
            return status.body.run.timing.settledAt === null ? undefined : status.body.run
          }, scaled(60_000))
        )
        assert.strictEqual(run.status, "completed")
        const all = Array.from({ length: N }, (_, i) => i)
        const failedLeads = all.filter((i) => answeredBy(i) === null)
        assert.deepStrictEqual(failedLeads, [29])
        assert.deepInclude(run.scope.counts, { completed: N - 1, failed: 1, skipped: 0, pending: 0, running: 0 })

        // who was asked: vendor one about every Lead (a 503 three times: the executor's attempts), vendor two
        // only about the Leads vendor one did not find (a miss or a failure), once each
        assert.deepStrictEqual(
          [...one.calls.keys()].map(indexOf).sort((a, b) => a - b),
          all
        )
        for (const i of all) assert.strictEqual(one.calls.get(emailOf(i)), oneDown(i) ? 3 : 1, `vendor one, Lead ${i}`)
        const notFoundByOne = all.filter((i) => !oneKnows(i) || oneDown(i))
        assert.deepStrictEqual(
          [...two.calls.keys()].map(indexOf).sort((a, b) => a - b),
          notFoundByOne,
          "vendor two is never asked about a Lead vendor one found"
        )
        assert.isTrue([...two.calls.values()].every((n) => n === 1))

        // each item says who answered
        const items = yield* Effect.promise(async () => {
          const out: Array<any> = []
          let cursor: string | null = null
          do {
            const page: any = await api.get(
              `/api/enrichment/${runId}/items?limit=100${cursor === null ? "" : `&cursor=${cursor}`}`,
              { key }
            )
            out.push(...page.body.items)
            cursor = page.body.page.nextCursor
          } while (cursor !== null)
          return out
        })
        assert.strictEqual(items.length, N)
        const byLead = new Map(items.map((item) => [item.leadId, item]))
        let found = 0
        for (const i of all) {
          const item = byLead.get(leadIds[i]!)!
          const expected = answeredBy(i)
          if (expected === null) {
            // vendor one down, vendor two found nothing: the item fails, naming the step that failed
            assert.strictEqual(item.status, "failed")
            assert.match(
              item.error.message,
              /^Waterfall work_email: no step found a result and 1 of 2 failed — vendor_one: HTTP 503: .*maintenance.* \(3 attempts\)$/
            )
            assert.deepStrictEqual(
              item.error.details.provider.steps.map((s: any) => [s.step, s.status, s.attempts]),
              [
                ["vendor_one", "failed", 3],
                ["vendor_two", "not_found", 1]
              ]
            )
            continue
          }
          assert.strictEqual(item.status, "completed")
          assert.strictEqual(item.metadata.provider, expected, `Lead ${i}`)
          assert.deepStrictEqual(item.metadata.leadSnapshot, {
            vendor_one: { email: emailOf(i) },
            vendor_two: { email: emailOf(i) }
          })
          const steps = item.metadata.result.steps.map((s: any) => [s.step, s.status, s.attempts])
          if (expected === "work_email") {
            assert.deepStrictEqual(item.result, { found: false, workEmail: null })
            assert.isNull(item.metadata.providerSubmissionId)
            assert.deepStrictEqual(steps, [
              ["vendor_one", "not_found", 1],
              ["vendor_two", "not_found", 1]
            ])
          } else {
            found++
            const name = expected === "vendor_one" ? "one" : "two"
            assert.deepStrictEqual(item.result, { found: true, workEmail: `work.lead${i}@${name}.example` })
            assert.strictEqual(item.metadata.providerSubmissionId, `${name}-${emailOf(i)}`)
            assert.strictEqual(item.metadata.result.answeredBy, expected)
            assert.deepStrictEqual(
              steps,
              expected === "vendor_one"
                ? [["vendor_one", "found", 1]]
                : [
                    ["vendor_one", oneDown(i) ? "failed" : "not_found", oneDown(i) ? 3 : 1],
                    ["vendor_two", "found", 1]
                  ]
            )
          }
        }
        assert.strictEqual(answeredBy(27), "vendor_two", "a failed step is passed over when a later one finds")
        assert.strictEqual(
          found,
          all.filter((i) => answeredBy(i) === "vendor_one" || answeredBy(i) === "vendor_two").length
        )

        // credits: reserved N × unit, captured found × unit, the rest released
        assert.deepStrictEqual(run.cost.actual, {
          reserved: N * UNIT_COST,
          captured: found * UNIT_COST,
          released: (N - found) * UNIT_COST
        })
        assert.strictEqual(run.cost.actual.reserved, run.cost.actual.captured + run.cost.actual.released)
        const balance = yield* Effect.promise(() => api.get("/api/credits", { key }))
        assert.deepInclude(balance.body, { balance: credits - found * UNIT_COST, held: 0, captured: found * UNIT_COST })
        const ledger = yield* Effect.promise(() => api.get("/api/credits/ledger", { key }))
        const lines = Object.fromEntries(
          ledger.body.entries.filter((e: any) => e.runId === runId).map((e: any) => [e.type, e.amount])
        )
        assert.deepStrictEqual(lines, {
          reserve: N * UNIT_COST,
          capture: found * UNIT_COST,
          release: (N - found) * UNIT_COST
        })

        // the answer is written to each Lead's attribute
        const listed = yield* Effect.promise(() => api.get(`/api/leads?id=${leadIds[1]}`, { key }))
        assert.deepStrictEqual(listed.body.leads[0].attributes.work_email, {
          found: true,
          workEmail: "work.lead1@two.example"
        })
      })
    )
  }
)
