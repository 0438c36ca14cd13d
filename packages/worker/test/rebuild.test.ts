/**
 * Rebuild: after a varied history (completed, cancelled and refused runs, an
 * idempotent replay, grants), dropping every read model and replaying the
 * events yields byte-identical rows.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { projectionTables, rebuildReadModels } from "@enrich/adapters/postgres/Rebuild"
import { eventually, type TestClient } from "@enrich/http/testing/HttpTestClient"
import { ADMIN_TOKEN, TestServer } from "@enrich/http/testing/TestServer"
import { FullApp } from "./support/FullApp.ts"
import { projectionSnapshot as snapshot } from "@enrich/adapters/testing/ProjectionSnapshot"

const run = async (api: TestClient, key: string, body: unknown) =>
  (await api.post("/api/enrichment", { key, body })).body

const settled = (api: TestClient, key: string, runId: string) =>
  eventually(async () => {
    const status = await api.get(`/api/enrichment/${runId}`, { key })
    return status.body.run.timing.settledAt === null ? undefined : status.body.run
  })

layer(FullApp, { timeout: 180_000, excludeTestServices: true })("Rebuild (end to end)", (it) => {
  it.effect("a_rebuild_from_events_yields_byte_identical_read_models", () =>
    Effect.gen(function* () {
      const api = yield* TestServer
      yield* Effect.promise(async () => {
        const ws = await api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "History", credits: 40 } })
        const key = ws.body.apiKey as string
        const people = await api.post("/api/lists/import", {
          key,
          body: { leads: Array.from({ length: 30 }, (_, i) => ({ type: "person", email: `p${i}@corp.example` })) }
        })
        await api.post("/api/lists/import", { key, body: { leads: [{ type: "company", domain: "acme.io" }] } })
        const done = await run(api, key, {
          enrichmentId: "email_validation",
          scope: { type: "list", listId: "all" },
          idempotencyKey: "k"
        })
        await run(api, key, {
          enrichmentId: "email_validation",
          scope: { type: "list", listId: "all" },
          idempotencyKey: "k"
        })
        await settled(api, key, done.runId)
        const again = await run(api, key, {
          enrichmentId: "email_validation",
          scope: { type: "explicit_leads", leadIds: people.body.leadIds.slice(0, 5) },
          writePolicy: "skip_existing"
        })
        await settled(api, key, again.runId)
        await run(api, key, { enrichmentId: "company_domain", scope: { type: "list", listId: "all" } }).then((r) =>
          settled(api, key, r.runId)
        )
        const refused = await api.post("/api/enrichment", {
          key,
          body: { enrichmentId: "email_validation", scope: { type: "list", listId: "all" } }
        })
        assert.strictEqual(refused.status, 402)
        const other = await api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Other", credits: 3 } })
        const otherKey = other.body.apiKey as string
        const lead = await api.post("/api/lists/import", {
          key: otherKey,
          body: { leads: [{ type: "person", email: "o@corp.example" }] }
        })
        const cancelled = await run(api, otherKey, {
          enrichmentId: "email_validation",
          scope: { type: "explicit_leads", leadIds: lead.body.leadIds }
        })
        await api.post(`/api/enrichment/${cancelled.runId}/cancel`, { key: otherKey })
        await settled(api, otherKey, cancelled.runId)
      })
      const before = yield* snapshot
      assert.notStrictEqual(before["credit_ledger"], "[]")
      assert.notStrictEqual(before["idempotency_keys"], "[]")
      const { replayed } = yield* rebuildReadModels
      assert.isAbove(replayed, 10)
      const after = yield* snapshot
      for (const table of projectionTables)
        assert.strictEqual(after[table], before[table], `${table} differs after a rebuild`)
    })
  )
})
