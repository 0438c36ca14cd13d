/**
 * Tenants stay apart in provider calls: two workspaces run the same bulk vendor at once, and one of them has
 * a Lead the vendor refuses (it fails the whole bulk request, echoing what it was sent). Bulk requests were
 * grouped by run input only, so one request could carry both tenants' Leads: the other tenant's items failed
 * too, and their errors held the first tenant's data. Real dispatch, executor and a real local vendor.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { decodeHttpProviderConfig } from "@enrich/catalog/http/HttpProviderConfig"
import { makeHttpEntry } from "@enrich/catalog/http/HttpProvider"
import { Workspaces } from "@enrich/adapters/postgres/Workspaces"
import { fakeVendor } from "@enrich/catalog/testing/FakeVendor"
import { TestDatabaseLive } from "@enrich/adapters/testing/TestDatabase"
import { assertSettled, dispatchAll, executeRun, insertPeople, servicesWith } from "./support/Failures.ts"

layer(TestDatabaseLive, { timeout: 60_000, excludeTestServices: true })(
  "Tenants in bulk requests (integration)",
  (it) => {
    it.effect("regression_a_bulk_request_mixed_two_workspaces_and_one_tenants_bad_lead_failed_the_others", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const vendor = yield* fakeVendor((request) => {
          const emails: Array<string> = request.body.people.map((p: { email: string }) => p.email)
          // the vendor refuses a whole request with a Lead it does not like, and echoes what it was sent
          if (emails.some((e) => e.startsWith("refused")))
            return { status: 422, json: { error: "refused", sent: emails } }
          return { json: { results: emails.map((email) => ({ title: `CTO of ${email}` })) } }
        })
        const entry = yield* Effect.flatMap(
          decodeHttpProviderConfig({
            kind: "http",
            slug: "bulk_title",
            name: "Bulk title",
            description: "A bulk vendor",
            subject: "person",
            version: 1,
            reads: ["email"],
            defaultOutput: { target: "lead_attribute", attributeKey: "bulk_title" },
            outputOverridePolicy: { targets: ["lead_attribute"], attributeKey: true },
            costModel: { creditAction: "BULK_TITLE", unitCost: 1, chargeOn: "found" },
            mode: "batch",
            maxBatchSize: 10,
            batchWindowMs: 200,
            request: {
              method: "POST",
              url: `${vendor.url}/bulk`,
              body: { people: { $each: { email: { $lead: "email" } } } }
            },
            response: { records: "/results", output: { title: { path: "/title", type: "string" } } },
            rateLimit: { requestsPerSecond: 100, burst: 10 },
            timeoutMs: 5_000,
            retry: { maxAttempts: 1, backoffMs: 10 }
          }),
          (config) => makeHttpEntry(config)
        ).pipe(Effect.orDie)
        yield* Effect.gen(function* () {
          const workspaces = yield* Workspaces
          const a = (yield* workspaces.create({ name: "tenant-a", credits: 3 })).workspace.id
          const b = (yield* workspaces.create({ name: "tenant-b", credits: 3 })).workspace.id
          yield* insertPeople(a, ["refused@a.example", "ok1@a.example", "ok2@a.example"])
          yield* insertPeople(b, ["one@b.example", "two@b.example", "three@b.example"])
          const runA = { runId: yield* dispatchAll(a, "bulk_title"), workspaceId: a }
          const runB = { runId: yield* dispatchAll(b, "bulk_title"), workspaceId: b }
          // both runs' batches call the vendor within one batching window
          yield* Effect.all([executeRun(runA), executeRun(runB)], { concurrency: 2 })
          for (const request of vendor.requests) {
            const emails: Array<string> = request.body.people.map((p: { email: string }) => p.email)
            const tenants = new Set(emails.map((e) => e.split("@")[1]))
            assert.strictEqual(tenants.size, 1, `one tenant per bulk request: ${emails.join(", ")}`)
          }
          const endB = yield* assertSettled(runB.runId)
          assert.deepStrictEqual(
            endB.items.map((i) => i.status),
            ["completed", "completed", "completed"],
            "the other tenant's items all complete"
          )
          const endA = yield* assertSettled(runA.runId)
          for (const item of endA.items) assert.strictEqual(item.status, "failed")
          const leaked = yield* sql<{ n: number }>`
          SELECT count(*)::int AS n FROM run_items
          WHERE (run_id = ${runA.runId} AND (error::text LIKE '%b.example%' OR result::text LIKE '%b.example%'))
             OR (run_id = ${runB.runId} AND (error::text LIKE '%a.example%' OR result::text LIKE '%a.example%'))`
          assert.strictEqual(leaked[0]!.n, 0, "neither tenant's results hold the other's data")
        }).pipe(Effect.provide(servicesWith([entry])))
      })
    )
  }
)
