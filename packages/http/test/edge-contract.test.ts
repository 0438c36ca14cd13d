/**
 * Promises of the contract checked over the whole database and the whole API:
 * a `preview` dispatch writes nothing at all (no row in any table, the engine's
 * included, and its idempotency key stays free), and unknown query fields are
 * refused on every endpoint (400 VALIDATION_FAILED naming `query.<field>`), also
 * on endpoints that declare no query (the endpoint list is read from the served
 * /openapi.json, so a new endpoint is covered at once). And the regressions the
 * edge property test (edge.fuzz.test.ts) found.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { Reply, TestClient } from "./support/HttpTestClient.ts"
import { ADMIN_TOKEN, allTableCounts, ApiOnlyTestServer, TestServer } from "./support/TestServer.ts"

const use = <A>(f: (api: TestClient) => Promise<A>) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    return yield* Effect.promise(() => f(api))
  })

const expectOk = (reply: Reply, status = 200) => {
  assert.strictEqual(reply.status, status, JSON.stringify(reply.body))
  return reply.body
}

const createWorkspace = (credits: number) =>
  use((api) => api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Acme", credits } })).pipe(
    Effect.map((r) => ({ key: expectOk(r, 201).apiKey as string, workspaceId: r.body.workspace.id as string }))
  )

/** Endpoints that answer whatever the query, by decision: probes, scrapers, the document and its page. */
const queryFree = new Set(["get /healthz", "get /readyz", "get /metrics"])

layer(ApiOnlyTestServer, { timeout: 120_000, excludeTestServices: true })(
  "edge contract (integration, real server)",
  (it) => {
    it.effect("a_preview_of_every_scope_shape_writes_nothing_at_all_and_leaves_its_idempotency_key_free", () =>
      Effect.gen(function* () {
        const { key } = yield* createWorkspace(2)
        const leadIds = expectOk(
          yield* use((api) =>
            api.post("/api/lists/import", {
              key,
              body: {
                leads: [
                  { type: "person", email: "ada@corp.example", title: "CTO" },
                  { type: "person", email: "grace@corp.example", title: "Engineer" },
                  { type: "person", email: "linus@corp.example" },
                  { type: "company", domain: "corp.example" }
                ]
              }
            })
          )
        ).leadIds as Array<string>
        const listId = expectOk(
          yield* use((api) => api.post("/api/lists", { key, body: { name: "People", leadIds: leadIds.slice(0, 3) } })),
          201
        ).list.id as string
        const scopes = [
          { type: "explicit_leads", leadIds: leadIds.slice(0, 2) },
          { type: "explicit_leads", leadIds: leadIds.slice(0, 2), listId },
          { type: "list", listId },
          { type: "list", listId: "all" },
          { type: "filtered_list", listId, filter: { where: [{ field: "title", op: "exists" }] } },
          { type: "filtered_list", listId: "all", filter: { any: [{ field: "email", op: "contains", value: "a" }] } },
          { type: "filtered_list", listId: "all", filter: { leadIds: leadIds.slice(1), limit: 1 } }
        ]
        const idempotencyKey = "preview-key"
        for (const scope of scopes) {
          const body = { enrichmentId: "email_validation", scope, mode: "preview", idempotencyKey }
          for (const headers of [{}, { "idempotency-key": idempotencyKey }]) {
            const before = yield* allTableCounts
            const reply = yield* use((api) => api.post("/api/enrichment", { key, body, headers }))
            const preview = expectOk(reply)
            assert.strictEqual(preview.status, "preview")
            assert.isNull(preview.runId)
            assert.isAbove(preview.leadCount, 0)
            assert.deepStrictEqual(yield* allTableCounts, before, `the preview wrote: ${JSON.stringify(scope)}`)
          }
        }
        // a preview beyond the balance is still a 200 that writes nothing
        const before = yield* allTableCounts
        const short = expectOk(
          yield* use((api) =>
            api.post("/api/enrichment", {
              key,
              body: {
                enrichmentId: "email_validation",
                scope: { type: "list", listId: "all" },
                mode: "preview",
                idempotencyKey
              }
            })
          )
        )
        assert.isFalse(short.cost.sufficient)
        assert.deepStrictEqual(yield* allTableCounts, before)

        // the key is still free: a persisted dispatch with it creates a run (202), and replays it (200)
        const persisted = { enrichmentId: "email_validation", scope: scopes[0], idempotencyKey }
        const created = expectOk(yield* use((api) => api.post("/api/enrichment", { key, body: persisted })), 202)
        assert.isFalse(created.reusedExistingRun)
        const replayed = expectOk(yield* use((api) => api.post("/api/enrichment", { key, body: persisted })))
        assert.deepStrictEqual([replayed.runId, replayed.reusedExistingRun], [created.runId, true])
        // and a preview with the now-used key still ignores it: no 422, nothing written
        const after = yield* allTableCounts
        const again = expectOk(
          yield* use((api) =>
            api.post("/api/enrichment", {
              key,
              body: { enrichmentId: "email_validation", scope: scopes[2], mode: "preview", idempotencyKey }
            })
          )
        )
        assert.strictEqual(again.status, "preview")
        assert.deepStrictEqual(yield* allTableCounts, after)
      })
    )

    it.effect("unknown_query_fields_are_refused_on_every_endpoint_naming_the_field", () =>
      Effect.gen(function* () {
        const { key, workspaceId } = yield* createWorkspace(5)
        const api = yield* TestServer
        const document = expectOk(yield* use((a) => a.get("/openapi.json"))) as {
          paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }> }>>
        }
        const routes = Object.entries(document.paths).flatMap(([path, operations]) =>
          Object.entries(operations).map(([method, operation]) => ({ method, path, operation }))
        )
        assert.isAbove(routes.length, 20)
        let refused = 0
        for (const { method, operation, path } of routes) {
          const route = `${method} ${path}`
          if (queryFree.has(route)) continue
          const declared = (operation.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name)
          const token = path.startsWith("/admin/") ? ADMIN_TOKEN : key
          const concrete = path
            .replace("{id}", path.startsWith("/admin/workspaces/") ? workspaceId : "some-id")
            .replace(/\{\w+\}/g, "some-id")
          for (const field of ["x", "unknownField", ...(declared.length === 0 ? ["id", "limit"] : [])]) {
            const before = yield* allTableCounts
            const reply = yield* Effect.promise(() =>
              fetch(`${api.baseUrl}${concrete}?${field}=1`, {
                method: method.toUpperCase(),
                headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
                // a body the endpoint accepts where it takes one, so only the query is wrong
                ...(method === "get" ? {} : { body: "{}" }),
                signal: AbortSignal.timeout(10_000)
              }).then(async (r): Promise<Reply> => ({ status: r.status, headers: r.headers, body: await r.json() }))
            )
            const where = `${route}?${field}=1 → ${JSON.stringify(reply.body)}`
            assert.strictEqual(reply.status, 400, where)
            assert.strictEqual(reply.body.code, "VALIDATION_FAILED", where)
            assert.include(
              reply.body.details.issues.map((i: { path: string }) => i.path),
              `query.${field}`,
              where
            )
            assert.deepStrictEqual(yield* allTableCounts, before, where)
            refused++
          }
        }
        assert.isAbove(refused, 40)
        // an unknown field next to known ones is named alone, and an unauthenticated request is still 401 first
        const mixed = yield* use((a) => a.get("/api/leads?limit=5&tpye=person", { key }))
        assert.strictEqual(mixed.status, 400)
        // with the same message as on the endpoints that declare no query
        assert.deepStrictEqual(mixed.body.details, {
          issues: [{ path: "query.tpye", message: "Expected no excess property" }],
          total: 1
        })
        assert.strictEqual((yield* use((a) => a.get("/api/credits?x=1"))).status, 401)
        assert.strictEqual((yield* use((a) => a.get("/api/credits?x=1", { key: "nope" }))).status, 401)
        // the endpoints without a query still answer without one
        expectOk(yield* use((a) => a.get("/api/credits", { key })))
        // probes and the document ignore queries, by decision (cache busters)
        for (const path of ["/healthz?t=1", "/readyz?t=1", "/metrics?t=1", "/openapi.json?t=1", "/docs?t=1"]) {
          assert.strictEqual((yield* use((a) => a.get(path))).status, 200, path)
        }
      })
    )

    it.effect("regression_endpoints_without_a_query_schema_accepted_any_query", () =>
      Effect.gen(function* () {
        const { key } = yield* createWorkspace(5)
        const [lead] = expectOk(
          yield* use((api) =>
            api.post("/api/lists/import", { key, body: { leads: [{ type: "person", email: "a@corp.example" }] } })
          )
        ).leadIds as Array<string>
        const run = expectOk(
          yield* use((api) =>
            api.post("/api/enrichment", {
              key,
              body: { enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds: [lead] } }
            })
          ),
          202
        ).runId as string
        for (const [reply, path] of [
          [yield* use((api) => api.get("/api/credits?x=1", { key })), "query.x"],
          [yield* use((api) => api.get(`/api/enrichment/${run}?x=1`, { key })), "query.x"],
          [yield* use((api) => api.post(`/api/enrichment/${run}/cancel?force=true`, { key })), "query.force"],
          [yield* use((api) => api.delete(`/api/leads?id=${lead}`, { key, body: { id: lead } })), "query.id"]
        ] as const) {
          assert.strictEqual(reply.status, 400, JSON.stringify(reply.body))
          assert.strictEqual(reply.body.code, "VALIDATION_FAILED")
          assert.deepStrictEqual(reply.body.details, {
            issues: [{ path, message: "Expected no excess property" }],
            total: 1
          })
          assert.strictEqual(reply.body.message, `Invalid request: ${path}: Expected no excess property`)
        }
        // nothing happened: the run is still pending and the Lead still there
        assert.strictEqual(
          expectOk(yield* use((api) => api.get(`/api/enrichment/${run}`, { key }))).run.status,
          "pending"
        )
        expectOk(yield* use((api) => api.get(`/api/leads?id=${lead}`, { key })))
      })
    )

    it.effect("regression_endpoints_without_a_body_schema_ignored_any_body", () =>
      Effect.gen(function* () {
        const { key, workspaceId } = yield* createWorkspace(5)
        const document = expectOk(yield* use((a) => a.get("/openapi.json"))) as {
          paths: Record<string, Record<string, { requestBody?: unknown }>>
        }
        const bodiless = Object.entries(document.paths).flatMap(([path, operations]) =>
          Object.entries(operations)
            .filter(([method, operation]) => method !== "get" && operation.requestBody === undefined)
            .map(([method]) => ({ method: method.toUpperCase(), path }))
        )
        // cancel, revoke an API key, delete a webhook…: every one the document says takes no body
        assert.isAtLeast(bodiless.length, 3, JSON.stringify(bodiless))
        for (const { method, path } of bodiless) {
          const token = path.startsWith("/admin/") ? ADMIN_TOKEN : key
          const concrete = path
            .replace("{id}", path.startsWith("/admin/workspaces/") ? workspaceId : "some-id")
            .replace(/\{\w+\}/g, "some-id")
          for (const [raw, named] of [
            ['{"scopes": ["read"], "name": "ci"}', "body.name"],
            ["[1]", "body"],
            ['"text"', "body"],
            ["{not json", "body"]
          ] as const) {
            const before = yield* allTableCounts
            const reply = yield* use((a) =>
              (method === "DELETE" ? a.delete : a.post)(concrete, {
                key: token,
                raw,
                headers: { "content-type": "application/json" }
              })
            )
            const where = `${method} ${path} ${raw} → ${JSON.stringify(reply.body)}`
            assert.strictEqual(reply.status, 400, where)
            assert.strictEqual(reply.body.code, "VALIDATION_FAILED", where)
            const paths = reply.body.details.issues.map((i: { path: string }) => i.path)
            assert.include(paths, named, where)
            assert.include(reply.body.message, paths[0], where)
            assert.deepStrictEqual(yield* allTableCounts, before, where)
          }
        }
        // an empty body, whitespace, or {} still do what they always did (a revocation takes no body)
        const revoked = expectOk(
          yield* use((a) => a.post(`/admin/workspaces/${workspaceId}/api-keys`, { key: ADMIN_TOKEN })),
          201
        ).id as string
        for (const raw of ["", " \n", "{}"]) {
          const reply = yield* use((a) =>
            a.post(`/admin/api-keys/${revoked}/revoke`, { key: ADMIN_TOKEN, ...(raw === "" ? {} : { raw }) })
          )
          assert.strictEqual(reply.status, 200, `${JSON.stringify(raw)} → ${JSON.stringify(reply.body)}`)
        }
        // a key's creation takes its restrictions now (DECISIONS.md 69): no body, {} or null is a key without any
        for (const raw of ["", "{}", "null"]) {
          const created = yield* use((a) =>
            a.post(`/admin/workspaces/${workspaceId}/api-keys`, {
              key: ADMIN_TOKEN,
              ...(raw === "" ? {} : { raw })
            })
          )
          assert.strictEqual(created.status, 201, `${JSON.stringify(raw)} → ${JSON.stringify(created.body)}`)
          assert.isNull(created.body.scopes)
        }
        const keys = expectOk(
          yield* use((a) => a.get(`/admin/workspaces/${workspaceId}/api-keys`, { key: ADMIN_TOKEN }))
        )
        assert.strictEqual(keys.apiKeys.length, 5, "the first key and the four just made; none by a refused request")
      })
    )

    it.effect("a_body_that_is_not_json_or_of_another_content_type_is_refused_naming_where", () =>
      Effect.gen(function* () {
        const { key } = yield* createWorkspace(5)
        const broken = yield* use((a) =>
          a.post("/api/leads", { key, raw: '{"type": "person", "email": "a\\x41@corp.example"}' })
        )
        assert.strictEqual(broken.status, 400)
        assert.strictEqual(broken.body.code, "VALIDATION_FAILED")
        assert.strictEqual(broken.body.details.issues[0].path, "body")
        assert.match(broken.body.message, /^Invalid request: body: .*JSON/, JSON.stringify(broken.body))
        for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "application/xml"]) {
          const other = yield* use((a) =>
            a.post("/api/leads", { key, raw: "type=person", headers: { "content-type": contentType } })
          )
          assert.strictEqual(other.status, 415, JSON.stringify(other.body))
          assert.strictEqual(other.body.code, "UNSUPPORTED_MEDIA_TYPE")
          assert.deepStrictEqual(
            other.body.details.issues.map((i: { path: string }) => i.path),
            ["headers.content-type"]
          )
          assert.include(other.body.message, contentType)
        }
      })
    )

    it.effect("regression_dates_javascript_reads_but_postgresql_does_not_were_a_500", () =>
      Effect.gen(function* () {
        // year 0 (1 BC), past 9999 once in UTC, and offsets beyond PostgreSQL's ±15:59 reached SQL as given
        const { key } = yield* createWorkspace(5)
        expectOk(
          yield* use((api) =>
            api.post("/api/lists/import", { key, body: { leads: [{ type: "person", email: "a@corp.example" }] } })
          )
        )
        const before = yield* allTableCounts
        for (const value of [
          "0000-01-01T00:00Z",
          "0001-01-01T00:00+01:00",
          "9999-12-31T23:00-05:00",
          "2024-02-30T10:00Z"
        ]) {
          const reply = yield* use((api) =>
            api.get(`/api/enrichment?createdAfter=${encodeURIComponent(value)}`, { key })
          )
          assert.strictEqual(reply.status, 400, `${value}: ${JSON.stringify(reply.body)}`)
          assert.deepStrictEqual(reply.body.details.issues, [
            { path: "query.createdAfter", message: "not a valid date" }
          ])
        }
        for (const value of ["0000-01-01", "0001-01-01T00:00+01:00", "9999-12-31T23:00-05:00"]) {
          const reply = yield* use((api) =>
            api.post("/api/enrichment", {
              key,
              body: {
                enrichmentId: "email_validation",
                scope: {
                  type: "filtered_list",
                  listId: "all",
                  filter: { where: [{ field: "createdAt", op: "gt", value }] }
                },
                mode: "preview"
              }
            })
          )
          assert.strictEqual(reply.status, 400, `${value}: ${JSON.stringify(reply.body)}`)
          assert.strictEqual(reply.body.code, "FILTER_INVALID")
          assert.strictEqual(reply.body.details.issues[0].path, "filter.where[0].value")
        }
        assert.deepStrictEqual(yield* allTableCounts, before)
        // the edges themselves, and any offset PostgreSQL would refuse as given, are fine
        for (const value of ["0001-01-01T00:00-01:00", "9999-12-31T23:59:59.999Z", "2024-01-01T00:00+20:00"]) {
          const reply = yield* use((api) =>
            api.get(`/api/enrichment?createdAfter=${encodeURIComponent(value)}`, { key })
          )
          assert.strictEqual(reply.status, 200, `${value}: ${JSON.stringify(reply.body)}`)
        }
      })
    )
  }
)
