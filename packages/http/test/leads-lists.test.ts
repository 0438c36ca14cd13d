/**
 * The Leads and Lists endpoints over a real server and a real Postgres: create
 * with identity de-duplication, search and paging, edits, erasure (memberships,
 * identity keys and item results go; run items keep the id), the List edits,
 * membership changes and the protected `all` List. Every refused request is
 * shown to write nothing.
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

const createWorkspace = (credits = 0) =>
  use((api) => api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Acme", credits } })).pipe(
    Effect.map((r) => r.body.apiKey as string)
  )

const expectError = (reply: Reply, status: number, code: string) => {
  assert.strictEqual(reply.status, status, JSON.stringify(reply.body))
  assert.strictEqual(reply.body.code, code)
  assert.strictEqual(reply.body.error, reply.body.message)
  assert.isString(reply.headers.get("x-request-id"))
}

const expectOk = (reply: Reply, status = 200) => {
  assert.strictEqual(reply.status, status, JSON.stringify(reply.body))
  return reply.body
}

/** Runs `attempt` and checks it changed no table (nor, when given, the rows `snapshot` reads). */
const writesNothing = <A, E, R, R2 = never>(
  attempt: Effect.Effect<A, E, R>,
  snapshot?: Effect.Effect<unknown, never, R2>
) =>
  Effect.gen(function* () {
    const before = yield* tableCounts
    const rowsBefore = snapshot === undefined ? undefined : yield* snapshot
    const result = yield* attempt
    assert.deepStrictEqual(yield* tableCounts, before)
    if (snapshot !== undefined) assert.deepStrictEqual(yield* snapshot, rowsBefore)
    return result
  })

const importLeads = (key: string, leads: ReadonlyArray<unknown>, listId?: string) =>
  use((api) => api.post("/api/lists/import", { key, body: listId === undefined ? { leads } : { leads, listId } })).pipe(
    Effect.map((r) => expectOk(r).leadIds as Array<string>)
  )

const getLead = (key: string, id: string) =>
  use((api) => api.get(`/api/leads?id=${id}`, { key })).pipe(Effect.map((r) => expectOk(r).leads[0]))

const createList = (key: string, body: Record<string, unknown>) =>
  use((api) => api.post("/api/lists", { key, body })).pipe(Effect.map((r) => expectOk(r, 201).list))

layer(ApiOnlyTestServer, { timeout: 120_000, excludeTestServices: true })(
  "Leads and Lists endpoints (integration, real server)",
  (it) => {
    it.effect("post_leads_creates_201_then_the_same_identity_in_other_case_matches_200_and_fills_empty_fields", () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace()
        const created = yield* use((api) =>
          api.post("/api/leads", {
            key,
            body: {
              type: "person",
              email: "Ada@Example.com",
              name: { full: "Ada Lovelace" },
              attributes: { tier: "A" }
            }
          })
        )
        const first = expectOk(created, 201)
        assert.isFalse(first.matched)
        assert.strictEqual(first.lead.type, "person")
        assert.strictEqual(first.lead.email, "Ada@Example.com")
        assert.deepStrictEqual(first.lead.lists, [])
        const counts = yield* tableCounts
        const matched = yield* use((api) =>
          api.post("/api/leads", {
            key,
            body: {
              type: "person",
              email: "ada@EXAMPLE.com",
              name: { full: "Someone Else", first: "Ada" },
              title: "Analyst",
              attributes: { tier: "B", score: 9 }
            }
          })
        )
        const second = expectOk(matched, 200)
        assert.isTrue(second.matched)
        assert.strictEqual(second.lead.id, first.lead.id)
        // empty fields filled, existing values kept, new attribute keys added
        assert.deepStrictEqual(second.lead.name, { full: "Ada Lovelace", first: "Ada" })
        assert.strictEqual(second.lead.title, "Analyst")
        assert.deepStrictEqual(second.lead.attributes, { tier: "A", score: 9 })
        assert.strictEqual((yield* tableCounts).leads, counts.leads)

        const company = expectOk(
          yield* use((api) =>
            api.post("/api/leads", { key, body: { type: "company", domain: "https://www.Acme.io/" } })
          ),
          201
        )
        const again = expectOk(
          yield* use((api) =>
            api.post("/api/leads", { key, body: { type: "company", company: { domain: "acme.io", name: "Acme" } } })
          )
        )
        assert.deepStrictEqual([again.matched, again.lead.id], [true, company.lead.id])
        assert.strictEqual(again.lead.company.name, "Acme")
        // a Lead without identity is never merged
        const anonymous = yield* use((api) => api.post("/api/leads", { key, body: { type: "person", title: "CTO" } }))
        assert.strictEqual(anonymous.status, 201)

        yield* writesNothing(
          Effect.gen(function* () {
            expectError(
              yield* use((api) => api.post("/api/leads", { key, body: { type: "robot" } })),
              400,
              "VALIDATION_FAILED"
            )
            const unknown = yield* use((api) =>
              api.post("/api/leads", { key, body: { type: "person", email: "x@y.z", nickname: "x" } })
            )
            expectError(unknown, 400, "VALIDATION_FAILED")
            assert.strictEqual(unknown.body.details.issues[0].path, "body.nickname")
            expectError(
              yield* use((api) => api.post("/api/leads", { key, raw: '{"type":"person","title":"a\\u0000b"}' })),
              400,
              "VALIDATION_FAILED"
            )
            expectError(yield* use((api) => api.post("/api/leads", { body: { type: "person" } })), 401, "UNAUTHORIZED")
          })
        )
      })
    )

    it.effect("get_leads_searches_name_email_domain_company_and_title_and_pages_by_ascending_id", () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace()
        const other = yield* createWorkspace()
        const ids = yield* importLeads(key, [
          { type: "person", email: "grace@navy.mil", name: { first: "Grace", last: "Hopper" }, title: "Rear Admiral" },
          { type: "person", email: "ada@example.com", name: { full: "Ada Lovelace" }, company: { name: "Analytical" } },
          { type: "company", domain: "acme.io", company: { name: "Acme 100% Inc" } },
          { type: "person", email: "linus@kernel.org", title: "Maintainer", company: { domain: "linux.dev" } },
          { type: "person", email: "alan@bletchley.uk", title: "Cryptanalyst" }
        ])
        yield* importLeads(other, [{ type: "person", email: "ada@example.com", name: { full: "Ada Lovelace" } }])
        const sorted = [...ids].sort()
        const search = (query: string) =>
          use((api) => api.get(`/api/leads?${query}`, { key })).pipe(
            Effect.map((r) => (expectOk(r).leads as Array<{ id: string }>).map((l) => l.id))
          )

        const everything = expectOk(yield* use((api) => api.get("/api/leads", { key })))
        assert.deepStrictEqual(
          everything.leads.map((l: { id: string }) => l.id),
          sorted
        )
        assert.deepStrictEqual([everything.hasMore, everything.nextCursor], [false, null])
        assert.deepStrictEqual(yield* search("q=LOVELACE"), [ids[1]!])
        assert.deepStrictEqual(yield* search("q=grace%20hopper"), [ids[0]!])
        assert.deepStrictEqual(yield* search("q=NAVY.mil"), [ids[0]!])
        assert.deepStrictEqual(yield* search("q=acme.io"), [ids[2]!])
        assert.deepStrictEqual(yield* search("q=linux.dev"), [ids[3]!])
        assert.deepStrictEqual(yield* search("q=analytical"), [ids[1]!])
        assert.deepStrictEqual(yield* search("q=cryptanalyst"), [ids[4]!])
        assert.deepStrictEqual((yield* search("q=analy")).sort(), [ids[1]!, ids[4]!].sort())
        // LIKE wildcards are literal
        assert.deepStrictEqual(yield* search("q=100%25"), [ids[2]!])
        assert.deepStrictEqual(yield* search("q=_"), [])
        assert.deepStrictEqual(yield* search("type=company"), [ids[2]!])
        assert.deepStrictEqual(
          yield* search("type=person&q=a"),
          sorted.filter((id) => id !== ids[2])
        )
        assert.deepStrictEqual(yield* search(`id=${ids[3]}`), [ids[3]!])

        const page1 = expectOk(yield* use((api) => api.get("/api/leads?limit=2", { key })))
        assert.deepStrictEqual(
          page1.leads.map((l: { id: string }) => l.id),
          sorted.slice(0, 2)
        )
        assert.deepStrictEqual([page1.hasMore, page1.nextCursor], [true, sorted[1]])
        const page2 = expectOk(yield* use((api) => api.get(`/api/leads?limit=2&cursor=${page1.nextCursor}`, { key })))
        assert.deepStrictEqual(
          page2.leads.map((l: { id: string }) => l.id),
          sorted.slice(2, 4)
        )
        const page3 = expectOk(yield* use((api) => api.get(`/api/leads?limit=2&cursor=${page2.nextCursor}`, { key })))
        assert.deepStrictEqual(
          page3.leads.map((l: { id: string }) => l.id),
          sorted.slice(4)
        )
        assert.deepStrictEqual([page3.hasMore, page3.nextCursor], [false, null])

        const lead = page1.leads[0]
        for (const field of ["id", "type", "name", "title", "company", "location", "contacts", "socials"]) {
          assert.property(lead, field)
        }
        assert.property(lead, "attributes")
        assert.property(lead, "lists")
        assert.isString(lead.createdAt)

        expectError(yield* use((api) => api.get("/api/leads?id=nope", { key })), 404, "NOT_FOUND")
        expectError(yield* use((api) => api.get(`/api/leads?id=${ids[1]}`, { key: other })), 404, "NOT_FOUND")
        expectError(yield* use((api) => api.get("/api/leads?limit=0", { key })), 400, "VALIDATION_FAILED")
        expectError(yield* use((api) => api.get("/api/leads?limit=501", { key })), 400, "VALIDATION_FAILED")
        expectError(yield* use((api) => api.get("/api/leads?type=robot", { key })), 400, "VALIDATION_FAILED")
        expectError(yield* use((api) => api.get("/api/leads?sort=name", { key })), 400, "VALIDATION_FAILED")
        expectError(yield* use((api) => api.get("/api/leads")), 401, "UNAUTHORIZED")
      })
    )

    it.effect("patch_leads_replaces_fields_merges_attributes_deletes_null_keys_and_keeps_identity_in_step", () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace()
        const stranger = yield* createWorkspace()
        const [ada, grace] = yield* importLeads(key, [
          {
            type: "person",
            email: "ada@example.com",
            name: { full: "Ada Lovelace" },
            title: "Analyst",
            industry: "Math",
            attributes: { keep: 1, drop: 2, change: "old" }
          },
          { type: "person", email: "grace@navy.mil" }
        ])
        const patched = expectOk(
          yield* use((api) =>
            api.patch("/api/leads", {
              key,
              body: {
                id: ada,
                title: "Countess",
                name: { first: "Ada" },
                industry: null,
                attributes: { change: "new", drop: null, added: { deep: true } }
              }
            })
          )
        )
        assert.strictEqual(patched.lead.id, ada)
        assert.strictEqual(patched.lead.title, "Countess")
        assert.deepStrictEqual(patched.lead.name, { first: "Ada" })
        assert.isNull(patched.lead.industry)
        assert.deepStrictEqual(patched.lead.attributes, { keep: 1, change: "new", added: { deep: true } })
        assert.deepStrictEqual(yield* getLead(key, ada!), patched.lead)

        // a new email moves the identity: the old address is free, the new one matches this Lead
        const moved = expectOk(
          yield* use((api) => api.patch("/api/leads", { key, body: { id: ada, email: "Countess@Example.com" } }))
        )
        assert.strictEqual(moved.lead.email, "Countess@Example.com")
        assert.deepStrictEqual(
          moved.lead.contacts.map((c: { value: string }) => c.value),
          ["Countess@Example.com"]
        )
        const sameAgain = expectOk(
          yield* use((api) => api.post("/api/leads", { key, body: { type: "person", email: "countess@example.com" } }))
        )
        assert.deepStrictEqual([sameAgain.matched, sameAgain.lead.id], [true, ada])
        const oldAddress = yield* use((api) =>
          api.post("/api/leads", { key, body: { type: "person", email: "ada@example.com" } })
        )
        assert.strictEqual(oldAddress.status, 201)
        assert.notStrictEqual(oldAddress.body.lead.id, ada)

        const snapshot = Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          return yield* sql`SELECT * FROM leads ORDER BY id`
        }).pipe(Effect.orDie)
        yield* writesNothing(
          Effect.gen(function* () {
            const typed = yield* use((api) => api.patch("/api/leads", { key, body: { id: ada, type: "company" } }))
            expectError(typed, 400, "VALIDATION_FAILED")
            assert.deepStrictEqual(
              typed.body.details.issues.map((i: { path: string }) => i.path),
              ["body.type"]
            )
            assert.include(typed.body.message, "not writable")
            expectError(
              yield* use((api) => api.patch("/api/leads", { key, body: { title: "no id" } })),
              400,
              "VALIDATION_FAILED"
            )
            expectError(
              yield* use((api) => api.patch("/api/leads", { key, body: { id: ada, contacts: [{ value: 1 }] } })),
              400,
              "VALIDATION_FAILED"
            )
            expectError(
              yield* use((api) => api.patch("/api/leads", { key, body: { id: "nope", title: "x" } })),
              404,
              "NOT_FOUND"
            )
            expectError(
              yield* use((api) => api.patch("/api/leads", { key: stranger, body: { id: ada, title: "x" } })),
              404,
              "NOT_FOUND"
            )
            // taking another Lead's identity is a conflict, and changes nothing
            const taken = yield* use((api) =>
              api.patch("/api/leads", { key, body: { id: ada, email: "GRACE@navy.mil", title: "changed" } })
            )
            expectError(taken, 409, "IDENTITY_CONFLICT")
            assert.deepStrictEqual(taken.body.details, { identityKeys: ["email:grace@navy.mil"], leadIds: [grace] })
          }),
          snapshot
        )
      })
    )

    it.effect("delete_leads_erases_memberships_identity_keys_and_item_results_and_run_items_keep_the_id", () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace(10)
        const stranger = yield* createWorkspace()
        const list = yield* createList(key, { name: "Prospects" })
        const [ada, grace] = yield* importLeads(
          key,
          [
            { type: "person", email: "ada@example.com", attributes: { secret: "x" } },
            { type: "person", email: "grace@navy.mil" }
          ],
          list.id
        )
        const run = expectOk(
          yield* use((api) =>
            api.post("/api/enrichment", {
              key,
              body: { enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds: [ada, grace] } }
            })
          ),
          202
        )
        const sql = yield* SqlClient.SqlClient
        const items = yield* sql<{ id: string; lead_id: string; workspace_id: string }>`
          SELECT id, lead_id, workspace_id FROM run_items WHERE run_id = ${run.runId} ORDER BY ordinal`
        assert.strictEqual(items.length, 2)
        for (const item of items) {
          yield* sql`UPDATE run_items SET result = '{"valid":true}'::jsonb,
              lead_snapshot = ${JSON.stringify({ email: "personal" })}::jsonb, recorded_at = now()
            WHERE id = ${item.id}`
        }

        yield* writesNothing(
          Effect.gen(function* () {
            expectError(yield* use((api) => api.delete("/api/leads", { key, body: { id: "nope" } })), 404, "NOT_FOUND")
            expectError(
              yield* use((api) => api.delete("/api/leads", { key: stranger, body: { id: ada } })),
              404,
              "NOT_FOUND"
            )
            expectError(yield* use((api) => api.delete("/api/leads", { key, body: {} })), 400, "VALIDATION_FAILED")
            expectError(
              yield* use((api) => api.delete("/api/leads", { key, body: { id: ada, cascade: true } })),
              400,
              "VALIDATION_FAILED"
            )
          })
        )

        const deleted = yield* use((api) => api.delete("/api/leads", { key, body: { id: ada } }))
        assert.deepStrictEqual(expectOk(deleted), { deleted: true, id: ada })
        const remaining = yield* sql<{ t: string; n: number }>`
          SELECT 'leads' AS t, count(*)::int AS n FROM leads WHERE id = ${ada}
          UNION ALL SELECT 'memberships', count(*)::int FROM list_memberships WHERE lead_id = ${ada}
          UNION ALL SELECT 'identities', count(*)::int FROM lead_identities WHERE lead_id = ${ada}
          UNION ALL SELECT 'results', count(*)::int FROM run_items
            WHERE lead_id = ${ada} AND (recorded_at IS NOT NULL OR result IS NOT NULL OR lead_snapshot IS NOT NULL)
          UNION ALL SELECT 'run_items', count(*)::int FROM run_items WHERE lead_id = ${ada}
          UNION ALL SELECT 'other results', count(*)::int FROM run_items WHERE lead_id = ${grace} AND recorded_at IS NOT NULL`
        assert.deepStrictEqual(Object.fromEntries(remaining.map((r) => [r.t, r.n])), {
          leads: 0,
          memberships: 0,
          identities: 0,
          results: 0,
          run_items: 1,
          "other results": 1
        })
        // the run item stays, with the id only; its result is gone
        const runItems = expectOk(
          yield* use((api) => api.get(`/api/enrichment/${run.runId}/items?leadId=${ada}`, { key }))
        )
        assert.strictEqual(runItems.items.length, 1)
        assert.strictEqual(runItems.items[0].leadId, ada)
        assert.isNull(runItems.items[0].result)
        assert.isNull(runItems.items[0].metadata.leadSnapshot)
        const members = expectOk(yield* use((api) => api.get(`/api/lists/${list.id}/leads`, { key })))
        assert.deepStrictEqual(
          members.leads.map((l: { id: string }) => l.id),
          [grace]
        )
        expectError(yield* use((api) => api.get(`/api/leads?id=${ada}`, { key })), 404, "NOT_FOUND")
        expectError(
          yield* writesNothing(use((api) => api.delete("/api/leads", { key, body: { id: ada } }))),
          404,
          "NOT_FOUND"
        )
        // its identity is free again
        const reborn = yield* use((api) =>
          api.post("/api/leads", { key, body: { type: "person", email: "ada@example.com" } })
        )
        assert.strictEqual(reborn.status, 201)
      })
    )

    it.effect("get_lists_puts_the_protected_all_list_first_then_lists_by_ascending_id_with_cursor_paging", () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace()
        const stranger = yield* createWorkspace()
        yield* createList(key, { name: "First" })
        yield* createList(stranger, { name: "Not mine" })
        const ids = yield* importLeads(key, [
          { type: "person", email: "a@x.io" },
          { type: "company", domain: "x.io" }
        ])
        const second = yield* createList(key, { name: "Second", leadType: "company", leadIds: [ids[1]] })
        const third = yield* createList(key, { name: "Third", description: "d", leadType: "mixed" })
        const mine = expectOk(yield* use((api) => api.get("/api/lists", { key })))
        const listIds = mine.lists.map((l: { id: string }) => l.id)
        assert.strictEqual(listIds.length, 4)
        assert.strictEqual(listIds[0], "all")
        assert.deepStrictEqual(listIds.slice(1), [...listIds.slice(1)].sort())
        assert.includeMembers(listIds, [second.id, third.id])
        const all = mine.lists[0]
        assert.deepStrictEqual(
          [all.name, all.leadType, all.protected, all.leadCount, all.description],
          ["All Leads", "mixed", true, 2, null]
        )
        assert.isString(all.createdAt)
        assert.deepStrictEqual(
          mine.lists.find((l: { id: string }) => l.id === second.id),
          { ...second, leadCount: 1 }
        )
        assert.deepStrictEqual([mine.hasMore, mine.nextCursor], [false, null])

        const page1 = expectOk(yield* use((api) => api.get("/api/lists?limit=2", { key })))
        assert.deepStrictEqual(
          page1.lists.map((l: { id: string }) => l.id),
          listIds.slice(0, 2)
        )
        assert.deepStrictEqual([page1.hasMore, page1.nextCursor], [true, listIds[1]])
        const page2 = expectOk(yield* use((api) => api.get(`/api/lists?limit=2&cursor=${page1.nextCursor}`, { key })))
        assert.deepStrictEqual(
          page2.lists.map((l: { id: string }) => l.id),
          listIds.slice(2)
        )
        assert.deepStrictEqual([page2.hasMore, page2.nextCursor], [false, null])
        // `all` alone on a page of one; its id as the cursor starts the workspace's Lists
        const one = expectOk(yield* use((api) => api.get("/api/lists?limit=1", { key })))
        assert.deepStrictEqual([one.lists.length, one.lists[0].id, one.nextCursor], [1, "all", "all"])
        const afterAll = expectOk(yield* use((api) => api.get("/api/lists?limit=1&cursor=all", { key })))
        assert.deepStrictEqual([afterAll.lists[0].id, afterAll.hasMore], [listIds[1], true])

        expectError(yield* use((api) => api.get("/api/lists?limit=0", { key })), 400, "VALIDATION_FAILED")
        expectError(yield* use((api) => api.get("/api/lists?limit=501", { key })), 400, "VALIDATION_FAILED")
        expectError(yield* use((api) => api.get("/api/lists?name=x", { key })), 400, "VALIDATION_FAILED")
        expectError(yield* use((api) => api.get("/api/lists")), 401, "UNAUTHORIZED")
      })
    )

    it.effect("patch_and_delete_lists_refuse_the_all_list_unknown_lists_and_type_conflicts_and_leads_stay", () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace()
        const stranger = yield* createWorkspace()
        const [person] = yield* importLeads(key, [{ type: "person", email: "a@x.io" }])
        const list = yield* createList(key, { name: "People", leadIds: [person] })
        const renamed = expectOk(
          yield* use((api) =>
            api.patch("/api/lists", { key, body: { id: list.id, name: "Renamed", description: "Hot prospects" } })
          )
        ).list
        assert.deepStrictEqual(
          [renamed.id, renamed.name, renamed.description, renamed.leadType, renamed.leadCount],
          [list.id, "Renamed", "Hot prospects", "person", 1]
        )
        const cleared = expectOk(
          yield* use((api) => api.patch("/api/lists", { key, body: { id: list.id, description: null } }))
        )
        assert.isNull(cleared.list.description)
        const mixed = expectOk(
          yield* use((api) => api.patch("/api/lists", { key, body: { id: list.id, leadType: "mixed" } }))
        )
        assert.strictEqual(mixed.list.leadType, "mixed")
        const back = expectOk(
          yield* use((api) => api.patch("/api/lists", { key, body: { id: list.id, leadType: "person" } }))
        )
        assert.strictEqual(back.list.leadType, "person")

        const snapshot = Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          return yield* sql`SELECT * FROM lists ORDER BY id`
        }).pipe(Effect.orDie)
        yield* writesNothing(
          Effect.gen(function* () {
            const mismatch = yield* use((api) =>
              api.patch("/api/lists", { key, body: { id: list.id, leadType: "company" } })
            )
            expectError(mismatch, 400, "LEAD_TYPE_MISMATCH")
            assert.deepStrictEqual(mismatch.body.details, { leadType: "company", leadIds: [person], total: 1 })
            expectError(
              yield* use((api) => api.patch("/api/lists", { key, body: { id: "all", name: "Everything" } })),
              400,
              "LIST_PROTECTED"
            )
            expectError(
              yield* use((api) => api.delete("/api/lists", { key, body: { id: "all" } })),
              400,
              "LIST_PROTECTED"
            )
            expectError(
              yield* use((api) => api.patch("/api/lists", { key, body: { id: "nope", name: "x" } })),
              404,
              "NOT_FOUND"
            )
            expectError(
              yield* use((api) => api.patch("/api/lists", { key: stranger, body: { id: list.id, name: "x" } })),
              404,
              "NOT_FOUND"
            )
            expectError(yield* use((api) => api.delete("/api/lists", { key, body: { id: "nope" } })), 404, "NOT_FOUND")
            expectError(
              yield* use((api) => api.delete("/api/lists", { key: stranger, body: { id: list.id } })),
              404,
              "NOT_FOUND"
            )
            for (const body of [
              { id: list.id, name: "" },
              { id: list.id, protected: false },
              { id: list.id, leadType: "robots" },
              { name: "no id" }
            ]) {
              expectError(yield* use((api) => api.patch("/api/lists", { key, body })), 400, "VALIDATION_FAILED")
            }
          }),
          snapshot
        )

        const deleted = yield* use((api) => api.delete("/api/lists", { key, body: { id: list.id } }))
        assert.deepStrictEqual(expectOk(deleted), { deleted: true, id: list.id })
        const sql = yield* SqlClient.SqlClient
        const [left] = yield* sql<{
          n: number
        }>`SELECT count(*)::int AS n FROM list_memberships WHERE list_id = ${list.id}`
        assert.strictEqual(left!.n, 0)
        // the Lead stays
        assert.deepStrictEqual((yield* getLead(key, person!)).lists, [])
        expectError(yield* use((api) => api.get(`/api/lists/${list.id}/leads`, { key })), 404, "NOT_FOUND")
        expectError(yield* use((api) => api.delete("/api/lists", { key, body: { id: list.id } })), 404, "NOT_FOUND")
      })
    )

    it.effect("list_members_are_added_and_removed_with_type_checks_and_the_all_list_is_protected", () =>
      Effect.gen(function* () {
        const key = yield* createWorkspace()
        const stranger = yield* createWorkspace()
        const [a, b, c, company] = yield* importLeads(key, [
          { type: "person", email: "a@x.io" },
          { type: "person", email: "b@x.io" },
          { type: "person", email: "c@x.io" },
          { type: "company", domain: "x.io" }
        ])
        const [foreign] = yield* importLeads(stranger, [{ type: "person", email: "a@x.io" }])
        const list = yield* createList(key, { name: "People" })
        const members = (body: unknown, listId: string = list.id) =>
          use((api) => api.post(`/api/lists/${listId}/leads`, { key, body }))
        const nonMembers = (body: unknown, listId: string = list.id) =>
          use((api) => api.delete(`/api/lists/${listId}/leads`, { key, body }))

        const first = expectOk(yield* members({ leadIds: [a, b] }))
        assert.deepStrictEqual(
          [first.added, first.alreadyMembers, first.list.id, first.list.leadCount],
          [2, 0, list.id, 2]
        )
        const second = expectOk(yield* members({ leadIds: [b, c] }))
        assert.deepStrictEqual([second.added, second.alreadyMembers, second.list.leadCount], [1, 1, 3])
        assert.deepStrictEqual((yield* getLead(key, a!)).lists, [list.id])

        yield* writesNothing(
          Effect.gen(function* () {
            const mismatch = yield* members({ leadIds: [a, company] })
            expectError(mismatch, 400, "LEAD_TYPE_MISMATCH")
            assert.deepStrictEqual(mismatch.body.details, { leadType: "person", leadIds: [company], total: 1 })
            const missing = yield* members({ leadIds: [a, "ghost", foreign] })
            expectError(missing, 400, "LEADS_NOT_FOUND")
            assert.deepStrictEqual(missing.body.details, { leadIds: [foreign, "ghost"].sort(), total: 2 })
            expectError(yield* members({ leadIds: [a] }, "all"), 400, "LIST_PROTECTED")
            expectError(yield* members({ leadIds: ["ghost"] }, "all"), 400, "LIST_PROTECTED")
            expectError(yield* members({ leadIds: [a] }, "nope"), 404, "NOT_FOUND")
            expectError(
              yield* use((api) =>
                api.post(`/api/lists/${list.id}/leads`, { key: stranger, body: { leadIds: [foreign] } })
              ),
              404,
              "NOT_FOUND"
            )
            expectError(yield* members({ leadIds: [] }), 400, "VALIDATION_FAILED")
            expectError(yield* members({ leadIds: [a, a] }), 400, "VALIDATION_FAILED")
            expectError(yield* members({ leadIds: [a], listId: list.id }), 400, "VALIDATION_FAILED")
            expectError(yield* members({}), 400, "VALIDATION_FAILED")

            expectError(yield* nonMembers({ leadIds: [a, "ghost"] }), 400, "LEADS_NOT_FOUND")
            expectError(yield* nonMembers({ leadIds: [a] }, "all"), 400, "LIST_PROTECTED")
            expectError(yield* nonMembers({ leadIds: [a] }, "nope"), 404, "NOT_FOUND")
            expectError(yield* nonMembers({ leadIds: [] }), 400, "VALIDATION_FAILED")
          })
        )

        const removed = expectOk(yield* nonMembers({ leadIds: [a, company] }))
        assert.deepStrictEqual([removed.removed, removed.notMembers, removed.list.leadCount], [1, 1, 2])
        const page = expectOk(yield* use((api) => api.get(`/api/lists/${list.id}/leads`, { key })))
        assert.deepStrictEqual(
          page.leads.map((l: { id: string }) => l.id),
          [b, c]
        )
        // a mixed List takes any type
        const mixed = yield* createList(key, { name: "Mixed", leadType: "mixed" })
        const both = expectOk(yield* members({ leadIds: [a, company] }, mixed.id))
        assert.strictEqual(both.added, 2)
        // removing members leaves the Leads
        assert.deepStrictEqual((yield* getLead(key, a!)).lists, [mixed.id])
        assert.strictEqual(expectOk(yield* use((api) => api.get("/api/leads", { key }))).leads.length, 4)
      })
    )

    it.effect("the_openapi_document_describes_the_leads_and_lists_endpoints", () =>
      Effect.gen(function* () {
        const openapi = expectOk(yield* use((api) => api.get("/openapi.json")))
        assert.includeMembers(Object.keys(openapi.paths["/api/leads"]), ["get", "post", "patch", "delete"])
        assert.includeMembers(Object.keys(openapi.paths["/api/lists"]), ["get", "post", "patch", "delete"])
        assert.includeMembers(Object.keys(openapi.paths["/api/lists/{id}/leads"]), ["get", "post", "delete"])
        assert.includeMembers(Object.keys(openapi.paths["/api/leads"].post.responses), ["200", "201", "400"])
      })
    )
  }
)
