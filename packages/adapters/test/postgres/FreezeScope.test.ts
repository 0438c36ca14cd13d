/**
 * The frozen scope of a dispatch against a real PostgreSQL (`RunScope.freezeScope`): one
 * statement over the scope writes the frozen scope (by chunks of 1,000 ordinals, read back through
 * the `run_scope` view) and the run's pending items, and returns the planner's facts; without
 * `requestedAt` (a preview) it returns the same facts and writes nothing. The items it writes are
 * the rows the `RunRequested` projection writes from `run_scope` on a rebuild, and on the inline
 * path that projection does not write them again.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { RunScope } from "@enrich/domain/ports/RunScope"
import type { RunEvent } from "@enrich/domain/runs/RunEvents"
import { requestedScope, type Scope } from "@enrich/domain/runs/Scope"
import { LeadDirectoryPgLive } from "../../src/postgres/LeadDirectory.ts"
import { initialState } from "@enrich/domain/runs/Run"
import { projectRunEvent } from "../../src/postgres/projections/RunProjection.ts"
import { TestDatabaseLive } from "../support/TestDatabase.ts"

const WS = "ws-freeze"
const OTHER_WS = "ws-freeze-other"
const LIST = "list-mixed"
const PERSONS = 2_503
const COMPANIES = 150
const AT = "2026-03-04T05:06:07.089Z"

/** Lead ids that sort persons and companies into one another: `l-00001` … */
const leadId = (n: number) => `l-${String(n).padStart(5, "0")}`
/** Every 16th Lead (150 of them) is a company, the rest persons. */
const isCompany = (n: number) => n % 16 === 0 && n / 16 <= COMPANIES
const ALL = PERSONS + COMPANIES
const personIds = Array.from({ length: ALL }, (_, i) => i + 1)
  .filter((n) => !isCompany(n))
  .map(leadId)
const companyIds = Array.from({ length: ALL }, (_, i) => i + 1)
  .filter(isCompany)
  .map(leadId)

const Fixtures = Layer.effectDiscard(
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO workspaces (id, name) VALUES (${WS}, 'freeze'), (${OTHER_WS}, 'other')`
    yield* sql`INSERT INTO leads (id, workspace_id, type)
      SELECT 'l-' || lpad(g::text, 5, '0'), ${WS},
        CASE WHEN g % 16 = 0 AND g / 16 <= ${COMPANIES} THEN 'company' ELSE 'person' END
      FROM generate_series(1, ${ALL}) g`
    yield* sql`INSERT INTO leads (id, workspace_id, type) VALUES ('o-1', ${OTHER_WS}, 'person')`
    // a List of the first 20 Leads (19 persons and the company l-00016), members m-<lead id>
    yield* sql`INSERT INTO lists (id, workspace_id, name, lead_type) VALUES (${LIST}, ${WS}, 'mixed', 'mixed')`
    yield* sql`INSERT INTO list_memberships (id, workspace_id, list_id, lead_id)
      SELECT 'm-' || id, ${WS}, ${LIST}, id FROM leads WHERE workspace_id = ${WS} AND id <= 'l-00020'`
  })
)

const Live = Layer.mergeAll(Fixtures, LeadDirectoryPgLive).pipe(Layer.provideMerge(TestDatabaseLive))

const written = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ chunks: number; items: number; runs: number }>`SELECT
    (SELECT count(*)::int FROM run_scope_chunks) AS chunks, (SELECT count(*)::int FROM run_items) AS items,
    (SELECT count(*)::int FROM enrichment_runs) AS runs`
  return row!
})

/** The run's items as text, in key order: what "byte-identical" compares. */
const itemsOf = (runId: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ rows: string | null }>`
      SELECT json_agg(i ORDER BY i.id)::text AS rows FROM run_items i WHERE i.run_id = ${runId}`
    return row!.rows
  })

const requested = (runId: string, scope: Scope, leadCount: number): RunEvent => ({
  _tag: "RunRequested",
  runId,
  workspaceId: WS,
  enrichment: { id: "email_validation", slug: "email_validation", version: 1, snapshot: {} },
  mode: "persisted",
  scope: requestedScope(scope),
  leadCount,
  output: { target: "lead_attribute", attributeKey: "email_status", writePolicy: "overwrite" },
  cost: { creditAction: "email_validation", unitCost: 1, chargeOn: "completed", required: leadCount },
  displayRequest: null,
  idempotency: null,
  requestedAt: AT
})

layer(Live, { timeout: 120_000, excludeTestServices: true })("freezeScope (integration)", (it) => {
  it.effect("a_preview_resolves_the_facts_of_the_scope_and_writes_nothing", () =>
    Effect.gen(function* () {
      const directory = yield* RunScope
      const facts = yield* directory.freezeScope({
        workspaceId: WS,
        runId: "run-preview",
        scope: { type: "list", listId: "all" },
        subject: "person"
      })
      assert.deepStrictEqual(facts, {
        listFound: true,
        freshCount: 0,
        missingLeadIds: [],
        missingLeadCount: 0,
        matchingCount: PERSONS,
        mismatchedLeadIds: companyIds.slice(0, 100),
        mismatchedCount: COMPANIES,
        nonMemberCount: 0
      })
      assert.deepStrictEqual(yield* written, { chunks: 0, items: 0, runs: 0 })
    })
  )

  it.effect("a_dispatch_freezes_the_scope_by_chunks_and_writes_the_items_the_projection_would", () =>
    Effect.gen(function* () {
      const directory = yield* RunScope
      const sql = yield* SqlClient.SqlClient
      const scope: Scope = { type: "list", listId: "all" }
      const facts = yield* directory.freezeScope({
        workspaceId: WS,
        runId: "run-all",
        scope,
        subject: "person",
        requestedAt: AT
      })
      assert.deepStrictEqual(
        [facts.matchingCount, facts.mismatchedCount, facts.mismatchedLeadIds],
        [PERSONS, COMPANIES, companyIds.slice(0, 100)],
        "the same facts as a preview"
      )
      const chunks = yield* sql<{ first_ordinal: number; n: number }>`
        SELECT first_ordinal, cardinality(lead_ids) AS n FROM run_scope_chunks WHERE run_id = 'run-all'
        ORDER BY first_ordinal`
      assert.deepStrictEqual(chunks, [
        { first_ordinal: 1, n: 1000 },
        { first_ordinal: 1001, n: 1000 },
        { first_ordinal: 2001, n: 503 }
      ])
      // the view: ordinals 1..n over the Leads of the subject in id order
      const frozen = yield* sql<{ ordinal: number; lead_id: string; membership_id: string | null }>`
        SELECT ordinal, lead_id, membership_id FROM run_scope WHERE run_id = 'run-all' ORDER BY ordinal`
      assert.deepStrictEqual(
        frozen.map((r) => r.ordinal),
        personIds.map((_, i) => i + 1)
      )
      assert.deepStrictEqual(
        frozen.map((r) => r.lead_id),
        personIds
      )
      assert.isTrue(frozen.every((r) => r.membership_id === null))
      const [first] = yield* sql<{ id: string; ordinal: number; lead_id: string; status: string; at: boolean }>`
        SELECT id, ordinal, lead_id, status, created_at = ${AT}::timestamptz AND updated_at = created_at AS at
        FROM run_items WHERE run_id = 'run-all' AND ordinal = 1001`
      assert.deepStrictEqual(first, {
        id: "run-all.00001001",
        ordinal: 1001,
        lead_id: personIds[1000]!,
        status: "pending",
        at: true
      })
      const inline = yield* itemsOf("run-all")

      // the inline path: RunRequested finds the items and does not write them again
      yield* projectRunEvent(sql, "run-all", WS, initialState, requested("run-all", scope, PERSONS))
      assert.strictEqual(yield* itemsOf("run-all"), inline)
      assert.deepStrictEqual(yield* written, { chunks: 3, items: PERSONS, runs: 1 })

      // a rebuild: without items, RunRequested writes them from run_scope, byte for byte
      yield* sql`DELETE FROM run_items WHERE run_id = 'run-all'`
      yield* sql`DELETE FROM enrichment_runs WHERE id = 'run-all'`
      yield* projectRunEvent(sql, "run-all", WS, initialState, requested("run-all", scope, PERSONS))
      assert.strictEqual(yield* itemsOf("run-all"), inline)
    })
  )

  it.effect("explicit_leads_report_missing_ids_non_members_and_mismatches_from_the_same_statement", () =>
    Effect.gen(function* () {
      const directory = yield* RunScope
      const sql = yield* SqlClient.SqlClient
      // l-00016 is a company; l-00030 is not a member of the List; o-1 is another workspace's
      const leadIds = ["l-00003", "l-00001", "l-00016", "l-00030"]
      const facts = yield* directory.freezeScope({
        workspaceId: WS,
        runId: "run-explicit",
        scope: { type: "explicit_leads", leadIds: [...leadIds, "o-1", "ghost"], listId: LIST },
        subject: "person",
        requestedAt: AT
      })
      assert.deepStrictEqual(facts, {
        listFound: true,
        freshCount: 0,
        missingLeadIds: ["ghost", "o-1"],
        missingLeadCount: 2,
        matchingCount: 3,
        mismatchedLeadIds: ["l-00016"],
        mismatchedCount: 1,
        nonMemberCount: 1
      })
      const frozen = yield* sql<{ ordinal: number; lead_id: string; membership_id: string | null; list_id: string }>`
        SELECT ordinal, lead_id, membership_id, list_id FROM run_scope WHERE run_id = 'run-explicit' ORDER BY ordinal`
      assert.deepStrictEqual(frozen, [
        { ordinal: 1, lead_id: "l-00001", membership_id: "m-l-00001", list_id: LIST },
        { ordinal: 2, lead_id: "l-00003", membership_id: "m-l-00003", list_id: LIST },
        { ordinal: 3, lead_id: "l-00030", membership_id: null, list_id: LIST }
      ])
      const items = yield* sql<{ id: string; list_id: string; membership_id: string | null }>`
        SELECT id, list_id, membership_id FROM run_items WHERE run_id = 'run-explicit' ORDER BY ordinal`
      assert.deepStrictEqual(items, [
        { id: "run-explicit.00000001", list_id: LIST, membership_id: "m-l-00001" },
        { id: "run-explicit.00000002", list_id: LIST, membership_id: "m-l-00003" },
        { id: "run-explicit.00000003", list_id: LIST, membership_id: null }
      ])
    })
  )

  it.effect("a_list_scope_counts_its_members_and_an_unknown_list_is_not_found_and_freezes_nothing", () =>
    Effect.gen(function* () {
      const directory = yield* RunScope
      const members = yield* directory.freezeScope({
        workspaceId: WS,
        runId: "run-list",
        scope: { type: "list", listId: LIST },
        subject: "company"
      })
      assert.deepStrictEqual(
        [members.matchingCount, members.mismatchedCount, members.mismatchedLeadIds.length, members.nonMemberCount],
        [1, 19, 19, 0]
      )
      const unknown = yield* directory.freezeScope({
        workspaceId: WS,
        runId: "run-unknown",
        scope: { type: "list", listId: "no-such-list" },
        subject: "person"
      })
      assert.isFalse(unknown.listFound)
      // another workspace's List is not found either
      const foreign = yield* directory.freezeScope({
        workspaceId: OTHER_WS,
        runId: "run-foreign",
        scope: { type: "list", listId: LIST },
        subject: "person"
      })
      assert.isFalse(foreign.listFound)
      // explicit Leads on a List that does not exist: not found, and nothing frozen or written
      const sql = yield* SqlClient.SqlClient
      const ghost = yield* directory.freezeScope({
        workspaceId: WS,
        runId: "run-ghost-list",
        scope: { type: "explicit_leads", leadIds: ["l-00001"], listId: "no-such-list" },
        subject: "person",
        requestedAt: AT
      })
      assert.isFalse(ghost.listFound)
      const [left] = yield* sql<{ n: number }>`SELECT
        (SELECT count(*)::int FROM run_scope_chunks WHERE run_id = 'run-ghost-list') +
        (SELECT count(*)::int FROM run_items WHERE run_id = 'run-ghost-list') AS n`
      assert.strictEqual(left!.n, 0)
    })
  )

  it.effect("regression_the_explicit_scope_statement_was_planned_again_at_every_dispatch", () =>
    Effect.gen(function* () {
      const directory = yield* RunScope
      const sql = yield* SqlClient.SqlClient
      // statistics that know the other workspace holds one Lead: planned for it, the statement looked far cheaper
      // than a plan for any workspace, so PostgreSQL kept planning it for each dispatch's parameters
      yield* sql`ANALYZE leads`
      // one connection (a transaction) runs the statement as the dispatches of a busy API process do: PostgreSQL
      // plans a prepared statement for its parameters 5 times, then keeps its generic plan unless that costs more
      const plans = yield* sql.withTransaction(
        Effect.gen(function* () {
          for (let n = 0; n < 8; n++) {
            yield* directory.freezeScope({
              workspaceId: OTHER_WS,
              runId: `run-replanned-${n}`,
              scope: { type: "explicit_leads", leadIds: ["o-1"] },
              subject: "person",
              requestedAt: AT
            })
          }
          // this connection may have run the other explicit variants (a List named, a preview) for other tests
          return yield* sql<{ generic_plans: number; custom_plans: number }>`
            SELECT generic_plans::int, custom_plans::int FROM pg_prepared_statements
            WHERE statement LIKE '%requested AS MATERIALIZED%' AND statement LIKE '%INSERT INTO run_items%'
              AND generic_plans + custom_plans >= 8`
        })
      )
      assert.strictEqual(plans.length, 1, "the statement was prepared once and run 8 times")
      assert.isAtLeast(plans[0]!.generic_plans, 3, JSON.stringify(plans))
    })
  )
})
