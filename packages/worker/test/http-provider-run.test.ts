/**
 * Runs of operator-configured HTTP enrichments through the real dispatch and
 * executor, on the real database, against a real local vendor:
 * - 30 % of the vendor's answers are faults (429 with Retry-After, 500s,
 *   answers slower than the timeout, malformed JSON, 400s): the run completes,
 *   every item is terminal, each failure says precisely why, each Lead was
 *   sent at most `retry.maxAttempts` times (counted by the vendor), the rate
 *   limit held (measured by the vendor), the run input reached every request
 *   and only found Leads are charged;
 * - the run input is validated at dispatch (400 INPUT_INVALID naming the path);
 * - the People Data Labs example runs in bulk: one executor batch becomes one
 *   bulk request, even after the vendor's 503.
 */
import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { SqlClient } from "effect/sql"
import { ClientOnlyClusterLive, WorkflowDispatcherLive } from "@enrich/adapters/engine/RunWorkflow"
import { Workspaces } from "@enrich/adapters/postgres/Workspaces"
import { builtinEntries } from "@enrich/catalog/Catalog"
import { makeHttpEntry } from "@enrich/catalog/http/HttpProvider"
import { decodeHttpProviderConfig } from "@enrich/catalog/http/HttpProviderConfig"
import { DispatchRun } from "@enrich/application/runs/DispatchRun"
import { Persistence } from "@enrich/adapters/Services"
import { RunCommands } from "@enrich/application/runs/RunCommands"
import { fakeVendor, unitHash, type VendorReply } from "@enrich/catalog/testing/FakeVendor"
import { TestDatabaseLive } from "@enrich/adapters/testing/TestDatabase"
import { scaled } from "@enrich/domain/testing/TestScale"
import { Catalog, type CatalogEntry, makeCatalog } from "@enrich/domain/ports/Catalog"
import { RunExecutor } from "../src/RunExecutor.ts"
import { insertPeople } from "./support/Failures.ts"

const secrets = ConfigProvider.layer(ConfigProvider.fromEnv({ env: { VENDOR_KEY: "s3cret", PDL_API_KEY: "pdl-key" } }))

const entryOf = (raw: unknown) =>
  Effect.flatMap(decodeHttpProviderConfig(raw), (config) => makeHttpEntry(config)).pipe(
    Effect.provide(secrets),
    Effect.orDie
  )

/** Dispatch and executor with `entries` in the catalog, as a worker has them. */
const servicesWith = (entries: ReadonlyArray<CatalogEntry>) =>
  Layer.mergeAll(DispatchRun.layer, RunExecutor.layer).pipe(
    Layer.provideMerge(RunCommands.layer),
    Layer.provideMerge(Layer.merge(Persistence, Layer.succeed(Catalog, makeCatalog([...builtinEntries, ...entries])))),
    Layer.provide(WorkflowDispatcherLive),
    Layer.provide(ClientOnlyClusterLive),
    Layer.provide(
      ConfigProvider.layer(
        ConfigProvider.fromEnv({ env: { ...process.env, ENRICH_BATCH_SIZE: "25" } as Record<string, string> })
      )
    )
  )

const dispatch = (workspaceId: string, enrichmentId: string, input: Record<string, unknown>) =>
  Effect.gen(function* () {
    return yield* (yield* DispatchRun).dispatch(workspaceId, {
      enrichmentId,
      scope: { type: "list", listId: "all" },
      mode: "persisted",
      input,
      output: undefined,
      writePolicy: "overwrite",
      displayRequest: undefined,
      idempotencyKey: undefined
    })
  })

/** Executes a run batch by batch until nothing is left, then completes it, as the workflow does. */
const execute = (runId: string, workspaceId: string) =>
  Effect.gen(function* () {
    const executor = yield* RunExecutor
    const run = { runId, workspaceId }
    for (let i = 0; ; i++) {
      const outcome = yield* executor.runBatch(run, `${runId}/batch-${i}`)
      if (outcome.claimed === 0) break
    }
    yield* executor.complete(run)
  })

const MAX_ATTEMPTS = 3
const RPS = 25
const BURST = 4
const TIMEOUT_MS = 300

layer(TestDatabaseLive, { timeout: scaled(180_000), excludeTestServices: true })(
  "HTTP enrichment runs (integration, real vendor, real executor)",
  (it) => {
    it.effect("a_run_with_30_percent_injected_faults_completes_with_every_item_terminal_and_a_precise_error", () =>
      Effect.gen(function* () {
        const attempts = new Map<string, number>()
        let faults = 0
        const vendor = yield* fakeVendor((request): VendorReply => {
          const email = request.query.get("email") ?? ""
          const n = (attempts.get(email) ?? 0) + 1
          attempts.set(email, n)
          // two Leads whose vendor never recovers: one always too slow, one always down
          if (email.startsWith("slow")) return { delayMs: TIMEOUT_MS * 4, json: { title: "late" } }
          if (email.startsWith("down")) return { status: 503, raw: "Service Unavailable" }
          const u = unitHash(`${email}#${n}`)
          if (u < 0.3) faults++
          if (u < 0.05) return { status: 429, headers: { "retry-after": "1" }, json: { error: "slow down" } }
          if (u < 0.14) return { status: 500, json: { error: "internal" } }
          if (u < 0.2) return { delayMs: TIMEOUT_MS * 4, json: { title: "late" } }
          if (u < 0.25) return { raw: '{"title": "CT' }
          if (u < 0.3) return { status: 400, json: { error: "unprocessable person" } }
          if (unitHash(email) < 0.2) return { status: 404, json: { error: "not found" } }
          return { headers: { "x-request-id": `sub-${email}-${n}` }, json: { title: `CTO of ${email}` } }
        })
        const entry = yield* entryOf({
          kind: "http",
          slug: "faulty_vendor",
          name: "Faulty vendor",
          description: "A vendor that fails 30 % of the time",
          subject: "person",
          version: 1,
          reads: ["email"],
          input: { level: { type: "integer", minimum: 1, maximum: 10 } },
          defaultOutput: { target: "lead_attribute", attributeKey: "vendor_title" },
          outputOverridePolicy: { targets: ["lead_attribute"], attributeKey: true },
          costModel: { creditAction: "VENDOR_TITLE", unitCost: 1, chargeOn: "found" },
          mode: "per_lead",
          request: {
            method: "GET",
            url: `${vendor.url}/person`,
            query: { email: { $lead: "email" }, level: { $input: "level" } }
          },
          response: {
            output: { title: { path: "/title", type: "string" } },
            submissionId: [{ header: "x-request-id" }]
          },
          auth: { header: "Authorization", secretEnv: "VENDOR_KEY", prefix: "Bearer " },
          rateLimit: { requestsPerSecond: RPS, burst: BURST },
          timeoutMs: TIMEOUT_MS,
          retry: { maxAttempts: MAX_ATTEMPTS, backoffMs: 30 }
        })
        yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const n = scaled(80)
          const { workspace } = yield* (yield* Workspaces).create({ name: "faults", credits: n })
          const emails = [
            ...Array.from({ length: n - 2 }, (_, i) => `person${i}@corp.example`),
            "slow@corp.example",
            "down@corp.example"
          ]
          yield* insertPeople(workspace.id, emails)

          // the input is validated at dispatch, every problem named by its path
          const refused = yield* Effect.flip(dispatch(workspace.id, "faulty_vendor", { level: 11, colour: "red" }))
          assert.strictEqual(refused._tag, "PlanRejected")
          if (refused._tag === "PlanRejected") {
            assert.strictEqual(refused.code, "INPUT_INVALID")
            assert.sameMembers(
              (refused.details as { issues: Array<{ path: string }> }).issues.map((i) => i.path),
              ["input.level", "input.colour"]
            )
          }

          const dispatched = yield* dispatch(workspace.id, "faulty_vendor", { level: 7 })
          assert.strictEqual(dispatched._tag, "Accepted")
          const runId = dispatched._tag === "Accepted" ? dispatched.runId : ""
          const [stored] = yield* sql<{ input: unknown }>`SELECT input FROM enrichment_runs WHERE id = ${runId}`
          assert.deepStrictEqual(stored!.input, { level: 7 }, "the input is stored with the run")
          yield* execute(runId, workspace.id)

          const items = yield* sql<{
            status: string
            error: { message: string; details: { attempts: number; retryable: boolean } } | null
            email: string
            found: boolean | null
            submission: string | null
            input: unknown
            provider: string | null
          }>`
              SELECT i.status, i.error, i.lead_snapshot->>'email' AS email, (i.result->>'found')::boolean AS found,
                i.provider_submission_id AS submission, r.input, i.provider
              FROM run_items i JOIN enrichment_runs r ON r.id = i.run_id
              WHERE i.run_id = ${runId} AND i.recorded_at IS NOT NULL`
          assert.strictEqual(items.length, n)
          const precise = [
            new RegExp(`^faulty_vendor: timed out after ${TIMEOUT_MS} ms$`),
            /^faulty_vendor: HTTP 500: \{"error":"internal"\}$/,
            /^faulty_vendor: HTTP 503: Service Unavailable$/,
            /^faulty_vendor: rate limited \(HTTP 429\); the vendor asks to wait \d+ ms$/,
            /^faulty_vendor: malformed JSON in the HTTP 200 response: /,
            /^faulty_vendor: HTTP 400: \{"error":"unprocessable person"\}$/
          ]
          const failed = items.filter((i) => i.status === "failed")
          for (const item of items) {
            assert.include(["completed", "failed"], item.status, "every item is terminal")
            assert.deepStrictEqual(item.input, { level: 7 }, "the item records the run input")
            const sent = attempts.get(item.email) ?? 0
            assert.isAtMost(sent, MAX_ATTEMPTS, `${item.email} was sent ${sent} times`)
            if (item.status === "failed") {
              assert.isTrue(
                precise.some((p) => p.test(item.error!.message)),
                `imprecise error: ${item.error!.message}`
              )
              assert.strictEqual(item.error!.details.attempts, sent, "attempts as the vendor counted them")
              if (item.error!.details.retryable) assert.strictEqual(sent, MAX_ATTEMPTS)
            } else {
              assert.strictEqual(item.provider, "faulty_vendor")
              if (item.found) assert.match(item.submission ?? "", /^sub-person\d+@corp\.example-\d$/)
            }
          }
          // the faults were really there (about 30 % of the answers), and some were survived by retrying
          const never = vendor.requests.filter((r) => /^(slow|down)@/.test(r.query.get("email") ?? "")).length
          const faultRate = faults / (vendor.requests.length - never)
          assert.isTrue(faultRate > 0.15 && faultRate < 0.45, `fault rate ${faultRate}`)
          assert.isAbove(failed.length, 0)
          const byEmail = new Map(items.map((i) => [i.email, i]))
          assert.strictEqual(
            byEmail.get("slow@corp.example")!.error!.message,
            `faulty_vendor: timed out after ${TIMEOUT_MS} ms`
          )
          assert.strictEqual(
            byEmail.get("down@corp.example")!.error!.message,
            "faulty_vendor: HTTP 503: Service Unavailable"
          )
          for (const email of ["slow@corp.example", "down@corp.example"]) {
            assert.strictEqual(attempts.get(email), MAX_ATTEMPTS, `${email}: retried up to retry.maxAttempts, no more`)
            assert.strictEqual(byEmail.get(email)!.error!.details.attempts, MAX_ATTEMPTS)
          }
          assert.isTrue(
            items.some((i) => i.status === "completed" && (attempts.get(i.email) ?? 0) > 1),
            "some Leads completed after a retry"
          )
          // every request carried the input and the secret, and the rate limit held
          for (const r of vendor.requests) {
            assert.strictEqual(r.query.get("level"), "7")
            assert.strictEqual(r.headers["authorization"], "Bearer s3cret")
          }
          const busiest = vendor.busiestWindow(1_000)
          assert.isAtMost(busiest, RPS + BURST, `busiest 1 s window at the vendor: ${busiest}`)
          // the run completed and only found Leads were charged
          const [run] = yield* sql<{ status: string; captured: number; released: number; settled: boolean }>`
              SELECT status, captured::int, released::int, settled_at IS NOT NULL AS settled
              FROM enrichment_runs WHERE id = ${runId}`
          const found = items.filter((i) => i.status === "completed" && i.found === true).length
          assert.deepStrictEqual(run, { status: "completed", captured: found, released: n - found, settled: true })
        }).pipe(Effect.provide(servicesWith([entry])))
      })
    )

    it.effect("the_people_data_labs_example_runs_in_bulk_through_the_executor", () =>
      Effect.gen(function* () {
        const vendor = yield* fakeVendor((request, count): VendorReply => {
          if (count === 1) return { status: 503, json: { error: { message: "try again" } } }
          return {
            json: (request.body.requests as Array<{ params: { email: string }; metadata: unknown }>).map(
              ({ params, metadata }) =>
                params.email.startsWith("nobody")
                  ? { status: 404, metadata, error: { type: "not_found", message: "No records were found" } }
                  : { status: 200, likelihood: 8, metadata, data: { id: `pdl-${params.email}`, job_title: "engineer" } }
            )
          }
        })
        const raw = JSON.parse(
          readFileSync(
            fileURLToPath(new URL("../../../examples/catalog/people-data-labs.json", import.meta.url)),
            "utf8"
          )
        ).enrichments[0]
        const entry = yield* entryOf({ ...raw, request: { ...raw.request, url: `${vendor.url}/v5/person/bulk` } })
        yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const { workspace } = yield* (yield* Workspaces).create({ name: "pdl", credits: 100 })
          const emails = Array.from({ length: 20 }, (_, i) =>
            i % 5 === 0 ? `nobody${i}@corp.example` : `p${i}@corp.example`
          )
          yield* insertPeople(workspace.id, emails)
          const dispatched = yield* dispatch(workspace.id, "pdl_person", {})
          const runId = dispatched._tag === "Accepted" ? dispatched.runId : ""
          yield* execute(runId, workspace.id)
          // ENRICH_BATCH_SIZE 25 ≥ 20 Leads: one executor batch, one bulk request; after its 503 each Lead is
          // tried again (backoff with jitter, 1 request per second): a few more bulk requests, never a Lead twice each
          const sizes = vendor.requests.map((r) => r.body.requests.length)
          assert.strictEqual(sizes[0], 20)
          assert.isAtMost(sizes.length, 6, JSON.stringify(sizes))
          assert.strictEqual(
            sizes.slice(1).reduce((a, b) => a + b, 0),
            20,
            "every Lead is sent once more after the failed bulk request"
          )
          for (const r of vendor.requests) {
            assert.strictEqual(r.headers["x-api-key"], "pdl-key")
            assert.strictEqual(r.body.requests[0].params.min_likelihood, 6, "the input's default")
          }
          const [run] = yield* sql<{ status: string; completed: number; captured: number }>`
            SELECT status, count_completed::int AS completed, captured::int FROM enrichment_runs WHERE id = ${runId}`
          assert.deepStrictEqual(run, { status: "completed", completed: 20, captured: 16 })
          const [item] = yield* sql<{ result: any; submission: string }>`
            SELECT i.result, i.provider_submission_id AS submission
            FROM run_items i WHERE i.run_id = ${runId} AND i.lead_snapshot->>'email' = 'p1@corp.example'`
          assert.deepInclude(item!.result, { found: true, jobTitle: "engineer", likelihood: 8 })
          assert.strictEqual(item!.submission, "pdl-p1@corp.example")
        }).pipe(Effect.provide(servicesWith([entry])))
      })
    )
  }
)
