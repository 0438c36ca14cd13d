/**
 * The worker completing runs: the whole process (API + one cluster runner) on a
 * fresh database, driven over HTTP as a user would, and the two entry points
 * run apart as separate processes against one database.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { freePort } from "@enrich/adapters/postgres/EmbeddedPostgres"
import { DatabaseUrl } from "@enrich/adapters/postgres/Database"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { eventually, makeClient, type TestClient } from "@enrich/http/testing/HttpTestClient"
import { ADMIN_TOKEN, TestServer } from "@enrich/http/testing/TestServer"
import { Redacted } from "effect"
import { dnsServer } from "@enrich/catalog/testing/DnsServer"
import { fullApp } from "./support/FullApp.ts"
import { startProcess } from "./support/Processes.ts"

const use = <A>(f: (api: TestClient) => Promise<A>) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    return yield* Effect.promise(() => f(api))
  })

const setUp = (api: TestClient, credits: number) =>
  Effect.promise(async () => {
    const ws = await api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Acme", credits } })
    return { key: ws.body.apiKey as string, workspaceId: ws.body.workspace.id as string }
  })

const waitForSettled = (api: TestClient, key: string, runId: string) =>
  Effect.promise(() =>
    eventually(async () => {
      const status = await api.get(`/api/enrichment/${runId}`, { key })
      return status.body.run.timing.settledAt === null ? undefined : status.body.run
    })
  )

/** The process asks a real local DNS server (ENRICH_DNS_SERVERS) that knows the tour's domains. */
const FullAppWithDns = Layer.unwrap(
  Effect.map(
    dnsServer({
      mil: { SOA: true },
      com: { SOA: true },
      "navy.mil": { MX: [{ priority: 10, exchange: "mx.navy.mil" }] },
      "mailinator.com": { MX: [{ priority: 10, exchange: "mail.mailinator.com" }] }
    }),
    (dns) => fullApp({ ENRICH_DNS_SERVERS: dns.address })
  )
)

layer(FullAppWithDns, { timeout: 180_000, excludeTestServices: true })(
  "Worker (end to end, real server and engine)",
  (it) => {
    it.effect("the_tour:_a_list_run_completes_with_real_results_written_to_the_leads", () =>
      Effect.gen(function* () {
        const api = yield* TestServer
        const { key } = yield* setUp(api, 100)
        const listId = yield* use(
          async (api) => (await api.post("/api/lists", { key, body: { name: "Tour" } })).body.list.id
        )
        const imported = yield* use((api) =>
          api.post("/api/lists/import", {
            key,
            body: {
              listId,
              leads: [
                { type: "person", email: "Grace.Hopper@Navy.mil" },
                { type: "person", email: "someone@mailinator.com" },
                { type: "person", email: "not an email" },
                { type: "person", name: { full: "No Email" } },
                { type: "person", email: "ken.hopper1@example.org" }
              ]
            }
          })
        )
        const dispatched = yield* use((api) =>
          api.post("/api/enrichment", {
            key,
            body: { enrichmentId: "email_validation", scope: { type: "list", listId } }
          })
        )
        assert.strictEqual(dispatched.status, 202)
        const run = yield* waitForSettled(api, key, dispatched.body.runId)
        assert.strictEqual(run.status, "completed")
        assert.deepStrictEqual(run.scope.counts, { pending: 0, running: 0, completed: 5, skipped: 0, failed: 0 })
        assert.deepStrictEqual(run.cost.actual, { reserved: 5, captured: 5, released: 0 })
        assert.isString(run.timing.startedAt)
        assert.isString(run.timing.completedAt)

        const items = yield* use((api) => api.get(`/api/enrichment/${run.id}/items`, { key }))
        const byLead = new Map(items.body.items.map((i: any) => [i.leadId, i]))
        const [grace, disposable, broken, missing, documentation] = imported.body.leadIds.map(
          (id: string) => byLead.get(id) as any
        )
        assert.deepStrictEqual([grace.status, grace.attempts], ["completed", 1])
        // valid: navy.mil has an MX record at the DNS server the worker was configured with
        assert.deepStrictEqual(
          [
            grace.result.email,
            grace.result.verdict,
            grace.result.deliverability,
            grace.result.mailHosts,
            grace.result.found
          ],
          ["grace.hopper@navy.mil", "valid", "deliverable", ["mx.navy.mil"], true]
        )
        assert.deepStrictEqual(grace.metadata.leadSnapshot, { email: "Grace.Hopper@Navy.mil" })
        assert.deepStrictEqual(
          [disposable.result.verdict, disposable.result.disposable, disposable.result.deliverability],
          ["risky", true, "deliverable"]
        )
        assert.deepStrictEqual([broken.result.verdict, broken.result.syntaxValid], ["invalid", false])
        assert.deepStrictEqual([missing.result.verdict, missing.result.reason], ["invalid", "missing"])
        // a documentation domain receives no mail: invalid without any lookup
        assert.deepStrictEqual(
          [documentation.result.verdict, documentation.result.syntaxValid, documentation.result.found],
          ["invalid", true, false]
        )
        assert.match(documentation.result.reason, /^reserved: example\.org: reserved for documentation/)

        const leads = yield* use((api) => api.get(`/api/lists/${listId}/leads`, { key }))
        const graceLead = leads.body.leads.find((l: any) => l.id === imported.body.leadIds[0])
        assert.strictEqual(graceLead.attributes.email_validation.verdict, "valid")

        const failedOnly = yield* use((api) => api.get(`/api/enrichment/${run.id}/items?status=failed`, { key }))
        assert.strictEqual(failedOnly.body.items.length, 0)
      })
    )

    it.effect("a_found_priced_company_run_captures_only_found_results_and_skip_existing_skips_written_attributes", () =>
      Effect.gen(function* () {
        const api = yield* TestServer
        const { key, workspaceId } = yield* setUp(api, 10)
        const imported = yield* use((api) =>
          api.post("/api/lists/import", {
            key,
            body: {
              leads: [
                { type: "company", domain: "https://shop.Example.co.uk/about" },
                {
                  type: "company",
                  company: { name: "Freemail Inc" },
                  contacts: [{ type: "email", value: "boss@gmail.com" }]
                }
              ]
            }
          })
        )
        const leadIds = imported.body.leadIds
        const first = yield* use((api) =>
          api.post("/api/enrichment", {
            key,
            body: { enrichmentId: "company_domain", scope: { type: "explicit_leads", leadIds } }
          })
        )
        const run = yield* waitForSettled(api, key, first.body.runId)
        assert.deepStrictEqual(run.cost.actual, { reserved: 2, captured: 1, released: 1 })
        const items = yield* use((api) => api.get(`/api/enrichment/${run.id}/items`, { key }))
        const results = items.body.items.map((i: any) => [i.result.domain, i.result.found])
        assert.sameDeepMembers(results, [
          ["example.co.uk", true],
          [null, false]
        ])

        const second = yield* use((api) =>
          api.post("/api/enrichment", {
            key,
            body: {
              enrichmentId: "company_domain",
              scope: { type: "explicit_leads", leadIds },
              writePolicy: "skip_existing"
            }
          })
        )
        const rerun = yield* waitForSettled(api, key, second.body.runId)
        assert.deepStrictEqual(rerun.scope.counts, { pending: 0, running: 0, completed: 0, skipped: 2, failed: 0 })
        assert.deepStrictEqual(rerun.cost.actual, { reserved: 2, captured: 0, released: 2 })
        const skipped = yield* use((api) => api.get(`/api/enrichment/${rerun.id}/items?status=skipped`, { key }))
        assert.deepStrictEqual(
          skipped.body.items.map((i: any) => i.skippedReason),
          ["attribute_exists", "attribute_exists"]
        )

        const sql = yield* SqlClient.SqlClient
        const credits = yield* sql<{ granted: number; held: number; captured: number }>`
        SELECT granted::int, held::int, captured::int FROM credit_accounts WHERE workspace_id = ${workspaceId}`
        assert.deepStrictEqual(credits[0], { granted: 10, held: 0, captured: 1 })
      })
    )

    it.effect("membership_output:_results_land_on_the_membership_and_non_members_are_refused", () =>
      Effect.gen(function* () {
        const api = yield* TestServer
        const { key } = yield* setUp(api, 10)
        const listId = yield* use(
          async (api) => (await api.post("/api/lists", { key, body: { name: "Members" } })).body.list.id
        )
        const members = yield* use((api) =>
          api.post("/api/lists/import", {
            key,
            body: { listId, leads: [{ type: "person", email: "member@corp.example" }] }
          })
        )
        const outsider = yield* use((api) =>
          api.post("/api/lists/import", { key, body: { leads: [{ type: "person", email: "outsider@corp.example" }] } })
        )
        const refused = yield* use((api) =>
          api.post("/api/enrichment", {
            key,
            body: {
              enrichmentId: "email_validation",
              scope: { type: "explicit_leads", leadIds: [...members.body.leadIds, ...outsider.body.leadIds], listId },
              output: { target: "membership_attribute", attributeKey: "checked" }
            }
          })
        )
        assert.deepStrictEqual([refused.status, refused.body.code], [400, "OUTPUT_TARGET_UNSUPPORTED"])
        const dispatched = yield* use((api) =>
          api.post("/api/enrichment", {
            key,
            body: {
              enrichmentId: "email_validation",
              scope: { type: "list", listId },
              output: { target: "membership_attribute", attributeKey: "checked" }
            }
          })
        )
        const run = yield* waitForSettled(api, key, dispatched.body.runId)
        assert.strictEqual(run.status, "completed")
        const leads = yield* use((api) => api.get(`/api/lists/${listId}/leads`, { key }))
        const member = leads.body.leads[0]
        // corp.example is reserved (RFC 2606): no mail can reach it
        assert.strictEqual(member.membership.attributes.checked.verdict, "invalid")
        assert.isUndefined(member.attributes.checked, "a membership target leaves the Lead's own attributes alone")
      })
    )

    it.effect("many_batches:_a_run_larger_than_a_batch_completes_and_every_event_is_in_the_log", () =>
      Effect.gen(function* () {
        const api = yield* TestServer
        const { key, workspaceId } = yield* setUp(api, 2000)
        // three batches at the default batch size (500)
        const leads = Array.from({ length: 1_100 }, (_, i) => ({ type: "person", email: `person${i}@corp.example` }))
        yield* use((api) => api.post("/api/lists/import", { key, body: { leads } }))
        const dispatched = yield* use((api) =>
          api.post("/api/enrichment", {
            key,
            body: { enrichmentId: "email_validation", scope: { type: "list", listId: "all" } }
          })
        )
        assert.strictEqual(dispatched.body.leadCount, 1_100)
        const run = yield* waitForSettled(api, key, dispatched.body.runId)
        assert.strictEqual(run.scope.counts.completed, 1_100)
        const sql = yield* SqlClient.SqlClient
        const types = yield* sql<{ type: string; n: number }>`
        SELECT type, count(*)::int AS n FROM events WHERE stream_id = ${`run-${run.id}`} GROUP BY type ORDER BY type`
        const [batch] = yield* sql<{ metadata: Record<string, string> }>`
        SELECT metadata FROM events WHERE stream_id = ${`run-${run.id}`} AND type = 'ItemBatchRecorded'
        ORDER BY global_position LIMIT 1`
        assert.match(batch!.metadata["actor"]!, /^worker:.+\/\d+$/)
        assert.deepStrictEqual(
          [batch!.metadata["causationId"], batch!.metadata["correlationId"]],
          [`${run.id}/batch-0`, run.id]
        )
        const credits = yield* sql<{ type: string; amount: number }>`
        SELECT type, (data->>'amount')::int AS amount FROM events
        WHERE stream_id = ${`credits-${workspaceId}`} AND data->>'runId' = ${run.id} ORDER BY global_position`
        assert.deepStrictEqual(credits, [
          { type: "CreditsHeld", amount: 1_100 },
          { type: "CreditsCaptured", amount: 1_100 }
        ])
        assert.deepStrictEqual(Object.fromEntries(types.map((t) => [t.type, t.n])), {
          CreditsSettled: 1,
          ItemBatchRecorded: 3,
          ItemBatchStarted: 3,
          RunCompleted: 1,
          RunDispatched: 1,
          RunRequested: 1,
          RunStarted: 1
        })
      })
    )
  }
)

layer(Layer.mergeAll(TestDatabaseUrl), { timeout: 180_000, excludeTestServices: true })(
  "Entry points apart (processes)",
  (it) => {
    it.effect("an_api_process_dispatches_and_a_separate_worker_process_completes_the_run", () =>
      Effect.gen(function* () {
        const { url } = yield* DatabaseUrl
        const [httpPort, runnerPort] = yield* Effect.promise(() => Promise.all([freePort(), freePort()]))
        const env = { DATABASE_URL: Redacted.value(url), ENRICH_ADMIN_TOKEN: ADMIN_TOKEN }
        const worker = yield* startProcess("packages/worker/src/bin/worker.ts", {
          ...env,
          ENRICH_RUNNER_PORT: String(runnerPort)
        })
        const http = yield* startProcess("packages/http/src/bin/http.ts", { ...env, PORT: String(httpPort) })
        const api = makeClient(`http://127.0.0.1:${httpPort}`)
        yield* Effect.promise(() =>
          eventually(
            async () => ((await api.get("/readyz").catch(() => undefined))?.status === 200 ? true : undefined),
            60_000
          )
        ).pipe(Effect.tapCause(() => Effect.sync(() => console.log(http.output(), worker.output()))))
        const { key } = yield* setUp(api, 10)
        const imported = yield* Effect.promise(() =>
          api.post("/api/lists/import", { key, body: { leads: [{ type: "person", email: "ada@corp.example" }] } })
        )
        const dispatched = yield* Effect.promise(() =>
          api.post("/api/enrichment", {
            key,
            body: {
              enrichmentId: "email_validation",
              scope: { type: "explicit_leads", leadIds: imported.body.leadIds }
            }
          })
        )
        assert.strictEqual(dispatched.status, 202, JSON.stringify(dispatched.body))
        const run = yield* waitForSettled(api, key, dispatched.body.runId).pipe(
          Effect.tapCause(() => Effect.sync(() => console.log(http.output(), worker.output())))
        )
        assert.strictEqual(run.status, "completed")
        assert.strictEqual(run.scope.counts.completed, 1)
      })
    )
  }
)
