/**
 * `filtered_list` scopes end to end over a real server and a real Postgres:
 * preview and persisted dispatch count the Leads the LeadFilter keeps; a bad
 * filter gets 400 FILTER_INVALID naming its paths and writes nothing; an
 * unknown List still gets LIST_NOT_FOUND first.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { ADMIN_TOKEN, ApiOnlyTestServer, expectError, use, writesNothing } from "./support/TestServer.ts"

layer(ApiOnlyTestServer, { timeout: 120_000, excludeTestServices: true })(
  "filtered_list scopes (integration, real server)",
  (it) => {
    it.effect("a_filtered_list_dispatches_the_leads_its_filter_keeps_and_a_bad_filter_writes_nothing", () =>
      Effect.gen(function* () {
        const created = yield* use((api) =>
          api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Filters", credits: 10 } })
        )
        const key = created.body.apiKey as string
        const list = yield* use((api) => api.post("/api/lists", { key, body: { name: "Mixed", leadType: "mixed" } }))
        const listId = list.body.list.id as string
        const imported = yield* use((api) =>
          api.post("/api/lists/import", {
            key,
            body: {
              listId,
              leads: [
                { type: "person", email: "ada@acme.io", title: "CTO", attributes: { score: 10 } },
                { type: "person", email: "bob@acme.io", title: "Engineer", attributes: { score: 3 } },
                { type: "person", email: "cy@juice.com", title: "cto", attributes: { score: "10" } },
                { type: "company", domain: "acme.io", name: { full: "Acme CTO Office" } }
              ]
            }
          })
        )
        assert.strictEqual(imported.status, 200, JSON.stringify(imported.body))
        const [ada, , cy] = imported.body.leadIds as Array<string>
        const dispatch = (filter: unknown, extra: Record<string, unknown> = {}, scopeListId = listId) =>
          use((api) =>
            api.post("/api/enrichment", {
              key,
              body: {
                enrichmentId: "email_validation",
                scope: { type: "filtered_list", listId: scopeListId, filter },
                ...extra
              }
            })
          )

        // preview: the company is dropped by the subject before the filter sees it
        const preview = yield* writesNothing(
          dispatch({ where: [{ field: "title", value: "cto" }] }, { mode: "preview" })
        )
        assert.strictEqual(preview.status, 200, JSON.stringify(preview.body))
        assert.strictEqual(preview.body.leadCount, 2)
        assert.deepStrictEqual(preview.body.cost, {
          creditAction: "EMAIL_VALIDATION",
          unitCost: 1,
          required: 2,
          balance: 10,
          sufficient: true
        })
        const onAll = yield* dispatch(
          { any: [{ field: "email", op: "contains", value: "@ACME" }] },
          { mode: "preview" },
          "all"
        )
        assert.strictEqual(onAll.body.leadCount, 2)

        // persisted: numbers are not strings, then the limit keeps the lowest id
        const run = yield* dispatch(
          {
            where: [{ field: "title", op: "in", value: ["CTO", "Engineer"] }],
            any: [
              { field: "attributes.score", op: "gte", value: 10 },
              { field: "email", op: "starts_with", value: "CY@" }
            ],
            limit: 5
          },
          { idempotencyKey: "filtered-1" }
        )
        assert.strictEqual(run.status, 202, JSON.stringify(run.body))
        assert.strictEqual(run.body.leadCount, 2)
        const status = yield* use((api) => api.get(`/api/enrichment/${run.body.runId}`, { key }))
        assert.strictEqual(status.body.run.scope.type, "filtered_list")
        assert.strictEqual(status.body.run.scope.listId, listId)
        assert.strictEqual(status.body.run.scope.resolvedCount, 2)
        assert.deepStrictEqual(status.body.run.cost.actual, { reserved: 2, captured: 0, released: 0 })
        const items = yield* use((api) => api.get(`/api/enrichment/${run.body.runId}/items`, { key }))
        assert.deepStrictEqual(
          items.body.items.map((i: { leadId: string }) => i.leadId),
          [ada, cy].sort()
        )
        const limited = yield* dispatch({ where: [{ field: "type", value: "person" }], limit: 1 }, { mode: "preview" })
        assert.strictEqual(limited.body.leadCount, 1)

        yield* writesNothing(
          Effect.gen(function* () {
            const bad = yield* dispatch(
              {
                where: [
                  { field: "title", op: "like", value: "c%" },
                  { field: "attributes.score", op: "gt", value: "10" }
                ],
                any: []
              },
              { idempotencyKey: "filtered-bad" }
            )
            expectError(bad, 400, "FILTER_INVALID")
            assert.deepStrictEqual(
              bad.body.details.issues.map((i: { path: string }) => i.path),
              ["filter.where[0].op", "filter.where[1].value", "filter.any"]
            )
            assert.strictEqual(bad.body.details.total, 3)
            assert.match(bad.body.message, /filter\.where\[0\]\.op/)
            const membershipOnAll = yield* dispatch(
              { where: [{ field: "membership.attributes.stage", value: "won" }] },
              {},
              "all"
            )
            expectError(membershipOnAll, 400, "FILTER_INVALID")
            assert.strictEqual(membershipOnAll.body.details.issues[0].path, "filter.where[0].field")
            expectError(yield* dispatch({ where: [{ field: "salary", value: 1 }] }), 400, "FILTER_INVALID")
            // LIST_NOT_FOUND comes before FILTER_INVALID, with a good filter or a bad one
            expectError(yield* dispatch({}, {}, "no-such-list"), 400, "LIST_NOT_FOUND")
            expectError(yield* dispatch({ any: [] }, {}, "no-such-list"), 400, "LIST_NOT_FOUND")
            // FILTER_INVALID comes before OUTPUT_TARGET_UNSUPPORTED
            expectError(
              yield* dispatch({ any: [] }, { output: { target: "membership_attribute" } }, "all"),
              400,
              "FILTER_INVALID"
            )
            // a filter that keeps nothing is an empty scope, not a subject mismatch
            expectError(yield* dispatch({ where: [{ field: "type", value: "company" }] }), 400, "EMPTY_LEAD_SCOPE")
          })
        )
        // the rejected request's key stays free
        const retry = yield* dispatch(
          { where: [{ field: "title", value: "engineer" }] },
          { idempotencyKey: "filtered-bad" }
        )
        assert.strictEqual(retry.status, 202, JSON.stringify(retry.body))
        assert.strictEqual(retry.body.leadCount, 1)
      })
    )
  }
)
