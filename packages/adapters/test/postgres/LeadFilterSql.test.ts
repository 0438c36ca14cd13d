/**
 * The LeadFilter's SQL against a real PostgreSQL: a handful of Leads and
 * memberships written directly, and for each field kind and op the Lead ids
 * that match. Also the frozen scope of a filtered List (subject first, then
 * the filter, then its limit).
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { FilterInvalid, parseLeadFilter } from "@enrich/domain/leads/LeadFilter"
import { RunScope } from "@enrich/domain/ports/RunScope"
import { LeadDirectoryPgLive } from "../../src/postgres/LeadDirectory.ts"
import { leadFilterSql } from "../../src/postgres/LeadFilterSql.ts"
import { TestDatabaseLive } from "../support/TestDatabase.ts"

const WS = "ws-filter"
const OTHER_WS = "ws-other"
const LIST = "list-1"

const leads = [
  {
    id: "p1",
    type: "person",
    name: { full: "Ada Lovelace" },
    title: "CTO",
    company: { name: "Acme Corp", domain: "acme.io" },
    location: { city: "London", country: "UK" },
    industry: "Software",
    domain: null,
    contacts: [{ type: "email", value: "Ada@Acme.io" }],
    attributes: { score: 10, tier: "Gold", flag: true, note: "100% sure", tags: ["a", "b"] },
    created_at: "2024-01-01T00:00:00.000Z"
  },
  {
    id: "p2",
    type: "person",
    name: { first: "Grace", last: "Hopper" },
    title: "cto",
    company: { name: "Navy" },
    location: { city: "Arlington", country: "US" },
    industry: null,
    domain: null,
    contacts: [{ type: "phone", value: "+1 555 0100" }, { value: "grace@navy.mil" }],
    attributes: { score: 2.5, tier: "silver", note: "50_50", flag: false },
    created_at: "2024-02-01T12:00:00.123456Z"
  },
  {
    id: "p3",
    type: "person",
    name: { full: "" },
    title: null,
    company: {},
    location: {},
    industry: "",
    domain: null,
    contacts: [{ type: "phone", value: "ext@42" }],
    attributes: { score: "10", tier: null, empty: "" },
    created_at: "2024-03-01T00:00:00.000Z"
  },
  {
    id: "c1",
    type: "company",
    name: { full: "Acme" },
    title: null,
    company: { name: "Acme", domain: "acme.io" },
    location: { city: "london" },
    industry: "software",
    domain: "acme.io",
    contacts: [],
    attributes: { score: 100, size: 1e21 },
    created_at: "2024-01-15T00:00:00.000Z"
  },
  {
    id: "c2",
    type: "company",
    name: { full: "100% Juice" },
    title: null,
    company: {},
    location: {},
    industry: null,
    domain: "juice.com",
    contacts: [],
    attributes: {},
    created_at: "2024-04-01T00:00:00.000Z"
  }
] as const

const memberships = [
  { id: "m1", lead_id: "p1", attributes: { stage: "won", rank: 1 } },
  { id: "m2", lead_id: "p2", attributes: { stage: "lost", rank: 2 } },
  { id: "m3", lead_id: "c1", attributes: {} }
]

const Fixtures = Layer.effectDiscard(
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO workspaces (id, name) VALUES (${WS}, 'filters'), (${OTHER_WS}, 'other')`
    const rows = [
      ...leads.map((l) => ({ ...l, workspace_id: WS })),
      // another workspace's Lead that matches everything: never in a scope of WS
      { ...leads[0], id: "x1", workspace_id: OTHER_WS }
    ]
    yield* sql`
      INSERT INTO leads (id, workspace_id, type, name, title, company, location, industry, domain, contacts, attributes, created_at)
      SELECT x.id, x.workspace_id, x.type, x.name, x.title, x.company, x.location, x.industry, x.domain, x.contacts,
             x.attributes, x.created_at
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(id text, workspace_id text, type text, name jsonb,
        title text, company jsonb, location jsonb, industry text, domain text, contacts jsonb, attributes jsonb,
        created_at timestamptz)`
    yield* sql`INSERT INTO lists (id, workspace_id, name, lead_type) VALUES (${LIST}, ${WS}, 'mixed', 'mixed')`
    yield* sql`
      INSERT INTO list_memberships (id, workspace_id, list_id, lead_id, attributes)
      SELECT x.id, ${WS}, ${LIST}, x.lead_id, x.attributes
      FROM jsonb_to_recordset(${JSON.stringify(memberships)}::jsonb) AS x(id text, lead_id text, attributes jsonb)`
  })
)

const Live = Layer.mergeAll(Fixtures, LeadDirectoryPgLive).pipe(Layer.provideMerge(TestDatabaseLive))

const parse = (filter: unknown) => {
  const parsed = parseLeadFilter(filter, { concreteList: true })
  if (parsed instanceof FilterInvalid) throw new Error(parsed.message)
  return parsed
}

/** Ids of the workspace's Leads (joined to their membership of LIST, if any) that match. */
const matching = (filter: unknown) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const parsed = parse(filter)
    const rows = yield* sql<{ id: string }>`
      SELECT l.id FROM leads l LEFT JOIN list_memberships m ON m.lead_id = l.id AND m.list_id = ${LIST}
      WHERE l.workspace_id = ${WS} AND ${leadFilterSql(sql, parsed)}
      ORDER BY l.id ${parsed.limit === undefined ? sql`` : sql`LIMIT ${parsed.limit}`}`
    return rows.map((r) => r.id)
  })

const where = (field: string, op: string, value?: unknown) =>
  matching({ where: [value === undefined ? { field, op } : { field, op, value }] })

const expectIds = (actual: ReadonlyArray<string>, expected: ReadonlyArray<string>, label: string) =>
  assert.deepStrictEqual(actual, [...expected].sort(), label)

layer(Live, { timeout: 120_000, excludeTestServices: true })("LeadFilter SQL (integration)", (it) => {
  it.effect("type_eq_and_neq", () =>
    Effect.gen(function* () {
      expectIds(yield* where("type", "eq", "person"), ["p1", "p2", "p3"], "eq")
      expectIds(yield* where("type", "neq", "person"), ["c1", "c2"], "neq")
    })
  )

  it.effect("text_fields_match_case_insensitively_and_a_missing_value_only_matches_the_negations", () =>
    Effect.gen(function* () {
      expectIds(yield* where("title", "eq", "cTo"), ["p1", "p2"], "title eq")
      expectIds(yield* where("title", "neq", "CTO"), ["p3", "c1", "c2"], "title neq: missing titles included")
      expectIds(yield* where("title", "in", ["ceo", "CTO"]), ["p1", "p2"], "title in")
      expectIds(yield* where("title", "nin", ["cto"]), ["p3", "c1", "c2"], "title nin")
      expectIds(yield* where("company.name", "contains", "ACME"), ["p1", "c1"], "company.name contains")
      expectIds(yield* where("company.name", "starts_with", "acme c"), ["p1"], "company.name starts_with")
      expectIds(yield* where("location.city", "eq", "LONDON"), ["p1", "c1"], "location.city eq")
      expectIds(yield* where("location.country", "in", ["uk", "us"]), ["p1", "p2"], "location.country in")
      expectIds(yield* where("industry", "eq", "software"), ["p1", "c1"], "industry eq")
      expectIds(yield* where("domain", "eq", "ACME.io"), ["c1"], "domain eq")
      expectIds(yield* where("company.domain", "eq", "acme.io"), ["p1", "c1"], "company.domain eq")
      expectIds(yield* where("company.domain", "starts_with", "ACM"), ["p1", "c1"], "company.domain starts_with")
    })
  )

  it.effect("exists_means_non_null_and_non_empty", () =>
    Effect.gen(function* () {
      expectIds(yield* where("industry", "exists"), ["p1", "c1"], "industry exists: '' is empty")
      expectIds(yield* where("industry", "not_exists"), ["p2", "p3", "c2"], "industry not_exists")
      expectIds(yield* where("title", "exists"), ["p1", "p2"], "title exists")
      expectIds(yield* where("company.name", "not_exists"), ["p3", "c2"], "company.name not_exists")
      expectIds(yield* where("name", "exists"), ["p1", "p2", "c1", "c2"], "name exists")
      expectIds(yield* where("name", "not_exists"), ["p3"], "name not_exists")
    })
  )

  it.effect("contains_and_starts_with_take_percent_and_underscore_literally", () =>
    Effect.gen(function* () {
      expectIds(yield* where("name", "contains", "%"), ["c2"], "contains %")
      expectIds(yield* where("name", "contains", "0% j"), ["c2"], "contains 0% j")
      expectIds(yield* where("name", "starts_with", "100%"), ["c2"], "starts_with 100%")
      expectIds(yield* where("name", "starts_with", "_"), [], "starts_with _")
      expectIds(yield* where("name", "contains", "a_a"), [], "contains a_a")
      expectIds(yield* where("name", "contains", "'; DROP TABLE leads; --"), [], "a value is never SQL")
      expectIds(yield* where("title", "exists"), ["p1", "p2"], "still there")
    })
  )

  it.effect("name_is_the_full_name_else_first_and_last", () =>
    Effect.gen(function* () {
      expectIds(yield* where("name", "eq", "grace hopper"), ["p2"], "first + last")
      expectIds(yield* where("name", "starts_with", "ada "), ["p1"], "full")
      expectIds(yield* where("name", "in", ["ACME", "Ada Lovelace"]), ["p1", "c1"], "in")
    })
  )

  it.effect("email_matches_any_email_contact_typed_or_untyped_with_an_at", () =>
    Effect.gen(function* () {
      expectIds(yield* where("email", "eq", "ada@acme.io"), ["p1"], "typed email, case-insensitive")
      expectIds(yield* where("email", "contains", "@navy"), ["p2"], "untyped contact with @")
      expectIds(yield* where("email", "contains", "@"), ["p1", "p2"], "a phone with @ is no email")
      expectIds(yield* where("email", "exists"), ["p1", "p2"], "exists")
      expectIds(yield* where("email", "not_exists"), ["p3", "c1", "c2"], "not_exists")
      expectIds(yield* where("email", "neq", "ada@acme.io"), ["p2", "p3", "c1", "c2"], "neq")
      expectIds(yield* where("email", "in", ["GRACE@navy.mil", "x@y.z"]), ["p2"], "in")
      expectIds(yield* where("email", "nin", ["grace@navy.mil"]), ["p1", "p3", "c1", "c2"], "nin")
      expectIds(yield* where("email", "starts_with", "+1"), [], "phones are not emails")
    })
  )

  it.effect("created_at_compares_at_millisecond_precision", () =>
    Effect.gen(function* () {
      expectIds(yield* where("createdAt", "eq", "2024-02-01T12:00:00.123Z"), ["p2"], "eq at ms (stored µs)")
      expectIds(yield* where("createdAt", "eq", "2024-02-01T14:00:00.123+02:00"), ["p2"], "eq with an offset")
      expectIds(yield* where("createdAt", "gt", "2024-02-01T12:00:00.123Z"), ["p3", "c2"], "gt")
      expectIds(yield* where("createdAt", "gte", "2024-02-01T12:00:00.123Z"), ["p2", "p3", "c2"], "gte")
      expectIds(yield* where("createdAt", "lt", "2024-01-15"), ["p1"], "lt a date")
      expectIds(yield* where("createdAt", "lte", "2024-01-15"), ["p1", "c1"], "lte a date")
      expectIds(
        yield* matching({
          where: [
            { field: "createdAt", op: "gte", value: "2024-01-10" },
            { field: "createdAt", op: "lt", value: "2024-03-01" }
          ]
        }),
        ["p2", "c1"],
        "a range"
      )
    })
  )

  it.effect("attributes_compare_stored_json_values_by_type", () =>
    Effect.gen(function* () {
      expectIds(yield* where("attributes.score", "eq", 10), ["p1"], "number 10, not the string '10'")
      expectIds(yield* where("attributes.score", "eq", 10.0), ["p1"], "10.0 = 10")
      expectIds(yield* where("attributes.score", "eq", "10"), ["p3"], "string '10', not the number")
      expectIds(yield* where("attributes.score", "neq", 10), ["p2", "p3", "c1", "c2"], "neq: missing included")
      expectIds(yield* where("attributes.flag", "eq", true), ["p1"], "boolean")
      expectIds(yield* where("attributes.flag", "eq", "true"), [], "'true' is not true")
      expectIds(yield* where("attributes.tier", "eq", "gold"), [], "eq on JSON is exact")
      expectIds(yield* where("attributes.tags", "eq", ["a", "b"]), ["p1"], "arrays by value")
      expectIds(yield* where("attributes.tags", "eq", ["a"]), [], "not containment")
      expectIds(yield* where("attributes.score", "in", [2.5, "10", 1000]), ["p2", "p3"], "in, typed")
      expectIds(yield* where("attributes.score", "nin", [10, 100]), ["p2", "p3", "c2"], "nin")
      expectIds(yield* where("attributes.tier", "contains", "OL"), ["p1"], "contains, case-insensitive")
      expectIds(yield* where("attributes.note", "contains", "0%"), ["p1"], "contains %")
      expectIds(yield* where("attributes.note", "contains", "0_5"), ["p2"], "contains _")
      expectIds(yield* where("attributes.score", "contains", "1"), ["p3"], "contains reads strings only")
    })
  )

  it.effect("numeric_ops_read_numbers_only_and_never_fail_on_other_json", () =>
    Effect.gen(function* () {
      expectIds(yield* where("attributes.score", "gt", 5), ["p1", "c1"], "gt: the string '10' is no number")
      expectIds(yield* where("attributes.score", "gte", 10), ["p1", "c1"], "gte")
      expectIds(yield* where("attributes.score", "lt", 10), ["p2"], "lt")
      expectIds(yield* where("attributes.score", "lte", 2.5), ["p2"], "lte")
      expectIds(yield* where("attributes.tier", "gt", 0), [], "strings and null never compare")
      expectIds(yield* where("attributes.size", "gt", 1e20), ["c1"], "large numbers")
      expectIds(yield* where("attributes.score", "gt", -1.5e-7), ["p1", "p2", "c1"], "small numbers")
    })
  )

  it.effect("attribute_exists_means_present_not_null_and_not_empty", () =>
    Effect.gen(function* () {
      expectIds(yield* where("attributes.tier", "exists"), ["p1", "p2"], "tier: null is absent")
      expectIds(yield* where("attributes.tier", "not_exists"), ["p3", "c1", "c2"], "tier not_exists")
      expectIds(yield* where("attributes.empty", "exists"), [], "'' is absent")
      expectIds(yield* where("attributes.flag", "exists"), ["p1", "p2"], "false is a value")
    })
  )

  it.effect("membership_attributes_read_the_list_membership", () =>
    Effect.gen(function* () {
      expectIds(yield* where("membership.attributes.stage", "eq", "won"), ["p1"], "eq")
      expectIds(yield* where("membership.attributes.rank", "gte", 1), ["p1", "p2"], "gte")
      expectIds(yield* where("membership.attributes.stage", "exists"), ["p1", "p2"], "exists")
      expectIds(yield* where("membership.attributes.stage", "neq", "won"), ["p2", "p3", "c1", "c2"], "neq")
    })
  )

  it.effect("where_must_all_hold_and_any_at_least_once", () =>
    Effect.gen(function* () {
      expectIds(yield* matching({}), ["p1", "p2", "p3", "c1", "c2"], "no conditions")
      expectIds(
        yield* matching({
          where: [
            { field: "type", value: "person" },
            { field: "title", value: "cto" }
          ]
        }),
        ["p1", "p2"],
        "where: all"
      )
      expectIds(
        yield* matching({
          any: [
            { field: "domain", value: "juice.com" },
            { field: "attributes.score", op: "lt", value: 3 }
          ]
        }),
        ["p2", "c2"],
        "any: at least one"
      )
      expectIds(
        yield* matching({
          where: [{ field: "type", value: "company" }],
          any: [
            { field: "domain", value: "juice.com" },
            { field: "attributes.score", op: "lt", value: 3 }
          ]
        }),
        ["c2"],
        "where and any"
      )
      expectIds(
        yield* matching({ any: [{ field: "title", op: "exists" }], leadIds: ["p2", "p3", "c1", "ghost"] }),
        ["p2"],
        "leadIds narrows"
      )
      expectIds(yield* matching({ limit: 2 }), ["c1", "c2"], "limit: the lowest ids")
      expectIds(yield* matching({ where: [{ field: "type", value: "person" }], limit: 2 }), ["p1", "p2"], "limit last")
    })
  )

  it.effect("freezing_a_filtered_list_applies_the_subject_then_the_filter_then_the_limit", () =>
    Effect.gen(function* () {
      const directory = yield* RunScope
      const sql = yield* SqlClient.SqlClient
      const freeze = (runId: string, listId: string, filter: unknown, subject: "person" | "company" = "person") =>
        directory.freezeScope({
          workspaceId: WS,
          runId,
          scope: { type: "filtered_list", listId, filter: filter as Record<string, unknown> },
          subject,
          filter: parse(filter),
          requestedAt: "2026-01-01T00:00:00.000Z"
        })
      const frozen = (runId: string) =>
        sql<{ ordinal: number; lead_id: string; membership_id: string | null }>`
          SELECT ordinal, lead_id, membership_id FROM run_scope WHERE run_id = ${runId} ORDER BY ordinal`

      const listed = yield* freeze("run-1", LIST, {
        where: [{ field: "membership.attributes.rank", op: "gte", value: 1 }]
      })
      assert.strictEqual(listed.matchingCount, 2)
      assert.deepStrictEqual(yield* frozen("run-1"), [
        { ordinal: 1, lead_id: "p1", membership_id: "m1" },
        { ordinal: 2, lead_id: "p2", membership_id: "m2" }
      ])

      // `type eq company` after the person subject: nothing left, and not a subject mismatch
      const none = yield* freeze("run-2", LIST, { where: [{ field: "type", value: "company" }] })
      assert.strictEqual(none.matchingCount, 0)
      assert.strictEqual(none.mismatchedCount, 0)

      // a List without Leads of the subject still reports them as mismatched
      const companies = yield* freeze("run-3", LIST, { where: [{ field: "name", op: "exists" }] }, "company")
      assert.strictEqual(companies.matchingCount, 1)
      yield* sql`INSERT INTO lists (id, workspace_id, name, lead_type) VALUES ('list-2', ${WS}, 'co', 'company')`
      yield* sql`INSERT INTO list_memberships (id, workspace_id, list_id, lead_id) VALUES ('m4', ${WS}, 'list-2', 'c2')`
      const mismatch = yield* freeze("run-4", "list-2", { where: [{ field: "name", op: "exists" }] })
      assert.deepStrictEqual([mismatch.matchingCount, mismatch.mismatchedCount], [0, 1])

      // `all`: every Lead of the workspace, then the filter, then the limit
      const all = yield* directory.freezeScope({
        workspaceId: WS,
        runId: "run-5",
        scope: { type: "filtered_list", listId: "all", filter: {} },
        subject: "person",
        filter: parse({
          any: [
            { field: "title", op: "exists" },
            { field: "industry", op: "exists" }
          ],
          limit: 1
        }),
        requestedAt: "2026-01-01T00:00:00.000Z"
      })
      assert.strictEqual(all.matchingCount, 1)
      assert.deepStrictEqual(yield* frozen("run-5"), [{ ordinal: 1, lead_id: "p1", membership_id: null }])

      const missing = yield* freeze("run-6", "no-such-list", {})
      assert.isFalse(missing.listFound)
    })
  )
})
