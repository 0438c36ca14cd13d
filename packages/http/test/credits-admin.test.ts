/**
 * The credits endpoints (/api/credits, its ledger and the cost preview) and the
 * operator's API key and credit endpoints, over a real server and a real
 * Postgres: each happy path, each error a client can trigger, and refused
 * requests write nothing.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import { Workspaces } from "@enrich/adapters/postgres/Workspaces"
import { Persistence } from "@enrich/adapters/Services"
import type { Reply, TestClient } from "./support/HttpTestClient.ts"
import { ADMIN_TOKEN, ApiOnlyTestServer, tableCounts, TestServer } from "./support/TestServer.ts"

const use = <A>(f: (api: TestClient) => Promise<A>) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    return yield* Effect.promise(() => f(api))
  })

const createWorkspace = (credits: number) =>
  use((api) => api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Acme", credits } })).pipe(
    Effect.map((r) => ({ key: r.body.apiKey as string, workspaceId: r.body.workspace.id as string }))
  )

const expectError = (reply: Reply, status: number, code: string) => {
  assert.strictEqual(reply.status, status, JSON.stringify(reply.body))
  assert.strictEqual(reply.body.code, code)
  assert.strictEqual(reply.body.error, reply.body.message)
  assert.isString(reply.headers.get("x-request-id"))
}

/** The shared table counts plus what this surface writes: keys, revocations, ledger lines, grants. */
const counts = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [extra] = yield* sql<Record<string, number>>`SELECT
    (SELECT count(*)::int FROM api_keys) AS api_keys,
    (SELECT count(*)::int FROM api_keys WHERE revoked_at IS NOT NULL) AS revoked_keys,
    (SELECT count(*)::int FROM credit_ledger) AS ledger_lines,
    (SELECT coalesce(sum(granted), 0)::int FROM credit_accounts) AS granted`
  return { ...(yield* tableCounts), ...extra }
})

/** Runs `attempt` and checks it changed no table. */
const writesNothing = <A, E, R>(attempt: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const before = yield* counts
    const result = yield* attempt
    assert.deepStrictEqual(yield* counts, before)
    return result
  })

const importPeople = (key: string, n: number) =>
  use((api) =>
    api.post("/api/lists/import", {
      key,
      body: { leads: Array.from({ length: n }, (_, i) => ({ type: "person", email: `p${i}@corp.example` })) }
    })
  ).pipe(Effect.map((r) => r.body.leadIds as Array<string>))

const dispatch = (key: string, leadIds: ReadonlyArray<string>) =>
  use((api) =>
    api.post("/api/enrichment", {
      key,
      body: { enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds } }
    })
  )

/** An operator credit movement; `key: null` sends no Authorization header. */
const move = (workspaceId: string, body: unknown, key: string | null = ADMIN_TOKEN) =>
  use((api) => api.post(`/admin/workspaces/${workspaceId}/credits`, { key: key ?? undefined, body }))

layer(ApiOnlyTestServer, { timeout: 120_000, excludeTestServices: true })(
  "credits and operator endpoints (integration, real server)",
  (it) => {
    it.effect("the_new_endpoints_are_in_the_openapi_document", () =>
      Effect.gen(function* () {
        const openapi = yield* use((api) => api.get("/openapi.json"))
        for (const path of [
          "/api/credits",
          "/api/credits/ledger",
          "/api/credits/preview",
          "/admin/workspaces",
          "/admin/workspaces/{id}/api-keys",
          "/admin/api-keys/{id}/revoke",
          "/admin/workspaces/{id}/credits"
        ]) {
          assert.property(openapi.body.paths, path)
        }
        assert.property(openapi.body.paths["/admin/workspaces"], "get")
      })
    )

    it.effect("the_operator_lists_the_workspaces_oldest_first_by_page", () =>
      Effect.gen(function* () {
        const tag = `Listed ${Date.now()}`
        const made: Array<string> = []
        for (const n of [1, 2, 3]) {
          const created = yield* use((api) =>
            api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: `${tag} ${n}` } })
          )
          made.push(created.body.workspace.id)
        }
        // every page of 2, by the cursor, until the last
        const seen: Array<{ id: string; name: string; createdAt: string }> = []
        let cursor: string | null = null
        for (let pages = 0; pages < 1000; pages++) {
          const page: Reply = yield* use((api) =>
            api.get(`/admin/workspaces?limit=2${cursor === null ? "" : `&cursor=${cursor}`}`, { key: ADMIN_TOKEN })
          )
          assert.strictEqual(page.status, 200, JSON.stringify(page.body))
          assert.isAtMost(page.body.workspaces.length, 2)
          seen.push(...page.body.workspaces)
          if (!page.body.hasMore) {
            assert.isNull(page.body.nextCursor)
            break
          }
          assert.strictEqual(page.body.nextCursor, page.body.workspaces.at(-1).id)
          cursor = page.body.nextCursor
        }
        const ids = seen.map((w) => w.id)
        assert.deepStrictEqual([...ids].sort(), ids, "oldest first, by id")
        assert.strictEqual(new Set(ids).size, ids.length, "no workspace twice")
        const ours = seen.filter((w) => made.includes(w.id))
        assert.deepStrictEqual(
          ours.map((w) => w.name),
          [`${tag} 1`, `${tag} 2`, `${tag} 3`]
        )
        assert.isString(ours[0]!.createdAt)
        // after a cursor: the rest only
        const after = yield* use((api) => api.get(`/admin/workspaces?cursor=${made[1]}`, { key: ADMIN_TOKEN }))
        assert.strictEqual(after.body.workspaces[0].id, made[2])

        // an API key or no token is 401; a bad query is a 400 naming it; none writes anything
        const { key } = yield* createWorkspace(0)
        yield* writesNothing(
          Effect.gen(function* () {
            expectError(yield* use((api) => api.get("/admin/workspaces", { key })), 401, "UNAUTHORIZED")
            expectError(yield* use((api) => api.get("/admin/workspaces")), 401, "UNAUTHORIZED")
            for (const [query, path] of [
              ["limit=0", "query.limit"],
              ["limit=501", "query.limit"],
              ["limit=two", "query.limit"],
              ["cursor=", "query.cursor"],
              ["name=Acme", "query.name"]
            ] as const) {
              const bad = yield* use((api) => api.get(`/admin/workspaces?${query}`, { key: ADMIN_TOKEN }))
              expectError(bad, 400, "VALIDATION_FAILED")
              assert.strictEqual(bad.body.details.issues[0].path, path, query)
            }
          })
        )
      })
    )

    it.effect("credits_need_an_api_key", () =>
      writesNothing(
        Effect.gen(function* () {
          expectError(yield* use((api) => api.get("/api/credits")), 401, "UNAUTHORIZED")
          expectError(yield* use((api) => api.get("/api/credits/ledger", { key: "ek_nope" })), 401, "UNAUTHORIZED")
          expectError(
            yield* use((api) => api.post("/api/credits/preview", { body: { action: "EMAIL_VALIDATION", count: 1 } })),
            401,
            "UNAUTHORIZED"
          )
        })
      )
    )

    it.effect("a_dispatch_reserves_at_once_and_a_cancel_releases_and_the_ledger_shows_both", () =>
      Effect.gen(function* () {
        const { key } = yield* createWorkspace(10)
        const opening = yield* use((api) => api.get("/api/credits", { key }))
        assert.strictEqual(opening.status, 200)
        assert.deepStrictEqual(opening.body, { balance: 10, held: 0, captured: 0, granted: 10 })
        const first = yield* use((api) => api.get("/api/credits/ledger", { key }))
        assert.strictEqual(first.status, 200)
        assert.deepStrictEqual(
          first.body.entries.map((e: { type: string; amount: number; runId: string | null; reason: string | null }) => [
            e.type,
            e.amount,
            e.runId,
            e.reason
          ]),
          [["grant", 10, null, "opening grant"]]
        )
        assert.deepStrictEqual([first.body.nextCursor, first.body.hasMore], [null, false])
        assert.strictEqual(new Date(first.body.entries[0].createdAt).toISOString(), first.body.entries[0].createdAt)

        const leadIds = yield* importPeople(key, 3)
        const run = yield* dispatch(key, leadIds)
        assert.strictEqual(run.status, 202, JSON.stringify(run.body))
        const runId = run.body.runId as string
        const held = yield* use((api) => api.get("/api/credits", { key }))
        assert.deepStrictEqual(held.body, { balance: 7, held: 3, captured: 0, granted: 10 })
        const afterDispatch = yield* use((api) => api.get("/api/credits/ledger", { key }))
        assert.deepStrictEqual(
          afterDispatch.body.entries.map((e: { type: string; amount: number; runId: string | null }) => [
            e.type,
            e.amount,
            e.runId
          ]),
          [
            ["reserve", 3, runId],
            ["grant", 10, null]
          ]
        )
        assert.isNull(afterDispatch.body.entries[0].reason)

        const cancelled = yield* use((api) => api.post(`/api/enrichment/${runId}/cancel`, { key }))
        assert.strictEqual(cancelled.status, 200, JSON.stringify(cancelled.body))
        const settled = yield* use((api) => api.get("/api/credits", { key }))
        assert.deepStrictEqual(settled.body, { balance: 10, held: 0, captured: 0, granted: 10 })
        const afterCancel = yield* use((api) => api.get("/api/credits/ledger", { key }))
        assert.deepStrictEqual(
          afterCancel.body.entries.map((e: { type: string; amount: number; runId: string | null }) => [
            e.type,
            e.amount,
            e.runId
          ]),
          [
            ["release", 3, runId],
            ["reserve", 3, runId],
            ["grant", 10, null]
          ]
        )
      })
    )

    it.effect("the_ledger_pages_newest_first_with_a_cursor", () =>
      Effect.gen(function* () {
        const { key, workspaceId } = yield* createWorkspace(1)
        for (let i = 2; i <= 5; i++) {
          const moved = yield* move(workspaceId, { amount: i, reason: `top-up ${i}` })
          assert.strictEqual(moved.status, 200, JSON.stringify(moved.body))
        }
        const seen: Array<string> = []
        let cursor: string | null = null
        let pages = 0
        do {
          const query: string = cursor === null ? "?limit=2" : `?limit=2&cursor=${cursor}`
          const page = yield* use((api) => api.get(`/api/credits/ledger${query}`, { key }))
          assert.strictEqual(page.status, 200, JSON.stringify(page.body))
          assert.isAtMost(page.body.entries.length, 2)
          seen.push(...page.body.entries.map((e: { reason: string }) => e.reason))
          assert.strictEqual(page.body.hasMore, page.body.nextCursor !== null)
          cursor = page.body.nextCursor
          pages++
        } while (cursor !== null)
        assert.strictEqual(pages, 3)
        assert.deepStrictEqual(seen, ["top-up 5", "top-up 4", "top-up 3", "top-up 2", "opening grant"])
        const all = yield* use((api) => api.get("/api/credits/ledger", { key }))
        const ids = all.body.entries.map((e: { id: string }) => e.id)
        assert.deepStrictEqual(ids, [...ids].sort().reverse())
        yield* writesNothing(
          Effect.gen(function* () {
            for (const query of ["?limit=0", "?limit=101", "?limit=x", "?limit=1.5", "?order=asc", "?cursor="]) {
              expectError(
                yield* use((api) => api.get(`/api/credits/ledger${query}`, { key })),
                400,
                "VALIDATION_FAILED"
              )
            }
          })
        )
        const full = yield* use((api) => api.get("/api/credits/ledger?limit=100", { key }))
        assert.deepStrictEqual([full.body.entries.length, full.body.hasMore, full.body.nextCursor], [5, false, null])
      })
    )

    it.effect("lines_that_move_nothing_are_left_out_of_the_ledger", () =>
      Effect.gen(function* () {
        const { key, workspaceId } = yield* createWorkspace(2)
        const sql = yield* SqlClient.SqlClient
        // what the projection writes for a run that costs nothing: a hold of 0 and its release of 0
        yield* sql`INSERT INTO credit_ledger (id, workspace_id, type, amount, run_id, reason, created_at) VALUES
          ('ffffffff-0000-7000-8000-000000000001', ${workspaceId}, 'reserve', 0, 'free-run', NULL, now()),
          ('ffffffff-0000-7000-8000-000000000002', ${workspaceId}, 'release', 0, 'free-run', NULL, now())`
        const ledger = yield* use((api) => api.get("/api/credits/ledger", { key }))
        assert.deepStrictEqual(
          ledger.body.entries.map((e: { type: string }) => e.type),
          ["grant"]
        )
      })
    )

    it.effect("a_workspace_sees_only_its_own_credits", () =>
      Effect.gen(function* () {
        const owner = yield* createWorkspace(5)
        const stranger = yield* createWorkspace(0)
        const leadIds = yield* importPeople(owner.key, 2)
        assert.strictEqual((yield* dispatch(owner.key, leadIds)).status, 202)
        const credits = yield* use((api) => api.get("/api/credits", { key: stranger.key }))
        assert.deepStrictEqual(credits.body, { balance: 0, held: 0, captured: 0, granted: 0 })
        const ledger = yield* use((api) => api.get("/api/credits/ledger", { key: stranger.key }))
        assert.deepStrictEqual(ledger.body, { entries: [], nextCursor: null, hasMore: false })
      })
    )

    it.effect("the_preview_prices_by_enrichment_or_by_action_and_writes_nothing", () =>
      Effect.gen(function* () {
        const { key } = yield* createWorkspace(3)
        const preview = (body: unknown) => use((api) => api.post("/api/credits/preview", { key, body }))
        yield* writesNothing(
          Effect.gen(function* () {
            const byEnrichment = yield* preview({ enrichmentId: "email_validation", count: 3 })
            assert.strictEqual(byEnrichment.status, 200, JSON.stringify(byEnrichment.body))
            assert.deepStrictEqual(byEnrichment.body, {
              creditAction: "EMAIL_VALIDATION",
              action: "EMAIL_VALIDATION",
              unitCost: 1,
              costPerUnit: 1,
              count: 3,
              required: 3,
              totalCredits: 3,
              balance: 3,
              sufficient: true
            })
            const byAction = yield* preview({ action: "WEBSITE_ENRICHMENT", count: 4 })
            assert.strictEqual(byAction.status, 200, JSON.stringify(byAction.body))
            assert.deepStrictEqual(byAction.body, {
              creditAction: "WEBSITE_ENRICHMENT",
              action: "WEBSITE_ENRICHMENT",
              unitCost: 1,
              costPerUnit: 1,
              count: 4,
              required: 4,
              totalCredits: 4,
              balance: 3,
              sufficient: false
            })
            const none = yield* preview({ action: "EMAIL_VALIDATION", count: 0 })
            assert.deepStrictEqual([none.body.required, none.body.sufficient], [0, true])

            expectError(yield* preview({ enrichmentId: "no_such_enrichment", count: 1 }), 400, "ENRICHMENT_NOT_FOUND")
            const unknownAction = yield* preview({ action: "EMAIL_LOOKUP", count: 1 })
            expectError(unknownAction, 400, "VALIDATION_FAILED")
            assert.strictEqual(unknownAction.body.details.issues[0].path, "body.action")
            const both = yield* preview({ enrichmentId: "email_validation", action: "EMAIL_VALIDATION", count: 1 })
            expectError(both, 400, "VALIDATION_FAILED")
            assert.deepStrictEqual(
              both.body.details.issues.map((i: { path: string }) => i.path),
              ["body.action"]
            )
            const neither = yield* preview({ count: 1 })
            expectError(neither, 400, "VALIDATION_FAILED")
            assert.strictEqual(neither.body.details.issues[0].path, "body.enrichmentId")
            const negative = yield* preview({ action: "EMAIL_VALIDATION", count: -1 })
            expectError(negative, 400, "VALIDATION_FAILED")
            assert.deepStrictEqual(
              negative.body.details.issues.map((i: { path: string }) => i.path),
              ["body.count"]
            )
            for (const body of [
              {},
              { count: 1 },
              { enrichmentId: "email_validation" },
              { enrichmentId: "email_validation", action: "EMAIL_VALIDATION", count: 1 },
              { enrichmentId: "email_validation", count: -1 },
              { enrichmentId: "email_validation", count: 1.5 },
              { enrichmentId: "email_validation", count: "3" },
              { enrichmentId: "", count: 1 },
              { action: "EMAIL_VALIDATION", count: 1, extra: true }
            ]) {
              expectError(yield* preview(body), 400, "VALIDATION_FAILED")
            }
            expectError(
              yield* use((api) => api.post("/api/credits/preview", { key, raw: "{oops" })),
              400,
              "VALIDATION_FAILED"
            )
          })
        )
      })
    )

    it.effect("the_operator_grants_and_adjusts_but_never_below_zero", () =>
      Effect.gen(function* () {
        const { key, workspaceId } = yield* createWorkspace(0)
        const granted = yield* move(workspaceId, { amount: 10, reason: "welcome" })
        assert.strictEqual(granted.status, 200, JSON.stringify(granted.body))
        assert.deepStrictEqual(granted.body, { balance: 10 })
        const adjusted = yield* move(workspaceId, { amount: -4, reason: "duplicate grant" })
        assert.deepStrictEqual([adjusted.status, adjusted.body], [200, { balance: 6 }])
        const raised = yield* move(workspaceId, { amount: -1, reason: "x" })
        assert.deepStrictEqual(raised.body, { balance: 5 })
        const bonus = yield* move(workspaceId, { amount: 1, reason: "bonus" })
        assert.deepStrictEqual(bonus.body, { balance: 6 })

        // held credits cannot be taken back: 2 of the 6 are reserved by a pending run
        const leadIds = yield* importPeople(key, 2)
        assert.strictEqual((yield* dispatch(key, leadIds)).status, 202)
        yield* writesNothing(
          Effect.gen(function* () {
            const beyond = yield* move(workspaceId, { amount: -5, reason: "too much" })
            expectError(beyond, 409, "BALANCE_WOULD_BE_NEGATIVE")
            assert.strictEqual(beyond.body.balance, 4)
            for (const body of [
              {},
              { amount: 0, reason: "nothing" },
              { amount: 1.5, reason: "fraction" },
              { amount: "5", reason: "text" },
              { amount: 5 },
              { amount: 5, reason: "" },
              { amount: 5, reason: "a\u0000b" },
              { amount: 5, reason: "x".repeat(501) },
              { amount: 1_000_000_000_001, reason: "too large" },
              { amount: 5, reason: "extra", extra: true }
            ]) {
              expectError(yield* move(workspaceId, body), 400, "VALIDATION_FAILED")
            }
            expectError(yield* move("no-such-workspace", { amount: 5, reason: "x" }), 404, "NOT_FOUND")
            expectError(yield* move("no-such-workspace", { amount: -5, reason: "x" }), 404, "NOT_FOUND")
            expectError(yield* move(workspaceId, { amount: 5, reason: "x" }, null), 401, "UNAUTHORIZED")
            expectError(yield* move(workspaceId, { amount: 5, reason: "x" }, key), 401, "UNAUTHORIZED")
          })
        )
        const exact = yield* move(workspaceId, { amount: -4, reason: "all that is free" })
        assert.deepStrictEqual([exact.status, exact.body], [200, { balance: 0 }])
        const credits = yield* use((api) => api.get("/api/credits", { key }))
        assert.deepStrictEqual(credits.body, { balance: 0, held: 2, captured: 0, granted: 2 })
        const ledger = yield* use((api) => api.get("/api/credits/ledger", { key }))
        assert.deepStrictEqual(
          ledger.body.entries.map((e: { type: string; amount: number; reason: string | null }) => [
            e.type,
            e.amount,
            e.reason
          ]),
          [
            ["debit", 4, "all that is free"],
            ["reserve", 2, null],
            ["grant", 1, "bonus"],
            ["debit", 1, "x"],
            ["debit", 4, "duplicate grant"],
            ["grant", 10, "welcome"]
          ]
        )
      })
    )

    it.effect("api_keys_are_listed_created_and_revoked_and_a_revoked_key_is_refused_at_once", () =>
      Effect.gen(function* () {
        const { key: first, workspaceId } = yield* createWorkspace(0)
        const other = yield* createWorkspace(0)
        const list = () => use((api) => api.get(`/admin/workspaces/${workspaceId}/api-keys`, { key: ADMIN_TOKEN }))

        const initial = yield* list()
        assert.strictEqual(initial.status, 200, JSON.stringify(initial.body))
        assert.strictEqual(initial.body.apiKeys.length, 1)
        const [firstSummary] = initial.body.apiKeys
        assert.deepStrictEqual(Object.keys(firstSummary).sort(), [
          "createdAt",
          "creditLimit",
          "expiresAt",
          "id",
          "lastUsedAt",
          "prefix",
          "revokedAt",
          "scopes",
          "usage"
        ])
        // the first key has no restrictions (DECISIONS.md 69)
        assert.deepStrictEqual(
          [firstSummary.scopes, firstSummary.creditLimit, firstSummary.expiresAt, firstSummary.usage],
          [null, null, null, null]
        )
        assert.isTrue(first.startsWith(firstSummary.prefix))
        assert.isNull(firstSummary.revokedAt)

        const created = yield* use((api) => api.post(`/admin/workspaces/${workspaceId}/api-keys`, { key: ADMIN_TOKEN }))
        assert.strictEqual(created.status, 201, JSON.stringify(created.body))
        assert.deepStrictEqual(Object.keys(created.body).sort(), ["apiKey", "creditLimit", "expiresAt", "id", "scopes"])
        const second = created.body.apiKey as string
        assert.match(second, /^ek_[\w-]{43}$/)
        assert.notStrictEqual(second, first)

        for (const key of [first, second]) {
          assert.strictEqual((yield* use((api) => api.get("/api/credits", { key }))).status, 200)
        }
        const both = yield* list()
        assert.deepStrictEqual(
          both.body.apiKeys.map((k: { id: string }) => k.id),
          [firstSummary.id, created.body.id]
        )
        for (const summary of both.body.apiKeys) assert.isString(summary.lastUsedAt)
        const text = JSON.stringify(both.body)
        assert.notInclude(text, first)
        assert.notInclude(text, second)
        assert.notInclude(text, second.slice(10))
        // another workspace's keys are not listed
        const others = yield* use((api) =>
          api.get(`/admin/workspaces/${other.workspaceId}/api-keys`, { key: ADMIN_TOKEN })
        )
        assert.deepStrictEqual(others.body.apiKeys.length, 1)
        assert.notInclude(
          others.body.apiKeys.map((k: { id: string }) => k.id),
          created.body.id
        )

        const revoked = yield* use((api) => api.post(`/admin/api-keys/${created.body.id}/revoke`, { key: ADMIN_TOKEN }))
        assert.strictEqual(revoked.status, 200, JSON.stringify(revoked.body))
        assert.strictEqual(revoked.body.id, created.body.id)
        assert.isString(revoked.body.revokedAt)
        expectError(yield* use((api) => api.get("/api/credits", { key: second })), 401, "UNAUTHORIZED")
        assert.strictEqual((yield* use((api) => api.get("/api/credits", { key: first }))).status, 200)
        assert.strictEqual((yield* use((api) => api.get("/api/credits", { key: other.key }))).status, 200)

        const again = yield* use((api) => api.post(`/admin/api-keys/${created.body.id}/revoke`, { key: ADMIN_TOKEN }))
        assert.deepStrictEqual([again.status, again.body.revokedAt], [200, revoked.body.revokedAt])
        const after = yield* list()
        assert.deepStrictEqual(
          after.body.apiKeys.map((k: { revokedAt: string | null }) => k.revokedAt),
          [null, revoked.body.revokedAt]
        )

        yield* writesNothing(
          Effect.gen(function* () {
            expectError(
              yield* use((api) => api.get("/admin/workspaces/no-such-workspace/api-keys", { key: ADMIN_TOKEN })),
              404,
              "NOT_FOUND"
            )
            expectError(
              yield* use((api) => api.post("/admin/workspaces/no-such-workspace/api-keys", { key: ADMIN_TOKEN })),
              404,
              "NOT_FOUND"
            )
            expectError(
              yield* use((api) => api.post("/admin/api-keys/no-such-key/revoke", { key: ADMIN_TOKEN })),
              404,
              "NOT_FOUND"
            )
            expectError(
              yield* use((api) => api.get(`/admin/workspaces/${workspaceId}/api-keys`, { key: first })),
              401,
              "UNAUTHORIZED"
            )
            expectError(yield* use((api) => api.post(`/admin/workspaces/${workspaceId}/api-keys`)), 401, "UNAUTHORIZED")
            expectError(
              yield* use((api) => api.post(`/admin/api-keys/${firstSummary.id}/revoke`, { key: "wrong" })),
              401,
              "UNAUTHORIZED"
            )
            expectError(
              yield* use((api) => api.get("/admin/workspaces/x%00y/api-keys", { key: ADMIN_TOKEN })),
              400,
              "VALIDATION_FAILED"
            )
          })
        )
        assert.strictEqual((yield* use((api) => api.get("/api/credits", { key: first }))).status, 200)
      })
    )

    it.effect("authentication_reads_the_key_and_writes_lastUsedAt_at_most_once_a_minute", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const { key, workspaceId } = yield* createWorkspace(1)
        /** the key row's version: a new one whenever the row is written */
        const version = Effect.map(
          sql<{ xmin: string; last_used_at: Date | null }>`
            SELECT xmin::text, last_used_at FROM api_keys WHERE workspace_id = ${workspaceId}`,
          (rows) => rows[0]!
        )
        const fresh = yield* version
        assert.isNull(fresh.last_used_at)
        assert.strictEqual((yield* use((api) => api.get("/api/credits", { key }))).status, 200)
        const used = yield* version
        assert.notStrictEqual(used.xmin, fresh.xmin, "the first use records lastUsedAt")
        assert.isNotNull(used.last_used_at)
        for (let i = 0; i < 5; i++)
          assert.strictEqual((yield* use((api) => api.get("/api/credits", { key }))).status, 200)
        assert.strictEqual((yield* version).xmin, used.xmin, "uses within the minute write nothing")
        yield* sql`UPDATE api_keys SET last_used_at = now() - interval '2 minutes' WHERE workspace_id = ${workspaceId}`
        const stale = yield* version
        // the API process remembers the key (ApiKeyCache) and asks the store again when its entry expires: the
        // store then records the use again, the last one being over a minute old
        const found = yield* Effect.gen(function* () {
          return yield* (yield* Workspaces).authenticate(key)
        }).pipe(Effect.provide(Persistence))
        assert.isTrue(Option.isSome(found))
        const touched = yield* version
        assert.notStrictEqual(touched.xmin, stale.xmin, "a use after a minute records it again")
        assert.isAbove(touched.last_used_at!.getTime(), stale.last_used_at!.getTime())
      })
    )
  }
)
