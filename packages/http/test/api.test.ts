/**
 * The HTTP surface over a real server and a real Postgres: every endpoint of
 * the walking skeleton, its happy path and the errors a client can trigger.
 * Bad input always gets a 4xx JSON body with a `code` and writes nothing.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Reply, TestClient } from "./support/HttpTestClient.ts"
import { ADMIN_TOKEN, ApiOnlyTestServer, tableCounts, TestServer } from "./support/TestServer.ts"

const use = <A>(f: (api: TestClient) => Promise<A>) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    return yield* Effect.promise(() => f(api))
  })

const createWorkspace = (credits: number) =>
  use((api) => api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Acme", credits } })).pipe(
    Effect.map((r) => r.body.apiKey as string)
  )

const expectError = (reply: Reply, status: number, code: string) => {
  assert.strictEqual(reply.status, status, JSON.stringify(reply.body))
  assert.strictEqual(reply.body.code, code)
  assert.strictEqual(reply.body.error, reply.body.message)
  assert.isString(reply.headers.get("x-request-id"))
}

/** Runs `attempt` and checks it changed no table. */
const writesNothing = <A, E, R>(attempt: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const before = yield* tableCounts
    const result = yield* attempt
    assert.deepStrictEqual(yield* tableCounts, before)
    return result
  })

layer(ApiOnlyTestServer, { timeout: 120_000, excludeTestServices: true })(
  "HTTP API (integration, real server)",
  (it) => {
    it.effect("system_endpoints_answer_and_the_openapi_document_is_generated_from_the_schemas", () =>
      Effect.gen(function* () {
        const health = yield* use((api) => api.get("/healthz"))
        assert.deepStrictEqual([health.status, health.body], [200, { status: "ok" }])
        const ready = yield* use((api) => api.get("/readyz"))
        assert.deepStrictEqual(ready.body, { status: "ready", database: true, migrations: true })
        const openapi = yield* use((api) => api.get("/openapi.json"))
        assert.strictEqual(openapi.body.openapi, "3.1.0")
        assert.property(openapi.body.paths, "/api/enrichment")
        assert.property(openapi.body.paths, "/api/lists/import")
        const docs = yield* use((api) => api.get("/docs"))
        assert.strictEqual(docs.status, 200)
        assert.include(String(docs.body), "<html")
        expectError(yield* use((api) => api.get("/no/such/route")), 404, "NOT_FOUND")
      })
    )

    it.effect("the_admin_surface_needs_the_operator_token_and_valid_input", () =>
      writesNothing(
        Effect.gen(function* () {
          expectError(yield* use((api) => api.post("/admin/workspaces", { body: { name: "x" } })), 401, "UNAUTHORIZED")
          expectError(
            yield* use((api) => api.post("/admin/workspaces", { key: "wrong", body: { name: "x" } })),
            401,
            "UNAUTHORIZED"
          )
          for (const body of [
            {},
            { name: "" },
            { name: "x", credits: -1 },
            { name: "x", credits: 1.5 },
            { name: "x", extra: true }
          ]) {
            expectError(
              yield* use((api) => api.post("/admin/workspaces", { key: ADMIN_TOKEN, body })),
              400,
              "VALIDATION_FAILED"
            )
          }
          expectError(
            yield* use((api) => api.post("/admin/workspaces", { key: ADMIN_TOKEN, raw: "{oops" })),
            400,
            "VALIDATION_FAILED"
          )
        })
      ).pipe(
        Effect.andThen(
          Effect.gen(function* () {
            const created = yield* use((api) =>
              api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Acme", credits: 10 } })
            )
            assert.strictEqual(created.status, 201)
            assert.match(created.body.apiKey, /^ek_[\w-]{43}$/)
            assert.strictEqual(created.body.workspace.name, "Acme")
          })
        )
      )
    )

    it.effect("api_keys_are_required_and_checked", () =>
      Effect.gen(function* () {
        expectError(yield* use((api) => api.get("/api/enrichments")), 401, "UNAUTHORIZED")
        expectError(yield* use((api) => api.get("/api/enrichments", { key: "ek_not_a_key" })), 401, "UNAUTHORIZED")
        expectError(
          yield* use((api) => api.get("/api/enrichments", { headers: { authorization: "Basic abc" } })),
          401,
          "UNAUTHORIZED"
        )
      })
    )

    it.effect("the_catalog_lists_real_enrichments_and_finds_one_by_slug", () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace(0)
        const all = yield* use((api) => api.get("/api/enrichments", { key }))
        const slugs = all.body.enrichments.map((e: { slug: string }) => e.slug)
        assert.includeMembers(slugs, ["email_validation", "company_domain"])
        const one = yield* use((api) => api.get("/api/enrichments?id=company_domain", { key }))
        assert.strictEqual(one.body.enrichments.length, 1)
        const entry = one.body.enrichments[0]
        assert.strictEqual(entry.subject, "company")
        assert.strictEqual(entry.id, entry.slug)
        assert.strictEqual(entry.outputSchema.type, "object")
        const q = yield* use((api) => api.get("/api/enrichments?q=DELIVERABILITY", { key }))
        assert.deepStrictEqual(
          q.body.enrichments.map((e: { slug: string }) => e.slug),
          ["email_validation"]
        )
        expectError(yield* use((api) => api.get("/api/enrichments?id=nope", { key })), 404, "NOT_FOUND")
        expectError(yield* use((api) => api.get("/api/enrichments?unknown=1", { key })), 400, "VALIDATION_FAILED")
      })
    )

    it.effect("import_deduplicates_by_identity_and_keeps_input_order", () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace(0)
        const first = yield* use((api) =>
          api.post("/api/lists/import", {
            key,
            body: {
              leads: [
                { type: "person", email: "Ada@Example.com", name: { full: "Ada Lovelace" } },
                { type: "company", domain: "https://www.acme.io/about" },
                { type: "person", email: "ada@example.com", title: "CTO" }
              ]
            }
          })
        )
        assert.strictEqual(first.status, 200)
        assert.strictEqual(first.body.created, 2)
        assert.strictEqual(first.body.leadIds[0], first.body.leadIds[2])
        const again = yield* use((api) =>
          api.post("/api/lists/import", {
            key,
            body: { leads: [{ type: "company", domain: "acme.io", industry: "Software" }] }
          })
        )
        assert.deepStrictEqual(
          [again.body.created, again.body.matched, again.body.leadIds],
          [0, 1, [first.body.leadIds[1]]]
        )
        const preview = yield* writesNothing(
          use((api) =>
            api.post("/api/lists/import", {
              key,
              body: {
                preview: true,
                leads: [{ type: "person", email: "x@y.com" }, { type: "person", email: "X@y.com" }, { type: "company" }]
              }
            })
          )
        )
        assert.deepStrictEqual(preview.body, { preview: { leadCount: 2, personCount: 1, companyCount: 1 } })
      })
    )

    it.effect("invalid_imports_name_the_offending_row_and_write_nothing", () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace(0)
        yield* writesNothing(
          Effect.gen(function* () {
            const bad = yield* use((api) =>
              api.post("/api/lists/import", {
                key,
                body: { leads: [{ type: "person", email: "a@b.com" }, { type: "robot" }] }
              })
            )
            expectError(bad, 400, "VALIDATION_FAILED")
            assert.strictEqual(bad.body.details.issues[0].path, "body.leads[1].type")
            expectError(
              yield* use((api) => api.post("/api/lists/import", { key, body: { leads: [] } })),
              400,
              "VALIDATION_FAILED"
            )
            expectError(
              yield* use((api) =>
                api.post("/api/lists/import", { key, body: { leads: [{ type: "person", nickname: "x" }] } })
              ),
              400,
              "VALIDATION_FAILED"
            )
            expectError(
              yield* use((api) =>
                api.post("/api/lists/import", {
                  key,
                  body: { listId: "nope", leads: [{ type: "person", email: "a@b.com" }] }
                })
              ),
              400,
              "LIST_NOT_FOUND"
            )
          })
        )
      })
    )

    it.effect("lists_hold_leads_and_page_them_with_a_cursor", () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace(0)
        const list = yield* use((api) => api.post("/api/lists", { key, body: { name: "Prospects" } }))
        assert.strictEqual(list.status, 201)
        assert.strictEqual(list.body.list.leadType, "person")
        const listId = list.body.list.id
        const leads = Array.from({ length: 5 }, (_, i) => ({ type: "person", email: `p${i}@corp.example` }))
        yield* use((api) => api.post("/api/lists/import", { key, body: { listId, leads } }))
        const page1 = yield* use((api) => api.get(`/api/lists/${listId}/leads?limit=3`, { key }))
        assert.strictEqual(page1.body.total, 5)
        assert.strictEqual(page1.body.leads.length, 3)
        assert.isTrue(page1.body.hasMore)
        assert.isString(page1.body.leads[0].membership.id)
        const page2 = yield* use((api) =>
          api.get(`/api/lists/${listId}/leads?limit=3&cursor=${page1.body.nextCursor}`, { key })
        )
        assert.strictEqual(page2.body.leads.length, 2)
        assert.isFalse(page2.body.hasMore)
        assert.isNull(page2.body.nextCursor)
        const all = yield* use((api) => api.get(`/api/lists/all/leads`, { key }))
        assert.strictEqual(all.body.total, 5)
        assert.isNull(all.body.leads[0].membership)
        expectError(yield* use((api) => api.get(`/api/lists/nope/leads`, { key })), 404, "NOT_FOUND")
        expectError(
          yield* use((api) => api.get(`/api/lists/${listId}/leads?limit=0`, { key })),
          400,
          "VALIDATION_FAILED"
        )
        expectError(
          yield* use((api) => api.get(`/api/lists/${listId}/leads?limit=501`, { key })),
          400,
          "VALIDATION_FAILED"
        )
        const company = yield* use((api) =>
          api.post("/api/lists/import", { key, body: { leads: [{ type: "company", domain: "acme.io" }] } })
        )
        yield* writesNothing(
          Effect.gen(function* () {
            expectError(
              yield* use((api) => api.post("/api/lists", { key, body: { name: "x", leadType: "robots" } })),
              400,
              "VALIDATION_FAILED"
            )
            expectError(
              yield* use((api) => api.post("/api/lists", { key, body: { leadIds: ["nope"] } })),
              400,
              "LEADS_NOT_FOUND"
            )
            expectError(
              yield* use((api) => api.post("/api/lists", { key, body: { leadIds: company.body.leadIds } })),
              400,
              "LEAD_TYPE_MISMATCH"
            )
          })
        )
      })
    )

    it.effect("dispatch_rejections_follow_the_contract_and_write_nothing", () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace(1)
        const imported = yield* use((api) =>
          api.post("/api/lists/import", {
            key,
            body: {
              leads: [
                { type: "person", email: "a@corp.example" },
                { type: "person", email: "b@corp.example" },
                { type: "company", domain: "acme.io" }
              ]
            }
          })
        )
        const [a, b, company] = imported.body.leadIds as Array<string>
        const emptyList = (yield* use((api) => api.post("/api/lists", { key, body: { name: "empty" } }))).body.list.id
        const dispatch = (body: unknown, headers?: Record<string, string>) =>
          use((api) => api.post("/api/enrichment", { key, body, ...(headers === undefined ? {} : { headers }) }))
        const scope = { type: "explicit_leads", leadIds: [a] }
        yield* writesNothing(
          Effect.gen(function* () {
            expectError(yield* dispatch({ scope }), 400, "VALIDATION_FAILED")
            expectError(yield* dispatch({ enrichmentId: "", scope }), 400, "VALIDATION_FAILED")
            expectError(
              yield* dispatch({ enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds: [] } }),
              400,
              "VALIDATION_FAILED"
            )
            expectError(
              yield* dispatch({ enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds: [a, a] } }),
              400,
              "VALIDATION_FAILED"
            )
            expectError(
              yield* dispatch({ enrichmentId: "email_validation", scope, mode: "dry" }),
              400,
              "VALIDATION_FAILED"
            )
            expectError(
              yield* dispatch({ enrichmentId: "email_validation", scope, output: { attributeKey: "Bad Key" } }),
              400,
              "VALIDATION_FAILED"
            )
            expectError(
              yield* dispatch(
                { enrichmentId: "email_validation", scope, idempotencyKey: "a" },
                { "idempotency-key": "b" }
              ),
              400,
              "VALIDATION_FAILED"
            )
            expectError(yield* dispatch({ enrichmentId: "no_such_enrichment", scope }), 400, "ENRICHMENT_NOT_FOUND")
            expectError(
              yield* dispatch({ enrichmentId: "email_validation", scope, input: { x: 1 } }),
              400,
              "INPUT_INVALID"
            )
            expectError(
              yield* dispatch({ enrichmentId: "email_validation", scope: { type: "list", listId: "nope" } }),
              400,
              "LIST_NOT_FOUND"
            )
            const missing = yield* dispatch({
              enrichmentId: "email_validation",
              scope: { type: "explicit_leads", leadIds: [a, "ghost"] }
            })
            expectError(missing, 400, "LEADS_NOT_FOUND")
            assert.deepStrictEqual(missing.body.details, { leadIds: ["ghost"], total: 1 })
            expectError(
              yield* dispatch({
                enrichmentId: "email_validation",
                scope: { type: "filtered_list", listId: emptyList, filter: { any: [] } }
              }),
              400,
              "FILTER_INVALID"
            )
            expectError(
              yield* dispatch({
                enrichmentId: "email_validation",
                scope: { type: "list", listId: "all" },
                output: { target: "membership_attribute" }
              }),
              400,
              "OUTPUT_TARGET_UNSUPPORTED"
            )
            const mismatch = yield* dispatch({
              enrichmentId: "email_validation",
              scope: { type: "explicit_leads", leadIds: [a, company] }
            })
            expectError(mismatch, 400, "SUBJECT_MISMATCH")
            assert.deepStrictEqual(mismatch.body.details.leadIds, [company])
            expectError(
              yield* dispatch({ enrichmentId: "email_validation", scope: { type: "list", listId: emptyList } }),
              400,
              "EMPTY_LEAD_SCOPE"
            )
            const poor = yield* dispatch({
              enrichmentId: "email_validation",
              scope: { type: "explicit_leads", leadIds: [a, b] },
              idempotencyKey: "k-402"
            })
            expectError(poor, 402, "INSUFFICIENT_CREDITS")
            assert.deepStrictEqual([poor.body.required, poor.body.balance], [2, 1])
            const preview = yield* dispatch({
              enrichmentId: "email_validation",
              scope: { type: "list", listId: "all" },
              mode: "preview",
              idempotencyKey: "k-p"
            })
            assert.strictEqual(preview.status, 200)
            assert.deepStrictEqual(preview.body, {
              enrichmentRunId: null,
              runId: null,
              status: "preview",
              leadCount: 2,
              triggerRunId: null,
              reusedExistingRun: false,
              cost: { creditAction: "EMAIL_VALIDATION", unitCost: 1, required: 2, balance: 1, sufficient: false }
            })
          })
        )
      })
    )

    it.effect("dispatch_creates_one_run_per_idempotency_key_and_reserves_its_credits", () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace(5)
        const imported = yield* use((api) =>
          api.post("/api/lists/import", { key, body: { leads: [{ type: "person", email: "a@corp.example" }] } })
        )
        const body = {
          enrichmentId: "email_validation",
          scope: { type: "explicit_leads", leadIds: imported.body.leadIds },
          idempotencyKey: "k1"
        }
        const created = yield* use((api) =>
          api.post("/api/enrichment", { key, body, headers: { "x-request-id": "req-dispatch-1" } })
        )
        assert.strictEqual(created.status, 202, JSON.stringify(created.body))
        assert.strictEqual(created.headers.get("x-request-id"), "req-dispatch-1")
        const sql = yield* SqlClient.SqlClient
        const [requested] = yield* sql<{ metadata: Record<string, string> }>`
          SELECT metadata FROM events WHERE stream_id = ${`run-${created.body.runId}`} AND type = 'RunRequested'`
        assert.strictEqual(requested!.metadata["requestId"], "req-dispatch-1")
        assert.strictEqual(requested!.metadata["correlationId"], created.body.runId)
        assert.match(requested!.metadata["actor"]!, /^api-key:/)
        const [held] = yield* sql<{ metadata: Record<string, string> }>`
          SELECT metadata FROM events WHERE type = 'CreditsHeld' AND data->>'runId' = ${created.body.runId}`
        assert.deepStrictEqual(
          [held!.metadata["requestId"], held!.metadata["correlationId"]],
          ["req-dispatch-1", created.body.runId]
        )
        assert.strictEqual(created.body.enrichmentRunId, created.body.runId)
        assert.deepStrictEqual(
          [created.body.status, created.body.leadCount, created.body.reusedExistingRun],
          ["pending", 1, false]
        )
        assert.isString(created.body.triggerRunId)
        const replay = yield* use((api) =>
          api.post("/api/enrichment", {
            key,
            body: { ...body, idempotencyKey: undefined },
            headers: { "idempotency-key": "k1" }
          })
        )
        assert.strictEqual(replay.status, 200)
        assert.deepStrictEqual([replay.body.runId, replay.body.reusedExistingRun], [created.body.runId, true])
        expectError(
          yield* use((api) => api.post("/api/enrichment", { key, body: { ...body, writePolicy: "skip_existing" } })),
          422,
          "IDEMPOTENCY_KEY_REUSED"
        )
        const status = yield* use((api) => api.get(`/api/enrichment/${created.body.runId}`, { key }))
        assert.strictEqual(status.body.run.status, "pending")
        assert.deepStrictEqual(status.body.run.cost.actual, { reserved: 1, captured: 0, released: 0 })
        assert.deepStrictEqual(status.body.run.scope.counts, {
          pending: 1,
          running: 0,
          completed: 0,
          skipped: 0,
          failed: 0
        })
        const items = yield* use((api) => api.get(`/api/enrichment/${created.body.runId}/items`, { key }))
        assert.strictEqual(items.body.items.length, 1)
        assert.deepStrictEqual(items.body.page, { limit: 50, nextCursor: null, hasMore: false })
        assert.strictEqual(items.body.items[0].status, "pending")
        assert.strictEqual(items.body.items[0].attempts, 0)
      })
    )

    it.effect("runs_of_another_workspace_are_not_found", () =>
      Effect.gen(function* () {
        const owner = yield* createWorkspace(5)
        const stranger = yield* createWorkspace(5)
        const imported = yield* use((api) =>
          api.post("/api/lists/import", { key: owner, body: { leads: [{ type: "person", email: "a@corp.example" }] } })
        )
        const run = yield* use((api) =>
          api.post("/api/enrichment", {
            key: owner,
            body: {
              enrichmentId: "email_validation",
              scope: { type: "explicit_leads", leadIds: imported.body.leadIds }
            }
          })
        )
        const runId = run.body.runId
        yield* writesNothing(
          Effect.gen(function* () {
            expectError(yield* use((api) => api.get(`/api/enrichment/${runId}`, { key: stranger })), 404, "NOT_FOUND")
            expectError(
              yield* use((api) => api.get(`/api/enrichment/${runId}/items`, { key: stranger })),
              404,
              "NOT_FOUND"
            )
            expectError(
              yield* use((api) =>
                api.post("/api/enrichment", {
                  key: stranger,
                  body: {
                    enrichmentId: "email_validation",
                    scope: { type: "explicit_leads", leadIds: imported.body.leadIds }
                  }
                })
              ),
              400,
              "LEADS_NOT_FOUND"
            )
          })
        )
        expectError(
          yield* use((api) => api.get(`/api/enrichment/${runId}/items?limit=101`, { key: owner })),
          400,
          "VALIDATION_FAILED"
        )
        expectError(
          yield* use((api) => api.get(`/api/enrichment/${runId}/items?status=done`, { key: owner })),
          400,
          "VALIDATION_FAILED"
        )
      })
    )

    it.effect("regression_nul_and_lone_surrogates_in_client_text_were_a_500", () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace(0)
        yield* writesNothing(
          Effect.gen(function* () {
            const nested = yield* use((api) =>
              api.post("/api/lists/import", {
                key,
                raw: '{"leads":[{"type":"person","email":"a@b.co","attributes":{"x":{"y":["ok","\\u0000"]}}}]}'
              })
            )
            expectError(nested, 400, "VALIDATION_FAILED")
            assert.strictEqual(nested.body.details.issues[0].path, "body.leads[0].attributes.x.y[1]")
            const surrogate = yield* use((api) =>
              api.post("/api/lists/import", { key, raw: '{"leads":[{"type":"person","attributes":{"\\ud800":1}}]}' })
            )
            expectError(surrogate, 400, "VALIDATION_FAILED")
            expectError(
              yield* use((api) => api.post("/api/lists", { key, raw: '{"name":"a\\u0000b"}' })),
              400,
              "VALIDATION_FAILED"
            )
            expectError(yield* use((api) => api.get("/api/lists/x%00y/leads", { key })), 400, "VALIDATION_FAILED")
            // a path that is not UTF-8 matches no route
            expectError(yield* use((api) => api.get("/api/enrichment/%ED%A0%80", { key })), 404, "NOT_FOUND")
          })
        )
      })
    )

    it.effect("oversized_bodies_are_refused_with_413", () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace(0)
        const reply = yield* use((api) => api.post("/api/lists", { key, raw: `{"name":"${"x".repeat(1_100_000)}"}` }))
        expectError(reply, 413, "PAYLOAD_TOO_LARGE")
      })
    )
  }
)
