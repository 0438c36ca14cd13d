/**
 * A run's only worker is killed for good (SIGKILL, never restarted) while it holds a batch — its vendor
 * calls in flight — and a fresh worker (another runner address) is started: the run completes within the
 * documented bound (2 × ENRICH_RUN_LEASE_SECONDS + ENRICH_WATCHDOG_INTERVAL_SECONDS after the kill), each
 * item recorded once, its credits settled once. Real processes, a real local vendor.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseLive, DatabaseUrl } from "@enrich/adapters/postgres/Database"
import { freePort } from "@enrich/adapters/postgres/EmbeddedPostgres"
import { fakeVendor } from "@enrich/catalog/testing/FakeVendor"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { eventually, makeClient } from "@enrich/http/testing/HttpTestClient"
import { ADMIN_TOKEN } from "@enrich/http/testing/TestServer"
import { startProcess, stopProcess } from "./support/Processes.ts"

const LEASE_SECONDS = 20
const INTERVAL_SECONDS = 2
const BOUND_MS = (2 * LEASE_SECONDS + INTERVAL_SECONDS) * 1000

const Live = DatabaseLive.pipe(Layer.provideMerge(TestDatabaseUrl))

layer(Live, { timeout: 180_000, excludeTestServices: true })("A lost worker (processes)", (it) => {
  it.effect(
    "a_runs_only_worker_killed_for_good_while_it_holds_a_batch_the_run_completes_on_a_fresh_worker_within_the_bound",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const { url } = yield* DatabaseUrl
        // the vendor keeps the first worker's calls waiting, and answers at once once that worker is gone
        let holding = true
        const vendor = yield* fakeVendor(() =>
          holding ? { delayMs: 120_000, json: { title: "late" } } : { json: { title: "CTO" } }
        )
        const dir = mkdtempSync(join(tmpdir(), "enrich-lost-worker-"))
        const catalog = join(dir, "catalog.json")
        writeFileSync(
          catalog,
          JSON.stringify({
            enrichments: [
              {
                kind: "http",
                slug: "slow_title",
                name: "Slow title",
                description: "A vendor that takes its time",
                subject: "person",
                version: 1,
                reads: ["email"],
                defaultOutput: { target: "lead_attribute", attributeKey: "slow_title" },
                outputOverridePolicy: { targets: ["lead_attribute"], attributeKey: true },
                costModel: { creditAction: "SLOW_TITLE", unitCost: 1, chargeOn: "found" },
                mode: "per_lead",
                request: { method: "GET", url: `${vendor.url}/person`, query: { email: { $lead: "email" } } },
                response: { output: { title: { path: "/title", type: "string" } } },
                rateLimit: { requestsPerSecond: 100 },
                timeoutMs: 150_000,
                retry: { maxAttempts: 1, backoffMs: 10 }
              }
            ]
          })
        )
        const env = {
          DATABASE_URL: Redacted.value(url),
          ENRICH_CATALOG_FILES: catalog,
          ENRICH_RUN_LEASE_SECONDS: String(LEASE_SECONDS),
          ENRICH_WATCHDOG_INTERVAL_SECONDS: String(INTERVAL_SECONDS),
          ENRICH_BATCH_SIZE: "5"
        }
        const httpPort = yield* Effect.promise(freePort)
        const api = yield* startProcess("packages/http/src/bin/http.ts", {
          ...env,
          ENRICH_ADMIN_TOKEN: ADMIN_TOKEN,
          PORT: String(httpPort),
          ENRICH_RATE_LIMIT: "0"
        })
        const client = makeClient(`http://127.0.0.1:${httpPort}`)
        yield* Effect.promise(() =>
          eventually(
            async () => ((await client.get("/readyz").catch(() => undefined))?.status === 200 ? true : undefined),
            60_000
          )
        ).pipe(Effect.tapCause(() => Effect.sync(() => console.log(api.output()))))
        const startWorker = Effect.flatMap(Effect.promise(freePort), (port) =>
          startProcess("packages/worker/src/bin/worker.ts", { ...env, ENRICH_RUNNER_PORT: String(port) })
        )

        const created = yield* Effect.promise(() =>
          client.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "lost", credits: 10 } })
        )
        const key = created.body.apiKey as string
        const workspaceId = created.body.workspace.id as string
        yield* sql`INSERT INTO leads (id, workspace_id, type, contacts)
          SELECT ${workspaceId} || '-' || g, ${workspaceId}, 'person',
            jsonb_build_array(jsonb_build_object('type', 'email', 'value', 'p' || g || '@corp.example'))
          FROM generate_series(1, 8) g`
        const first = yield* startWorker
        const dispatched = yield* Effect.promise(() =>
          client.post("/api/enrichment", {
            key,
            body: { enrichmentId: "slow_title", scope: { type: "list", listId: "all" } }
          })
        )
        assert.strictEqual(dispatched.status, 202, JSON.stringify(dispatched.body))
        const runId = dispatched.body.runId as string
        // the first worker holds a batch: its calls reached the vendor
        yield* Effect.promise(() =>
          eventually(async () => (vendor.requests.length >= 5 ? true : undefined), 60_000)
        ).pipe(Effect.tapCause(() => Effect.sync(() => console.log(first.output()))))
        const [claimed] = yield* sql<{ running: number }>`
          SELECT count_running AS running FROM enrichment_runs WHERE id = ${runId}`
        assert.strictEqual(claimed!.running, 5, "the worker holds a batch of 5")

        yield* stopProcess(first, "SIGKILL")
        const killedAt = Date.now()
        holding = false
        const fresh = yield* startWorker
        const run = yield* Effect.promise(() =>
          eventually(async () => {
            const r = (await client.get(`/api/enrichment/${runId}`, { key })).body.run
            return r.timing.settledAt === null ? undefined : r
          }, BOUND_MS + 30_000)
        ).pipe(Effect.tapCause(() => Effect.sync(() => console.log(fresh.output()))))
        const tookMs = Date.now() - killedAt
        console.log(`lost worker: settled ${tookMs} ms after the kill (bound ${BOUND_MS} ms)`)
        assert.isAtMost(tookMs, BOUND_MS, "settled within the documented bound")
        assert.strictEqual(run.status, "completed")
        assert.deepStrictEqual(run.scope.counts, { pending: 0, running: 0, completed: 8, skipped: 0, failed: 0 })
        const [log] = yield* sql<{ recorded: number; distinct_recorded: number; settlements: number }>`
          WITH recorded AS (
            SELECT jsonb_array_elements(data -> 'outcomes') ->> 'ordinal' AS o FROM events
            WHERE stream_id = ${`run-${runId}`} AND type = 'ItemBatchRecorded'
          )
          SELECT (SELECT count(*)::int FROM recorded) AS recorded,
            (SELECT count(DISTINCT o)::int FROM recorded) AS distinct_recorded,
            (SELECT count(*)::int FROM events WHERE stream_id = ${`run-${runId}`} AND type = 'CreditsSettled')
              AS settlements`
        assert.deepStrictEqual(log, { recorded: 8, distinct_recorded: 8, settlements: 1 })
        const [account] = yield* sql<{ held: number; captured: number }>`
          SELECT held::int, captured::int FROM credit_accounts WHERE workspace_id = ${workspaceId}`
        assert.deepStrictEqual(account, { held: 0, captured: 8 })
      })
  )
})
