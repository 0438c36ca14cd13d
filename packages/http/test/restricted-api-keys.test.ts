/**
 * Restricted API keys (DECISIONS.md 69), over a real server and a real Postgres:
 * - the operator creates a key with scopes, a monthly credit limit and an expiry; bad restrictions are 400 and
 *   write nothing; keys without them, and the workspace's first key, keep every scope, no limit, no expiry;
 * - the scope matrix: every /api endpoint of the served /openapi.json × every scope, the scope each needs read
 *   from the document itself (`x-required-scopes`), so a new endpoint without a case here fails: 403 FORBIDDEN
 *   naming the missing scope and nothing written, or the endpoint's own answer;
 * - an expired key is 401 as an unknown one, from the instant it expires (also when the process remembers it),
 *   and a change of its expiry by SQL is heard at once;
 * - 200 racing dispatches on a key with a `creditLimit` of 37: exactly 37 accepted, the rest 402 with
 *   `keyRemaining: 0`, the workspace's holds and the key's usage agree; once the runs settle, the usage is what
 *   they captured, and what they released can be used again.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { randomUUID } from "node:crypto"
import { RunCommands } from "@enrich/application/runs/RunCommands"
import { Persistence } from "@enrich/adapters/Services"
import { CommandMetadata } from "@enrich/domain/ports/EventStore"
import { type Call, ok, request, send } from "./support/ApiCalls.ts"
import { ADMIN_TOKEN, allTableCounts, ApiOnlyTestServer, expectError, TestServer } from "./support/TestServer.ts"

const SCOPES = ["read", "preview", "dispatch", "leads:write", "webhooks"] as const
type Scope = (typeof SCOPES)[number]

const admin = (method: Call["method"], path: string, body?: unknown) =>
  request(ADMIN_TOKEN, { method, path, ...(body === undefined ? {} : { body }) })

/** A workspace with `credits`, its first key (every scope), and `people` person Leads. */
const workspace = (credits: number, people: number) =>
  Effect.gen(function* () {
    const created = ok(yield* admin("POST", "/admin/workspaces", { name: "Restricted", credits }), 201)
    const key = created.apiKey as string
    const leadIds =
      people === 0
        ? []
        : (ok(
            yield* request(key, {
              method: "POST",
              path: "/api/lists/import",
              body: {
                leads: Array.from({ length: people }, (_, i) => ({ type: "person", email: `p${i}@corp.example` }))
              }
            })
          ).leadIds as Array<string>)
    return { workspaceId: created.workspace.id as string, key, leadIds }
  })

const createKey = (workspaceId: string, restrictions?: unknown) =>
  admin("POST", `/admin/workspaces/${workspaceId}/api-keys`, restrictions).pipe(
    Effect.map((reply) => ok(reply, 201) as { apiKey: string; id: string; scopes: unknown; creditLimit: unknown })
  )

const keySummary = (workspaceId: string, keyId: string) =>
  admin("GET", `/admin/workspaces/${workspaceId}/api-keys`).pipe(
    Effect.map((reply) => (ok(reply).apiKeys as Array<any>).find((k) => k.id === keyId))
  )

const dispatchOne = (leadId: string, mode: "persisted" | "preview" = "persisted") => ({
  method: "POST" as const,
  path: "/api/enrichment",
  body: { enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds: [leadId] }, mode }
})

// --- the scope matrix: a call per /api route that a key holding its scope gets answered ----------------

interface Fixture {
  readonly leadId: string
  readonly runId: string
}

interface MatrixCase {
  /** `method path`, as in /openapi.json */
  readonly route: string
  readonly call: (f: Fixture) => Call
  /** what a key holding the scope gets (a 404 for a made-up id is the endpoint's answer, not the key's) */
  readonly status: number
}

const madeUp = () => randomUUID()

const matrix: ReadonlyArray<MatrixCase> = [
  // Leads
  {
    route: "post /api/leads",
    call: () => ({ method: "POST", path: "/api/leads", body: { type: "person", email: `${madeUp()}@corp.example` } }),
    status: 201
  },
  { route: "get /api/leads", call: () => ({ method: "GET", path: "/api/leads" }), status: 200 },
  {
    route: "patch /api/leads",
    call: () => ({ method: "PATCH", path: "/api/leads", body: { id: madeUp(), title: "CTO" } }),
    status: 404
  },
  {
    route: "delete /api/leads",
    call: () => ({ method: "DELETE", path: "/api/leads", body: { id: madeUp() } }),
    status: 404
  },
  // Lists
  {
    route: "post /api/lists",
    call: () => ({ method: "POST", path: "/api/lists", body: { name: "Mine" } }),
    status: 201
  },
  { route: "get /api/lists", call: () => ({ method: "GET", path: "/api/lists" }), status: 200 },
  {
    route: "patch /api/lists",
    call: () => ({ method: "PATCH", path: "/api/lists", body: { id: madeUp(), name: "Renamed" } }),
    status: 404
  },
  {
    route: "delete /api/lists",
    call: () => ({ method: "DELETE", path: "/api/lists", body: { id: madeUp() } }),
    status: 404
  },
  {
    route: "post /api/lists/import",
    call: () => ({
      method: "POST",
      path: "/api/lists/import",
      body: { leads: [{ type: "person", email: `${madeUp()}@corp.example` }] }
    }),
    status: 200
  },
  {
    route: "post /api/lists/import",
    call: () => ({ method: "POST", path: "/api/lists/import", csv: `Email\n${madeUp()}@corp.example\n` }),
    status: 200
  },
  { route: "get /api/lists/{id}/leads", call: () => ({ method: "GET", path: "/api/lists/all/leads" }), status: 200 },
  {
    route: "post /api/lists/{id}/leads",
    call: (f) => ({ method: "POST", path: `/api/lists/${madeUp()}/leads`, body: { leadIds: [f.leadId] } }),
    status: 404
  },
  {
    route: "delete /api/lists/{id}/leads",
    call: (f) => ({ method: "DELETE", path: `/api/lists/${madeUp()}/leads`, body: { leadIds: [f.leadId] } }),
    status: 404
  },
  // Enrichments
  { route: "get /api/enrichments", call: () => ({ method: "GET", path: "/api/enrichments" }), status: 200 },
  { route: "post /api/enrichment", call: (f) => dispatchOne(f.leadId, "persisted"), status: 202 },
  { route: "post /api/enrichment", call: (f) => dispatchOne(f.leadId, "preview"), status: 200 },
  { route: "get /api/enrichment", call: () => ({ method: "GET", path: "/api/enrichment" }), status: 200 },
  {
    route: "get /api/enrichment/{id}",
    call: (f) => ({ method: "GET", path: `/api/enrichment/${f.runId}` }),
    status: 200
  },
  {
    route: "get /api/enrichment/{id}/items",
    call: (f) => ({ method: "GET", path: `/api/enrichment/${f.runId}/items` }),
    status: 200
  },
  {
    route: "get /api/enrichment/{id}/events",
    call: () => ({ method: "GET", path: `/api/enrichment/${madeUp()}/events` }),
    status: 404
  },
  {
    route: "post /api/enrichment/{id}/cancel",
    call: () => ({ method: "POST", path: `/api/enrichment/${madeUp()}/cancel` }),
    status: 404
  },
  {
    route: "post /api/enrichment/{id}/retry",
    call: () => ({ method: "POST", path: `/api/enrichment/${madeUp()}/retry`, body: { mode: "persisted" } }),
    status: 404
  },
  {
    route: "post /api/enrichment/{id}/retry",
    call: () => ({ method: "POST", path: `/api/enrichment/${madeUp()}/retry`, body: { mode: "preview" } }),
    status: 404
  },
  // Credits
  { route: "get /api/credits", call: () => ({ method: "GET", path: "/api/credits" }), status: 200 },
  { route: "get /api/credits/ledger", call: () => ({ method: "GET", path: "/api/credits/ledger" }), status: 200 },
  {
    route: "post /api/credits/preview",
    call: () => ({
      method: "POST",
      path: "/api/credits/preview",
      body: { enrichmentId: "email_validation", count: 3 }
    }),
    status: 200
  },
  // Webhooks
  {
    route: "post /api/webhooks",
    call: () => ({
      method: "POST",
      path: "/api/webhooks",
      body: { url: "https://1.1.1.1/hooks", events: ["run.completed"] }
    }),
    status: 201
  },
  { route: "get /api/webhooks", call: () => ({ method: "GET", path: "/api/webhooks" }), status: 200 },
  {
    route: "delete /api/webhooks/{id}",
    call: () => ({ method: "DELETE", path: `/api/webhooks/${madeUp()}` }),
    status: 404
  },
  {
    route: "post /api/webhooks/{id}/rotate-secret",
    call: () => ({ method: "POST", path: `/api/webhooks/${madeUp()}/rotate-secret` }),
    status: 404
  },
  {
    route: "get /api/webhooks/{id}/deliveries",
    call: () => ({ method: "GET", path: `/api/webhooks/${madeUp()}/deliveries` }),
    status: 404
  },
  {
    route: "post /api/webhooks/{id}/deliveries/{deliveryId}/redeliver",
    call: () => ({ method: "POST", path: `/api/webhooks/${madeUp()}/deliveries/${madeUp()}/redeliver` }),
    status: 404
  }
]

/** Every /api operation of the document: `method path` → the operation. */
const apiOperations = (document: any) => {
  const operations = new Map<string, any>()
  for (const [path, byMethod] of Object.entries<any>(document.paths)) {
    if (!path.startsWith("/api/")) continue
    for (const [method, operation] of Object.entries<any>(byMethod)) operations.set(`${method} ${path}`, operation)
  }
  return operations
}

/** The scope the document says `call` of `operation` needs: its preview scope for a `mode: "preview"` body. */
const documentedScope = (operation: any, call: Call): Scope => {
  const preview = (call.body as { mode?: unknown } | undefined)?.mode === "preview"
  const scopes = (
    preview
      ? (operation["x-required-scopes-preview"] ?? operation["x-required-scopes"])
      : operation["x-required-scopes"]
  ) as ReadonlyArray<Scope> | undefined
  assert.isDefined(scopes, `${operation.operationId} shows no x-required-scopes`)
  assert.strictEqual(scopes!.length, 1)
  return scopes![0]!
}

const describeCall = (call: Call) => `${call.method} ${call.path} ${call.csv ?? JSON.stringify(call.body ?? null)}`

/** A worker claims run `runId`'s item 1 and records it completed (found), and is never heard of again. */
const completeItem = (workspaceId: string, runId: string) =>
  Effect.gen(function* () {
    const runs = yield* RunCommands
    const batch = `${runId}/batch-0`
    const now = () => new Date().toISOString()
    yield* runs.execute({ runId, workspaceId, command: { _tag: "StartBatch", batch, ordinals: [1], now: now() } })
    yield* runs.execute({
      runId,
      workspaceId,
      command: {
        _tag: "RecordBatch",
        batch,
        outcomes: [{ ordinal: 1, status: "completed" as const, skippedReason: null, found: true }],
        now: now()
      }
    })
  }).pipe(
    Effect.provideService(CommandMetadata, { actor: "test" }),
    Effect.orDie,
    Effect.provide(RunCommands.layer.pipe(Layer.provideMerge(Persistence)))
  )

layer(ApiOnlyTestServer, { timeout: 300_000, excludeTestServices: true })(
  "restricted API keys (integration, real server)",
  (it) => {
    it.effect(
      "an_operator_creates_keys_with_scopes_a_credit_limit_and_an_expiry_and_bad_restrictions_write_nothing",
      () =>
        Effect.gen(function* () {
          const { workspaceId, key } = yield* workspace(10, 0)
          const expiresAt = new Date(Date.now() + 3_600_000).toISOString()
          const restricted = yield* createKey(workspaceId, {
            scopes: ["webhooks", "read"],
            creditLimit: 37,
            expiresAt
          })
          assert.deepStrictEqual(
            {
              scopes: restricted.scopes,
              creditLimit: restricted.creditLimit,
              expiresAt: (restricted as any).expiresAt
            },
            { scopes: ["read", "webhooks"], creditLimit: 37, expiresAt }
          )
          // without restrictions: no body, {}, null — every scope, no limit, no expiry
          const api = yield* TestServer
          const bare = ok(
            yield* Effect.promise(() => api.post(`/admin/workspaces/${workspaceId}/api-keys`, { key: ADMIN_TOKEN })),
            201
          )
          const empty = yield* createKey(workspaceId, {})
          const nulled = ok(
            yield* Effect.promise(() =>
              api.post(`/admin/workspaces/${workspaceId}/api-keys`, { key: ADMIN_TOKEN, raw: "null" })
            ),
            201
          )
          for (const created of [bare, empty, nulled]) {
            assert.deepStrictEqual([created.scopes, created.creditLimit, created.expiresAt], [null, null, null])
            assert.strictEqual((yield* request(created.apiKey, { method: "GET", path: "/api/credits" })).status, 200)
          }

          const listed = ok(yield* admin("GET", `/admin/workspaces/${workspaceId}/api-keys`)).apiKeys as Array<any>
          assert.strictEqual(listed.length, 5)
          const month = new Date().toISOString().slice(0, 7)
          const first = listed[0]
          assert.deepStrictEqual(
            [first.scopes, first.creditLimit, first.expiresAt, first.usage],
            [null, null, null, null]
          )
          const shown = listed.find((k) => k.id === restricted.id)
          assert.deepStrictEqual(
            [shown.scopes, shown.creditLimit, shown.expiresAt, shown.usage],
            [["read", "webhooks"], 37, expiresAt, { month, used: 0, remaining: 37 }]
          )
          // the revocation answers the same summary
          const revoked = ok(yield* admin("POST", `/admin/api-keys/${restricted.id}/revoke`))
          assert.deepStrictEqual(revoked.usage, { month, used: 0, remaining: 37 })
          assert.deepStrictEqual(revoked.scopes, ["read", "webhooks"])

          // refused restrictions: 400 naming the field, and nothing written anywhere
          const refusals: ReadonlyArray<readonly [unknown, string]> = [
            [{ scopes: ["read", "admin"] }, "body.scopes[1]"],
            [{ scopes: [] }, "body.scopes"],
            [{ scopes: ["read", "read"] }, "body.scopes"],
            [{ scopes: "read" }, "body.scopes"],
            [{ creditLimit: -1 }, "body.creditLimit"],
            [{ creditLimit: 1.5 }, "body.creditLimit"],
            [{ creditLimit: "37" }, "body.creditLimit"],
            [{ expiresAt: "2001-01-01T00:00:00Z" }, "body.expiresAt"],
            [{ expiresAt: new Date(Date.now() - 1000).toISOString() }, "body.expiresAt"],
            [{ expiresAt: "2030-02-30T00:00:00Z" }, "body.expiresAt"],
            [{ expiresAt: "tomorrow" }, "body.expiresAt"],
            [{ scopes: ["read"], owner: "me" }, "body.owner"],
            [[], "body"]
          ]
          for (const [body, path] of refusals) {
            const before = yield* allTableCounts
            const reply = yield* admin("POST", `/admin/workspaces/${workspaceId}/api-keys`, body)
            expectError(reply, 400, "VALIDATION_FAILED")
            assert.include(
              (reply.body.details.issues as Array<{ path: string }>).map((i) => i.path),
              path,
              JSON.stringify(reply.body)
            )
            assert.deepStrictEqual(yield* allTableCounts, before, JSON.stringify(body))
          }
          // an unknown workspace: 404, nothing written
          const before = yield* allTableCounts
          expectError(
            yield* admin("POST", `/admin/workspaces/${madeUp()}/api-keys`, { scopes: ["read"], creditLimit: 1 }),
            404,
            "NOT_FOUND"
          )
          assert.deepStrictEqual(yield* allTableCounts, before)
          // and a workspace key cannot make keys
          expectError(
            yield* request(key, { method: "POST", path: `/admin/workspaces/${workspaceId}/api-keys`, body: {} }),
            401,
            "UNAUTHORIZED"
          )
        })
    )

    it.effect("scope_matrix_every_api_endpoint_times_every_scope_is_403_forbidden_or_the_endpoints_answer", () =>
      Effect.gen(function* () {
        const { workspaceId, key, leadIds } = yield* workspace(1_000, 2)
        const runId = ok(yield* request(key, dispatchOne(leadIds[0]!)), 202).runId as string
        const fixture: Fixture = { leadId: leadIds[1]!, runId }
        const single = new Map<Scope, string>()
        for (const scope of SCOPES) single.set(scope, (yield* createKey(workspaceId, { scopes: [scope] })).apiKey)
        const everyScope = (yield* createKey(workspaceId, { scopes: [...SCOPES] })).apiKey

        const document = (yield* request(key, { method: "GET", path: "/openapi.json" })).body
        const operations = apiOperations(document)
        // coverage: every /api operation has a case and declares its scope and the 403
        const covered = new Set(matrix.map((c) => c.route))
        for (const [route, operation] of operations) {
          assert.isTrue(covered.has(route), `${route} has no case in the scope matrix`)
          assert.isDefined(operation["x-required-scopes"], `${route} shows no x-required-scopes`)
          assert.property(operation.responses, "403", `${route} does not declare 403`)
        }
        for (const c of matrix) assert.isTrue(operations.has(c.route), `${c.route} is not in /openapi.json`)
        // and the admin surface needs no scope: the operator token is no API key
        for (const [path, byMethod] of Object.entries<any>(document.paths)) {
          if (!path.startsWith("/admin/")) continue
          for (const operation of Object.values<any>(byMethod)) assert.notProperty(operation, "x-required-scopes")
        }

        const seen = new Set<string>()
        for (const c of matrix) {
          const operation = operations.get(c.route)
          const needed = documentedScope(operation, c.call(fixture))
          seen.add(`${c.route} ${needed}`)
          for (const scope of SCOPES) {
            const call = c.call(fixture)
            const where = `${scope} key: ${describeCall(call)}`
            const before = yield* allTableCounts
            const reply = yield* request(single.get(scope)!, call)
            if (scope === needed) {
              assert.strictEqual(reply.status, c.status, `${where} → ${JSON.stringify(reply.body)}`)
            } else {
              assert.strictEqual(reply.status, 403, `${where} → ${JSON.stringify(reply.body)}`)
              assert.deepStrictEqual(
                [reply.body.code, reply.body.missingScope, reply.body.error],
                ["FORBIDDEN", needed, reply.body.message],
                where
              )
              assert.include(reply.body.message, needed)
              assert.deepStrictEqual(yield* allTableCounts, before, `a forbidden request wrote: ${where}`)
            }
          }
          // a key holding every scope, by name or by having none named, is answered as the endpoint answers
          for (const [name, full] of [
            ["every scope named", everyScope],
            ["unrestricted", key]
          ] as const) {
            const call = c.call(fixture)
            const reply = yield* request(full, call)
            assert.notStrictEqual(reply.status, 403, `${name}: ${describeCall(call)}`)
            assert.isBelow(reply.status, 500, `${name}: ${describeCall(call)}`)
          }
        }
        // each mode of a run's start needs its own scope
        assert.isTrue(seen.has("post /api/enrichment dispatch") && seen.has("post /api/enrichment preview"))

        // scopes come before the body's validation: a bad body from a key without the scope is still 403
        const refused = yield* request(single.get("read")!, { method: "POST", path: "/api/leads", body: { nope: 1 } })
        assert.deepStrictEqual([refused.status, refused.body.missingScope], [403, "leads:write"])
        // a preview asked of a dispatch-only key names `preview`, and a persisted run of a preview-only key `dispatch`
        const previewOnly = yield* request(single.get("preview")!, dispatchOne(leadIds[1]!, "persisted"))
        assert.deepStrictEqual([previewOnly.status, previewOnly.body.missingScope], [403, "dispatch"])
        const dispatchOnly = yield* request(single.get("dispatch")!, dispatchOne(leadIds[1]!, "preview"))
        assert.deepStrictEqual([dispatchOnly.status, dispatchOnly.body.missingScope], [403, "preview"])
      })
    )

    it.effect(
      "an_expired_key_is_refused_401_from_the_instant_it_expires_and_a_change_of_its_expiry_is_heard_at_once",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const { workspaceId } = yield* workspace(0, 0)
          const expiresAt = new Date(Date.now() + 1_500).toISOString()
          const short = yield* createKey(workspaceId, { expiresAt })
          // used once: this process now remembers it (ENRICH_API_KEY_CACHE_SECONDS is 60)
          assert.strictEqual((yield* request(short.apiKey, { method: "GET", path: "/api/credits" })).status, 200)
          yield* Effect.sleep(Math.max(0, Date.parse(expiresAt) - Date.now()) + 50)
          const expired = yield* request(short.apiKey, { method: "GET", path: "/api/credits" })
          expectError(expired, 401, "UNAUTHORIZED")
          // as an unknown key is answered
          const unknown = yield* request(`ek_${madeUp()}`, { method: "GET", path: "/api/credits" })
          assert.deepStrictEqual(expired.body.message, unknown.body.message)

          // an expiry changed by SQL reaches the process by its notification, not at the entry's end
          const key = yield* createKey(workspaceId, {})
          assert.strictEqual((yield* request(key.apiKey, { method: "GET", path: "/api/credits" })).status, 200)
          yield* sql`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = ${key.id}`
          const waitFor = (status: number) =>
            Effect.gen(function* () {
              const started = Date.now()
              let answer = (yield* request(key.apiKey, { method: "GET", path: "/api/credits" })).status
              while (answer !== status && Date.now() - started < 5_000) {
                yield* Effect.sleep("20 millis")
                answer = (yield* request(key.apiKey, { method: "GET", path: "/api/credits" })).status
              }
              assert.strictEqual(answer, status)
              assert.isBelow(Date.now() - started, 2_000)
            })
          yield* waitFor(401)
          yield* sql`UPDATE api_keys SET expires_at = NULL WHERE id = ${key.id}`
          yield* waitFor(200)
          // and its scopes likewise
          yield* sql`UPDATE api_keys SET scopes = '{webhooks}' WHERE id = ${key.id}`
          yield* waitFor(403)
        })
    )

    it.effect(
      "two_hundred_racing_dispatches_on_a_key_with_a_limit_of_37_accept_exactly_37_and_settlements_give_back_what_they_release",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const { workspaceId, key, leadIds } = yield* workspace(1_000, 200)
          const limited = yield* createKey(workspaceId, { scopes: ["dispatch", "read"], creditLimit: 37 })
          const api = yield* TestServer
          const replies = yield* Effect.promise(() =>
            Promise.all(leadIds.map((leadId) => send(api.baseUrl, limited.apiKey, dispatchOne(leadId))))
          )
          const accepted = replies.filter((r) => r.status === 202)
          const refused = replies.filter((r) => r.status !== 202)
          assert.strictEqual(accepted.length, 37)
          assert.strictEqual(refused.length, 163)
          for (const reply of refused) {
            // refused only once the key's month is full: nothing remains, every accepted run holds its credit
            assert.deepStrictEqual(
              [reply.status, reply.body.code, reply.body.required, reply.body.balance, reply.body.keyRemaining],
              [402, "INSUFFICIENT_CREDITS", 1, 963, 0],
              JSON.stringify(reply.body)
            )
          }
          // the workspace's holds and the key's usage agree; the refused dispatches created nothing
          assert.deepStrictEqual(ok(yield* request(key, { method: "GET", path: "/api/credits" })), {
            balance: 963,
            held: 37,
            captured: 0,
            granted: 1_000
          })
          const month = new Date().toISOString().slice(0, 7)
          assert.deepStrictEqual((yield* keySummary(workspaceId, limited.id)).usage, { month, used: 37, remaining: 0 })
          const [stored] = yield* sql<{ runs: number; items: number; charges: number; reserved: number }>`
            SELECT (SELECT count(*)::int FROM enrichment_runs WHERE workspace_id = ${workspaceId}) AS runs,
              (SELECT count(*)::int FROM run_items i JOIN enrichment_runs r ON r.id = i.run_id
                WHERE r.workspace_id = ${workspaceId}) AS items,
              (SELECT count(*)::int FROM api_key_charges WHERE api_key_id = ${limited.id}) AS charges,
              (SELECT coalesce(sum(reserved), 0)::int FROM api_key_charges WHERE api_key_id = ${limited.id}) AS reserved`
          assert.deepStrictEqual(stored, { runs: 37, items: 37, charges: 37, reserved: 37 })
          // the workspace's own key (no limit) is not held to the other key's budget
          assert.strictEqual((yield* request(key, dispatchOne(leadIds[0]!))).status, 202)

          // the runs settle — 20 completed their item (captured), 17 ended with it pending (released) — while 60 more
          // dispatches on the key race the settlements (each takes the workspace's credit row, then the key's)
          const runIds = accepted.map((r) => r.body.runId as string).sort()
          for (const runId of runIds.slice(0, 20)) yield* completeItem(workspaceId, runId)
          const fail = (runId: string) =>
            fetch(`${api.baseUrl}/admin/runs/${runId}/fail`, {
              method: "POST",
              headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
              body: JSON.stringify({ reason: "ended by the test" })
            }).then((response) => response.status)
          const [failed, racing] = yield* Effect.promise(() =>
            Promise.all([
              Promise.all(runIds.map(fail)),
              Promise.all(
                leadIds.slice(40, 100).map((leadId) => send(api.baseUrl, limited.apiKey, dispatchOne(leadId)))
              )
            ])
          )
          assert.deepStrictEqual(new Set(failed), new Set([200]))
          assert.includeMembers([202, 402], [...new Set(racing.map((r) => r.status))])
          const racedIn = racing.filter((r) => r.status === 202).map((r) => r.body.runId as string)
          // only what the settlements released came back: at most 17
          assert.isAtMost(racedIn.length, 17)
          assert.deepStrictEqual((yield* keySummary(workspaceId, limited.id)).usage, {
            month,
            used: 20 + racedIn.length,
            remaining: 17 - racedIn.length
          })
          for (const runId of racedIn) assert.strictEqual(yield* Effect.promise(() => fail(runId)), 200)

          // every run of the key settled: its usage is what they captured; the 38th run (the unlimited key's) still
          // holds its credit
          const credits = ok(yield* request(key, { method: "GET", path: "/api/credits" }))
          assert.deepStrictEqual(credits, { balance: 979, held: 1, captured: 20, granted: 1_000 })
          assert.deepStrictEqual((yield* keySummary(workspaceId, limited.id)).usage, { month, used: 20, remaining: 17 })
          const [charged] = yield* sql<{ used: number; runs: number }>`
            SELECT coalesce(sum(reserved - released), 0)::int AS used, count(*)::int AS runs
            FROM api_key_charges WHERE api_key_id = ${limited.id}`
          assert.deepStrictEqual(charged, { used: 20, runs: 37 + racedIn.length })
          // what was released can be used again, up to the limit
          const again = yield* Effect.promise(() =>
            Promise.all(leadIds.slice(100, 130).map((leadId) => send(api.baseUrl, limited.apiKey, dispatchOne(leadId))))
          )
          assert.strictEqual(again.filter((r) => r.status === 202).length, 17)
          assert.deepStrictEqual((yield* keySummary(workspaceId, limited.id)).usage, { month, used: 37, remaining: 0 })
        })
    )

    it.effect("a_preview_costs_a_limited_key_nothing_and_a_limit_of_0_refuses_every_paid_run", () =>
      Effect.gen(function* () {
        const { workspaceId, leadIds } = yield* workspace(10, 1)
        const zero = yield* createKey(workspaceId, { scopes: ["dispatch", "preview"], creditLimit: 0 })
        const before = yield* allTableCounts
        const preview = ok(yield* request(zero.apiKey, dispatchOne(leadIds[0]!, "preview")))
        assert.strictEqual(preview.status, "preview")
        const refused = yield* request(zero.apiKey, dispatchOne(leadIds[0]!, "persisted"))
        assert.deepStrictEqual(
          [refused.status, refused.body.required, refused.body.balance, refused.body.keyRemaining],
          [402, 1, 10, 0]
        )
        assert.deepStrictEqual(yield* allTableCounts, before)
        // the usage shown is this month's, though nothing is in use
        assert.deepStrictEqual((yield* keySummary(workspaceId, zero.id)).usage.used, 0)
      })
    )
  }
)
