/**
 * Never paying twice (issue "Never pay twice"), end to end: the whole service (API + worker) on a fresh database,
 * a real local vendor configured as an `http` enrichment (ENRICH_CATALOG_FILES) that counts the Leads it is asked
 * about and refuses the ones a test says (400: the item fails), and the real `enrich` binary.
 *
 * - `retry` runs only the failed Leads of a run that is over, is charged for those only, is idempotent, and
 *   `audit credits` explains both runs; a retry of a run still going is 409, of a run with no failure 400.
 * - `freshness: { maxAgeDays: 30 }` right after a completed run over the same List calls nobody and charges 0,
 *   every item `skipped` as `fresh_result`; `maxAgeDays: 0` runs everything; a new Lead of the List runs alone;
 *   a result written elsewhere (another attribute key) is not fresh.
 * - `audit verify` then rebuilds the projections (fresh items and `retry_of` included) to what they are.
 */
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { createServer, type ServerResponse } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "@enrich/adapters/postgres/EmbeddedPostgres"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { testConfig, testServer } from "@enrich/http/testing/TestServer"
import { apiAndWorker } from "@enrich/server/App"
import { cliFor } from "./support/Cli.ts"
import { context, promise, testTimeout, workspaceThroughCli } from "./support/CliServer.ts"

/** A vendor of job titles: 400 for the emails in `refused`, holds the answer for those in `held`; counts calls. */
const startVendor = async () => {
  const calls: Array<string> = []
  const refused = new Set<string>()
  const held = new Set<string>()
  const waiting: Array<() => void> = []
  const server = createServer((req, res: ServerResponse) => {
    const email = new URL(req.url ?? "/", "http://x").searchParams.get("email") ?? ""
    calls.push(email)
    const answer = () => {
      res.setHeader("content-type", "application/json")
      if (refused.has(email)) {
        res.writeHead(400)
        res.end(JSON.stringify({ error: "unknown person" }))
        return
      }
      res.writeHead(200)
      res.end(JSON.stringify({ data: { title: `Title of ${email}` } }))
    }
    if (held.has(email)) waiting.push(answer)
    else answer()
  })
  const port = await freePort()
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok))
  return {
    url: `http://127.0.0.1:${port}/title`,
    calls,
    refused,
    held,
    release: () => {
      held.clear()
      for (const answer of waiting.splice(0)) answer()
    },
    close: () => server.close()
  }
}

class Vendor extends Context.Service<Vendor, Awaited<ReturnType<typeof startVendor>>>()("test/Vendor") {}

const App = Layer.unwrap(
  Effect.gen(function* () {
    const vendor = yield* Effect.acquireRelease(Effect.promise(startVendor), (v) => Effect.sync(v.close))
    const file = join(mkdtempSync(join(tmpdir(), "enrich-retry-")), "catalog.json")
    writeFileSync(
      file,
      JSON.stringify({
        enrichments: [
          {
            kind: "http",
            slug: "vendor_title",
            name: "Vendor title",
            description: "A person's job title from their email.",
            subject: "person",
            version: 1,
            reads: ["email"],
            defaultOutput: { target: "lead_attribute", attributeKey: "vendor_title" },
            outputOverridePolicy: { targets: ["lead_attribute"], attributeKey: true },
            costModel: { creditAction: "TITLE_LOOKUP", unitCost: 1, chargeOn: "completed" },
            mode: "per_lead",
            request: { method: "GET", url: vendor.url, query: { email: { $lead: "email" } } },
            response: { data: "/data", output: { title: "/title" } },
            rateLimit: { requestsPerSecond: 1000, burst: 100 },
            timeoutMs: 30_000
          }
        ]
      })
    )
    const runnerPort = yield* Effect.promise(freePort)
    return testServer((port) => apiAndWorker({ port, runner: { host: "127.0.0.1", port: runnerPort } })).pipe(
      Layer.merge(Layer.succeed(Vendor, vendor)),
      Layer.provideMerge(TestDatabaseUrl),
      testConfig({ ENRICH_CATALOG_FILES: file, ENRICH_BATCH_SIZE: "3" })
    )
  })
)

/** A caller of the API with `key`: the status and body of each answer. */
const caller =
  (baseUrl: string, key: string) =>
  async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    return { status: response.status, body: (await response.json()) as any }
  }

/** A List of `emails.length` people; their Lead ids by email. */
const peopleList = async (call: ReturnType<typeof caller>, name: string, emails: ReadonlyArray<string>) => {
  const list = await call("POST", "/api/lists", { name, leadType: "person" })
  assert.strictEqual(list.status, 201, JSON.stringify(list.body))
  const imported = await call("POST", "/api/lists/import", {
    listId: list.body.list.id,
    leads: emails.map((email) => ({ type: "person", email }))
  })
  assert.isBelow(imported.status, 300, JSON.stringify(imported.body))
  return list.body.list.id as string
}

/** Every item of a run. */
const itemsOf = async (call: ReturnType<typeof caller>, runId: string) => {
  const page = await call("GET", `/api/enrichment/${runId}/items?limit=100`)
  assert.strictEqual(page.status, 200)
  return page.body.items as Array<any>
}

const emails = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}@corp.example`)

/** The vendor calls made while `f` ran, sorted. */
const callsDuring = async <A>(vendor: Vendor["Service"], f: () => Promise<A>) => {
  const before = vendor.calls.length
  const result = await f()
  return { result, calls: vendor.calls.slice(before).sort() }
}

layer(App, { timeout: testTimeout, excludeTestServices: true })("Never pay twice (end to end, real binary)", (it) => {
  it.effect(
    "retry_runs_only_the_failed_leads_charges_only_them_and_audit_credits_explains_both_runs",
    () =>
      Effect.gen(function* () {
        const { baseUrl, databaseUrl } = yield* context
        const vendor = yield* Vendor
        const { apiKey, cli, workspaceId } = yield* workspaceThroughCli(baseUrl, "Retry", 100)
        yield* promise(async () => {
          const call = caller(baseUrl, apiKey)
          const people = emails("retry", 10)
          const listId = await peopleList(call, "Retry people", people)
          const failing = [people[1]!, people[4]!, people[6]!]
          for (const email of failing) vendor.refused.add(email)

          const first = await callsDuring(vendor, () =>
            cli([
              "enrichment",
              "create",
              "--enrichment-id",
              "vendor_title",
              "--scope",
              JSON.stringify({ type: "list", listId }),
              "--watch"
            ])
          )
          assert.strictEqual(first.result.code, 0, first.result.stderr)
          const sourceId = first.result.json.id as string
          assert.deepStrictEqual(first.result.json.credits, { reserved: 10, captured: 7, released: 3 })
          const failedItems = (await itemsOf(call, sourceId)).filter((i) => i.status === "failed")
          assert.strictEqual(failedItems.length, 3)
          assert.match(failedItems[0].error.message, /HTTP 400/)

          // a preview quotes the failed Leads only, and writes nothing
          const preview = await cli(["enrichment", "retry", sourceId, "--mode", "preview"])
          assert.strictEqual(preview.code, 0, preview.stderr)
          assert.deepInclude(preview.json, { status: "preview", leadCount: 3, runId: null })
          assert.deepInclude(preview.json.cost, { unitCost: 1, required: 3, balance: 93, sufficient: true })

          // the vendor knows them now: the retry calls exactly them, once each, and is charged 3
          vendor.refused.clear()
          const retried = await callsDuring(vendor, () =>
            cli(["enrichment", "retry", sourceId, "--idempotency-key", "retry-1", "--watch"])
          )
          assert.strictEqual(retried.result.code, 0, retried.result.stderr)
          assert.deepStrictEqual(retried.calls, [...failing].sort())
          const retryId = retried.result.json.id as string
          assert.deepStrictEqual(retried.result.json.credits, { reserved: 3, captured: 3, released: 0 })
          const retryItems = await itemsOf(call, retryId)
          assert.deepStrictEqual(
            retryItems.map((i) => i.leadId).sort(),
            failedItems.map((i) => i.leadId).sort(),
            "the retry's items are the failed items' Leads"
          )
          assert.isTrue(retryItems.every((i) => i.status === "completed"))

          // the same key again: the same run, nothing new
          const again = await call("POST", `/api/enrichment/${sourceId}/retry`, {}, { "idempotency-key": "retry-1" })
          assert.strictEqual(again.status, 200, JSON.stringify(again.body))
          assert.deepInclude(again.body, { runId: retryId, reusedExistingRun: true })

          // each names the other
          const source = await call("GET", `/api/enrichment/${sourceId}`)
          assert.deepStrictEqual([source.body.run.retryOf, source.body.run.retries], [null, [retryId]])
          const retry = await call("GET", `/api/enrichment/${retryId}`)
          assert.deepStrictEqual([retry.body.run.retryOf, retry.body.run.retries], [sourceId, []])
          assert.deepStrictEqual(retry.body.run.scope.requested, { type: "retry", listId, leadIdCount: null })
          assert.deepStrictEqual(
            [retry.body.run.output.attributeKey, retry.body.run.enrichment.slug],
            ["vendor_title", "vendor_title"]
          )

          // nothing failed in the retry: nothing to retry
          const nothing = await call("POST", `/api/enrichment/${retryId}/retry`, {})
          assert.deepStrictEqual([nothing.status, nothing.body.code], [400, "NOTHING_TO_RETRY"])

          // the ledger explains both runs, line by line
          const report = await cliFor({ DATABASE_URL: databaseUrl })(["audit", "credits", workspaceId])
          assert.strictEqual(report.code, 0, report.stderr)
          const lines = (report.json.lines as Array<any>).filter((l) => l.runId !== null)
          assert.deepStrictEqual(
            lines.map((l) => [l.type, l.amount, l.runId]),
            [
              ["reserve", 10, sourceId],
              ["capture", 7, sourceId],
              ["release", 3, sourceId],
              ["reserve", 3, retryId],
              ["capture", 3, retryId]
            ]
          )
          assert.strictEqual(report.json.closing.balance, 90)
        })
      }),
    testTimeout
  )

  it.effect(
    "a_retry_of_a_run_still_going_is_409_and_of_another_workspaces_run_404",
    () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* context
        const vendor = yield* Vendor
        const { apiKey } = yield* workspaceThroughCli(baseUrl, "Going", 100)
        const other = yield* workspaceThroughCli(baseUrl, "Other", 100)
        yield* promise(async () => {
          const call = caller(baseUrl, apiKey)
          const people = emails("going", 2)
          const listId = await peopleList(call, "Going people", people)
          vendor.held.add(people[0]!)
          vendor.refused.add(people[1]!)
          const dispatched = await call("POST", "/api/enrichment", {
            enrichmentId: "vendor_title",
            scope: { type: "list", listId }
          })
          assert.strictEqual(dispatched.status, 202)
          const runId = dispatched.body.runId as string
          const going = await call("POST", `/api/enrichment/${runId}/retry`, {})
          assert.deepStrictEqual([going.status, going.body.code], [409, "RUN_NOT_TERMINAL"])
          const elsewhere = await caller(baseUrl, other.apiKey)("POST", `/api/enrichment/${runId}/retry`, {})
          assert.deepStrictEqual([elsewhere.status, elsewhere.body.code], [404, "NOT_FOUND"])
          vendor.release()
          for (let i = 0; i < 300; i++) {
            const status = await call("GET", `/api/enrichment/${runId}`)
            if (status.body.run.timing.settledAt !== null) break
            await new Promise((resolve) => setTimeout(resolve, 100))
          }
          vendor.refused.clear()
          // no body at all is a persisted retry
          const over = await fetch(`${baseUrl}/api/enrichment/${runId}/retry`, {
            method: "POST",
            headers: { authorization: `Bearer ${apiKey}` }
          })
          const body = (await over.json()) as any
          assert.strictEqual(over.status, 202, JSON.stringify(body))
          assert.strictEqual(body.leadCount, 1)
        })
      }),
    testTimeout
  )

  it.effect(
    "a_fresh_result_is_not_run_or_charged_again_and_max_age_0_runs_everything",
    () =>
      Effect.gen(function* () {
        const { baseUrl, databaseUrl } = yield* context
        const vendor = yield* Vendor
        const { apiKey, cli } = yield* workspaceThroughCli(baseUrl, "Fresh", 100)
        yield* promise(async () => {
          const call = caller(baseUrl, apiKey)
          const people = emails("fresh", 6)
          const listId = await peopleList(call, "Fresh people", people)
          const dispatch = (extra: Record<string, unknown>) =>
            callsDuring(vendor, () =>
              cli([
                "enrichment",
                "create",
                "--enrichment-id",
                "vendor_title",
                "--scope",
                JSON.stringify({ type: "list", listId }),
                ...Object.entries(extra).flatMap(([flag, value]) => [`--${flag}`, JSON.stringify(value)]),
                "--watch"
              ])
            )

          const first = await dispatch({})
          assert.strictEqual(first.result.code, 0, first.result.stderr)
          assert.deepStrictEqual(first.result.json.credits, { reserved: 6, captured: 6, released: 0 })

          // right after: the preview quotes 0, the run calls nobody and charges 0, every item skipped as fresh
          const preview = await call("POST", "/api/enrichment", {
            enrichmentId: "vendor_title",
            scope: { type: "list", listId },
            mode: "preview",
            freshness: { maxAgeDays: 30 }
          })
          assert.strictEqual(preview.status, 200)
          assert.deepInclude(preview.body, { leadCount: 6, freshCount: 6 })
          assert.strictEqual(preview.body.cost.required, 0)
          const fresh = await dispatch({ freshness: { maxAgeDays: 30 } })
          assert.strictEqual(fresh.result.code, 0, fresh.result.stderr)
          assert.deepStrictEqual(fresh.calls, [])
          assert.deepStrictEqual(fresh.result.json.credits, { reserved: 0, captured: 0, released: 0 })
          const freshRun = (await call("GET", `/api/enrichment/${fresh.result.json.id}`)).body.run
          assert.strictEqual(freshRun.status, "completed")
          assert.deepStrictEqual(freshRun.scope.counts, { pending: 0, running: 0, completed: 0, skipped: 6, failed: 0 })
          const freshItems = await itemsOf(call, fresh.result.json.id)
          assert.strictEqual(freshItems.length, 6)
          for (const item of freshItems) assert.deepInclude(item, { status: "skipped", skippedReason: "fresh_result" })

          // no window: everything runs and is charged
          const all = await dispatch({ freshness: { maxAgeDays: 0 } })
          assert.strictEqual(all.result.code, 0, all.result.stderr)
          assert.deepStrictEqual(all.calls, [...people].sort())
          assert.deepStrictEqual(all.result.json.credits, { reserved: 6, captured: 6, released: 0 })

          // a new member of the List: it alone runs; a result under another attribute key is not fresh
          const newcomer = "fresh-new@corp.example"
          const added = await call("POST", "/api/lists/import", {
            listId,
            leads: [{ type: "person", email: newcomer }]
          })
          assert.isBelow(added.status, 300, JSON.stringify(added.body))
          const partly = await dispatch({ freshness: { maxAgeDays: 30 } })
          assert.deepStrictEqual(partly.calls, [newcomer])
          assert.deepStrictEqual(partly.result.json.credits, { reserved: 1, captured: 1, released: 0 })
          const partlyItems = await itemsOf(call, partly.result.json.id)
          assert.deepStrictEqual(
            partlyItems.map((i) => [i.status, i.skippedReason]).sort(),
            [["completed", null], ...Array.from({ length: 6 }, () => ["skipped", "fresh_result"])].sort()
          )
          const elsewhere = await dispatch({ freshness: { maxAgeDays: 30 }, output: { attributeKey: "other_title" } })
          assert.strictEqual(elsewhere.calls.length, 7)

          // bad windows are refused and change nothing
          for (const freshness of [{ maxAgeDays: -1 }, { maxAgeDays: 1.5 }, { maxAgeDays: 3651 }, { days: 3 }, 30]) {
            const refused = await call("POST", "/api/enrichment", {
              enrichmentId: "vendor_title",
              scope: { type: "list", listId },
              freshness
            })
            assert.deepStrictEqual([refused.status, refused.body.code], [400, "VALIDATION_FAILED"], String(freshness))
          }

          // the rebuild writes the fresh items and the retries' links as the dispatch did
          const verified = await cliFor({ DATABASE_URL: databaseUrl })(["audit", "verify"])
          assert.strictEqual(verified.code, 0, verified.stdout + verified.stderr)
          assert.isTrue(verified.json.ok)
        })
      }),
    testTimeout
  )
})
