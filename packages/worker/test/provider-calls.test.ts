/**
 * Provider calls against a real local HTTP "vendor": retryable failures (503)
 * are tried again with backoff up to the configured attempts, a 4xx fails the
 * item at once, calls run a bounded number at a time, and they happen outside
 * the batch's transaction.
 */
import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { createServer, type Server } from "node:http"
import { SqlClient } from "effect/sql"
import { ClientOnlyClusterLive, WorkflowDispatcherLive } from "@enrich/adapters/engine/RunWorkflow"
import { freePort } from "@enrich/adapters/postgres/EmbeddedPostgres"
import { Workspaces } from "@enrich/adapters/postgres/Workspaces"
import { builtinEntries } from "@enrich/catalog/Catalog"
import { DispatchRun } from "@enrich/application/runs/DispatchRun"
import { Persistence } from "@enrich/adapters/Services"
import { RunCommands } from "@enrich/application/runs/RunCommands"
import { dispatchRequest } from "@enrich/adapters/testing/DispatchRequests"
import { TestDatabaseLive } from "@enrich/adapters/testing/TestDatabase"
import { Catalog, type CatalogEntry, makeCatalog, ProviderError } from "@enrich/domain/ports/Catalog"
import { emailsOf } from "@enrich/domain/leads/Lead"
import { RunExecutor } from "../src/RunExecutor.ts"

/** The vendor: per email, how many calls fail with 503 before a 200 (or always 400 / always 503). */
const startVendor = async () => {
  const calls = new Map<string, number>()
  let inFlight = 0
  let maxInFlight = 0
  const server: Server = createServer((req, res) => {
    const email = new URL(req.url ?? "/", "http://x").searchParams.get("email") ?? ""
    const n = (calls.get(email) ?? 0) + 1
    calls.set(email, n)
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    setTimeout(() => {
      inFlight--
      const [mode] = email.split("@")
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" })
        res.end(JSON.stringify(body))
      }
      if (mode === "bad") return reply(400, { error: "unknown person" })
      if (mode === "down") return reply(503, { error: "try later" })
      if (mode?.startsWith("flaky") && n <= 2) return reply(503, { error: "busy" })
      reply(200, { id: `sub-${email}`, title: "CTO" })
    }, 20)
  })
  const port = await freePort()
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok))
  return { url: `http://127.0.0.1:${port}`, calls, maxInFlight: () => maxInFlight, close: () => server.close() }
}

const vendorEntry = (url: string, beforeCall: (email: string) => Effect.Effect<void>): CatalogEntry => ({
  contract: { ...builtinEntries[0]!.contract, id: "vendor_title", slug: "vendor_title", name: "Vendor title lookup" },
  snapshot: (lead) => ({ email: emailsOf(lead)[0] ?? null }),
  execute: (snapshot) =>
    Effect.andThen(
      beforeCall(String(snapshot["email"])),
      Effect.tryPromise({
        try: () => fetch(`${url}/lookup?email=${encodeURIComponent(String(snapshot["email"]))}`),
        catch: (cause) => new ProviderError({ message: `vendor unreachable: ${String(cause)}`, retryable: true })
      }).pipe(
        Effect.flatMap((response) =>
          response.ok
            ? Effect.promise(() => response.json() as Promise<{ id: string; title: string }>).pipe(
                Effect.map((body) => ({
                  result: { title: body.title },
                  raw: body,
                  found: true,
                  provider: "vendor",
                  providerSubmissionId: body.id
                }))
              )
            : Effect.fail(
                new ProviderError({
                  message: `vendor answered ${response.status}`,
                  retryable: response.status === 429 || response.status >= 500,
                  details: { status: response.status }
                })
              )
        )
      )
    )
})

layer(TestDatabaseLive, { timeout: 120_000, excludeTestServices: true })(
  "Provider calls (integration, real HTTP vendor)",
  (it) => {
    it.effect("retryable_failures_are_retried_with_backoff_a_4xx_fails_at_once_and_calls_are_bounded", () =>
      Effect.gen(function* () {
        const vendor = yield* Effect.acquireRelease(Effect.promise(startVendor), (v) => Effect.sync(v.close))
        const db = yield* SqlClient.SqlClient
        // while the call for race@ is in flight, someone writes the attribute: under skip_existing it must win
        // and while the call for gone@ is in flight, its Lead is deleted: its result must not be written
        const beforeCall = (email: string) =>
          email.startsWith("race@")
            ? db`UPDATE leads SET attributes = jsonb_set(attributes, '{email_validation}', '"written meanwhile"')
                WHERE contacts @> ${JSON.stringify([{ value: email }])}::jsonb`.pipe(Effect.orDie, Effect.asVoid)
            : email.startsWith("gone@")
              ? db`DELETE FROM leads WHERE contacts @> ${JSON.stringify([{ value: email }])}::jsonb`.pipe(
                  Effect.orDie,
                  Effect.asVoid
                )
              : Effect.void
        const catalog = Layer.succeed(Catalog, makeCatalog([...builtinEntries, vendorEntry(vendor.url, beforeCall)]))
        const services = Layer.mergeAll(DispatchRun.layer, RunExecutor.layer).pipe(
          Layer.provideMerge(RunCommands.layer),
          Layer.provideMerge(Layer.merge(Persistence, catalog)),
          Layer.provide(WorkflowDispatcherLive),
          Layer.provide(ClientOnlyClusterLive),
          Layer.provide(
            ConfigProvider.layer(
              ConfigProvider.fromEnv({
                env: {
                  ...process.env,
                  ENRICH_PROVIDER_CONCURRENCY: "2",
                  ENRICH_PROVIDER_MAX_ATTEMPTS: "3",
                  ENRICH_PROVIDER_BACKOFF_MS: "10"
                } as Record<string, string>
              })
            )
          )
        )
        yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const { workspace } = yield* (yield* Workspaces).create({ name: "vendor", credits: 10 })
          const emails = [
            "flaky1@corp.example",
            "flaky2@corp.example",
            "ok@corp.example",
            "bad@corp.example",
            "down@corp.example"
          ]
          yield* sql`INSERT INTO leads (id, workspace_id, type, contacts)
          SELECT ${workspace.id} || '-' || e.ord, ${workspace.id}, 'person', jsonb_build_array(jsonb_build_object('type', 'email', 'value', e.v))
          FROM jsonb_array_elements_text(${JSON.stringify(emails)}::jsonb) WITH ORDINALITY AS e(v, ord)`
          const dispatched = yield* (yield* DispatchRun).dispatch(
            workspace.id,
            dispatchRequest({ enrichmentId: "vendor_title", scope: { type: "list", listId: "all" } })
          )
          const runId = dispatched._tag === "Accepted" ? dispatched.runId : ""
          const executor = yield* RunExecutor
          const run = { runId, workspaceId: workspace.id }
          const outcome = yield* executor.runBatch(run, `${runId}/batch-0`)
          assert.deepStrictEqual(outcome, { claimed: 5, completed: 3, failed: 2, skipped: 0 })
          yield* executor.complete(run)
          const items = yield* sql<{ email: string; status: string; error: any; submission: string | null }>`
          SELECT i.lead_snapshot->>'email' AS email, i.status, i.error, i.provider_submission_id AS submission
          FROM run_items i WHERE i.run_id = ${runId} AND i.recorded_at IS NOT NULL ORDER BY 1`
          const byEmail = Object.fromEntries(items.map((i) => [i.email, i]))
          assert.strictEqual(byEmail["flaky1@corp.example"]!.status, "completed")
          assert.strictEqual(byEmail["flaky1@corp.example"]!.submission, "sub-flaky1@corp.example")
          assert.strictEqual(vendor.calls.get("flaky1@corp.example"), 3, "two 503s, then success on the third attempt")
          assert.strictEqual(vendor.calls.get("ok@corp.example"), 1)
          assert.strictEqual(vendor.calls.get("bad@corp.example"), 1, "a 4xx is not retried")
          assert.deepStrictEqual(byEmail["bad@corp.example"]!.error.details, {
            attempts: 1,
            retryable: false,
            provider: { status: 400 }
          })
          assert.strictEqual(vendor.calls.get("down@corp.example"), 3, "a 503 is tried up to the configured attempts")
          assert.strictEqual(byEmail["down@corp.example"]!.status, "failed")
          assert.strictEqual(byEmail["down@corp.example"]!.error.details.attempts, 3)
          assert.isAtMost(vendor.maxInFlight(), 2, "at most ENRICH_PROVIDER_CONCURRENCY calls at a time")
          const [settled] = yield* sql<{ captured: number; released: number }>`
          SELECT captured::int, released::int FROM enrichment_runs WHERE id = ${runId}`
          assert.deepStrictEqual(settled, { captured: 3, released: 2 }, "only completed items are charged")

          // skip_existing is checked again when the results are written
          yield* sql`INSERT INTO leads (id, workspace_id, type, contacts) VALUES
          (${`${workspace.id}-race`}, ${workspace.id}, 'person', '[{"type":"email","value":"race@corp.example"}]'::jsonb)`
          const second = yield* (yield* DispatchRun).dispatch(
            workspace.id,
            dispatchRequest({
              enrichmentId: "vendor_title",
              scope: { type: "explicit_leads", leadIds: [`${workspace.id}-race`] },
              writePolicy: "skip_existing"
            })
          )
          const raceRun = second._tag === "Accepted" ? second.runId : ""
          const raced = yield* executor.runBatch({ runId: raceRun, workspaceId: workspace.id }, `${raceRun}/batch-0`)
          assert.deepStrictEqual(raced, { claimed: 1, completed: 0, failed: 0, skipped: 1 })
          const [lead] = yield* sql<{ value: unknown }>`
          SELECT attributes->'email_validation' AS value FROM leads WHERE id = ${`${workspace.id}-race`}`
          assert.strictEqual(lead!.value, "written meanwhile", "the value written during the call is kept")

          // so is the Lead's existence: a Lead deleted during the call is skipped, and nothing of it is kept
          yield* sql`INSERT INTO leads (id, workspace_id, type, contacts) VALUES
          (${`${workspace.id}-gone`}, ${workspace.id}, 'person', '[{"type":"email","value":"gone@corp.example"}]'::jsonb)`
          const third = yield* (yield* DispatchRun).dispatch(
            workspace.id,
            dispatchRequest({
              enrichmentId: "vendor_title",
              scope: { type: "explicit_leads", leadIds: [`${workspace.id}-gone`] }
            })
          )
          const goneRun = third._tag === "Accepted" ? third.runId : ""
          const gone = yield* executor.runBatch({ runId: goneRun, workspaceId: workspace.id }, `${goneRun}/batch-0`)
          assert.deepStrictEqual(gone, { claimed: 1, completed: 0, failed: 0, skipped: 1 })
          const [item] = yield* sql<{ reason: string; results: number }>`
          SELECT i.skipped_reason AS reason, (i.recorded_at IS NOT NULL OR i.lead_snapshot IS NOT NULL)::int AS results
          FROM run_items i WHERE i.run_id = ${goneRun}`
          assert.deepStrictEqual(item, { reason: "lead_deleted", results: 0 })
        }).pipe(Effect.provide(services))
      })
    )
  }
)
