/**
 * The ItemBatches port on `run_batches`, `run_items`, `leads` and `list_memberships`: what the
 * batch executor (application/runs/ExecuteBatch.ts) claims, reads and writes besides the run's events. The
 * statements are the ones the worker ran when it held them itself (decision 64); their plans and counts are
 * pinned by the worker's tests and `pnpm bench`.
 */
import { Effect, Layer } from "effect"
import { SqlClient, type Statement } from "effect/sql"
import type { LeadFields } from "@enrich/domain/leads/Lead"
import {
  type ClaimedItem,
  ItemBatches,
  type ItemResult,
  type ItemKeys,
  type LockedItem,
  type ResultContext,
  type RunTarget
} from "@enrich/application/ports/ItemBatches"
import { itemTransitions, storedStatus } from "@enrich/domain/runs/ItemMoves"
import { inOpenBatch } from "./OpenBatchSql.ts"
import { BULK_RUN_ITEMS, refreshItemStatistics } from "./projections/RunProjection.ts"
import { textArray } from "./TextArray.ts"
import { asStoreFailure } from "./Transient.ts"

interface ClaimedRow {
  id: string
  ordinal: number
  lead_id: string
  membership_id: string | null
  lead_type: "person" | "company" | null
  name: LeadFields["name"] | null
  title: string | null
  company: LeadFields["company"] | null
  location: LeadFields["location"] | null
  domain: string | null
  linkedin_url: string | null
  industry: string | null
  size: string | null
  contacts: LeadFields["contacts"] | null
  socials: LeadFields["socials"] | null
  attributes: LeadFields["attributes"] | null
  membership_attributes: Record<string, unknown> | null
}

interface KeyRow {
  readonly id: string
  readonly ordinal: number
  readonly lead_id: string
  readonly membership_id: string | null
}

const toKeys = (row: KeyRow): ItemKeys => ({
  id: row.id,
  ordinal: row.ordinal,
  leadId: row.lead_id,
  membershipId: row.membership_id
})

const toClaimed = (row: ClaimedRow): ClaimedItem => ({
  ...toKeys(row),
  lead:
    row.lead_type === null
      ? null
      : {
          type: row.lead_type,
          name: row.name ?? {},
          title: row.title,
          company: row.company ?? {},
          location: row.location ?? {},
          domain: row.domain,
          linkedinUrl: row.linkedin_url,
          industry: row.industry,
          size: row.size,
          contacts: row.contacts ?? [],
          socials: row.socials ?? [],
          attributes: row.attributes ?? {}
        },
  membershipAttributes: row.membership_attributes
})

/**
 * One statement records the batch's items — each item's outcome and what it produced, in its row — and writes
 * their completed values to the target attribute, from one payload (see the comment inside).
 */
const writeResults = (sql: SqlClient.SqlClient, context: ResultContext, results: ReadonlyArray<ItemResult>) => {
  const { attributeKey, target } = context.output
  // The item's row is written once (issue 24): the record's `Finish` move (RunProjection.ts `itemMoveRows`: a
  // running item — a pending row of the open batch — takes its outcome's status and reason, completed and updated
  // at the record's time, and the attempt its claim made: one more, the batch, its start) is made here with the
  // item's result, and the append of the `ItemBatchRecorded` this record makes next finds these items moved
  // already and writes them no second time. A rebuild, with no results to write, makes the move itself: the same
  // columns, from the same event.
  //
  // The values are sent and parsed once, and a built-in's raw answer, which is its result, is not copied
  // (`provider_result_is_result`; decision 39). The Leads and memberships are found by their keys (`id = ANY(…)`)
  // and take their value from one object keyed by id, built once (a MATERIALIZED CTE read by an uncorrelated
  // subquery: an InitPlan; joined as a subquery in FROM, it was built again for every Lead, 500 × 500 per batch,
  // ten times slower than two statements): no join between them and the payload for the planner to turn into a
  // nested loop over it either (as happened when the two writes were first put in one statement). The workspace
  // is checked as `(… = …) IS TRUE`, which no index serves: with statistics older than a big import the planner
  // would otherwise scan the whole workspace through its index once per batch (O(run²); regression test
  // regression_recording_a_batch_read_every_lead_of_the_workspace).
  const payload = JSON.stringify(
    results.map((w) => {
      const isResult = w.result !== null && w.providerResult === w.result
      return {
        item_id: w.item.id,
        lead_id: w.item.leadId,
        membership_id: w.item.membershipId,
        status: w.outcome.status,
        skipped_reason: w.outcome.skippedReason,
        completed: w.outcome.status === "completed",
        result: w.result,
        error: w.error,
        lead_snapshot: w.leadSnapshot,
        provider_result: isResult ? null : w.providerResult,
        is_result: isResult,
        provider: w.provider,
        provider_submission_id: w.providerSubmissionId
      }
    })
  )
  const completed = results.filter((w) => w.outcome.status === "completed")
  const toLeads = target === "lead_attribute" ? completed.map((w) => w.item.leadId) : []
  const toMemberships =
    target === "membership_attribute"
      ? completed.flatMap((w) => (w.item.membershipId === null ? [] : [w.item.membershipId]))
      : []
  const targetRows =
    toLeads.length > 0
      ? [
          sql`v AS MATERIALIZED (SELECT jsonb_object_agg(x.lead_id, x.result) AS value FROM x WHERE x.completed)`,
          sql`target AS (
            UPDATE leads l
            SET attributes = jsonb_set(l.attributes, ARRAY[${attributeKey}], (SELECT value FROM v) -> l.id),
              updated_at = now()
            WHERE l.id = ANY(${textArray(toLeads)}::text[]) AND (l.workspace_id = ${context.workspaceId}) IS TRUE
              AND (SELECT n FROM items_first) >= 0
          )`
        ]
      : toMemberships.length > 0
        ? [
            sql`v AS MATERIALIZED (
              SELECT jsonb_object_agg(x.membership_id, x.result) AS value
              FROM x WHERE x.completed AND x.membership_id IS NOT NULL
            )`,
            sql`target AS (
              UPDATE list_memberships m
              SET attributes = jsonb_set(m.attributes, ARRAY[${attributeKey}], (SELECT value FROM v) -> m.id)
              WHERE m.id = ANY(${textArray(toMemberships)}::text[]) AND (m.workspace_id = ${context.workspaceId}) IS TRUE
                AND (SELECT n FROM items_first) >= 0
            )`
          ]
        : []
  const at = context.recordedAt
  // a Lead deleted meanwhile keeps no personal data in its items: gone when the statement began (`alive`), or
  // erased while it waited for the item (the erasure marks the row, which the update then reads as it is now)
  const kept = sql`(x.lead_id IN (SELECT id FROM alive) AND NOT i.lead_erased)`
  return sql`
    WITH x AS MATERIALIZED (
      SELECT * FROM jsonb_to_recordset(${payload}::jsonb) AS x(item_id text, lead_id text,
        membership_id text, status text, skipped_reason text, completed boolean, result jsonb, error jsonb,
        lead_snapshot jsonb, provider_result jsonb, is_result boolean, provider text, provider_submission_id text)
    ),
    alive AS MATERIALIZED (
      SELECT l.id FROM leads l
      WHERE l.id = ANY(${textArray(results.map((w) => w.item.leadId))}::text[])
        AND (l.workspace_id = ${context.workspaceId}) IS TRUE
    ),
    moved AS (
      UPDATE run_items i SET status = x.status, skipped_reason = x.skipped_reason,
        completed_at = ${at}::timestamptz, updated_at = ${at}::timestamptz, attempts = i.attempts + 1,
        claim_token = ${context.batch}, started_at = (SELECT started_at FROM run_batches WHERE batch = ${context.batch}),
        result = CASE WHEN ${kept} THEN x.result END, error = CASE WHEN ${kept} THEN x.error END,
        lead_snapshot = CASE WHEN ${kept} THEN x.lead_snapshot END,
        provider_result = CASE WHEN ${kept} THEN x.provider_result END,
        provider_result_is_result = ${kept} AND x.is_result, provider = CASE WHEN ${kept} THEN x.provider END,
        provider_submission_id = CASE WHEN ${kept} THEN x.provider_submission_id END,
        recorded_at = CASE WHEN ${kept} THEN ${at}::timestamptz END
      FROM x
      WHERE i.id = ANY(${textArray(results.map((w) => w.item.id))}::text[]) AND i.id = x.item_id
        AND i.run_id = ${context.runId} AND i.status = ${storedStatus(itemTransitions.finish.from)}
      RETURNING i.id
    ),
    -- the items first, then the Leads: the order a Lead's erasure takes them (its items, then the Lead), so the
    -- two queue instead of deadlocking; counted once before the first Lead is written (an InitPlan)
    items_first AS MATERIALIZED (SELECT count(*) AS n FROM moved)${targetRows.length === 0 ? sql`` : sql`, ${sql.join(", ", false)(targetRows)}`}
    SELECT 1`.pipe(Effect.asVoid)
}

export const ItemBatchesPgLive = Layer.effect(
  ItemBatches,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    // each item's Lead and membership by one key lookup (LIMIT 1 keeps the planner from turning them into
    // joins that read a whole workspace's Leads or a whole List's memberships when statistics are stale)
    const batchItems = (batch: string) => sql`
      FROM run_batches b
      JOIN run_items i ON i.run_id = b.run_id AND i.ordinal = ANY(b.ordinals)
      LEFT JOIN LATERAL (
        SELECT * FROM leads WHERE id = i.lead_id AND workspace_id = i.workspace_id LIMIT 1
      ) l ON true
      LEFT JOIN LATERAL (SELECT attributes FROM list_memberships WHERE id = i.membership_id LIMIT 1) m ON true
      WHERE b.batch = ${batch} AND NOT b.ended AND i.status = ${storedStatus("running")}
      ORDER BY i.ordinal`

    return ItemBatches.of({
      // a batch key claims once: what it claimed, and the status of each item still its own — running while the
      // batch is open, else what its record (or its abandonment: pending) left under its claim token
      previousClaim: (batch) =>
        sql<{ size: number; statuses: Array<string> }>`
          SELECT cardinality(b.ordinals) AS size,
            coalesce(array_agg(CASE WHEN NOT b.ended THEN 'running' ELSE i.status END)
              FILTER (WHERE i.status IS NOT NULL), '{}') AS statuses
          FROM run_batches b
          LEFT JOIN run_items i ON i.run_id = b.run_id AND i.ordinal = ANY(b.ordinals)
            AND (CASE WHEN b.ended THEN i.claim_token = b.batch ELSE i.status = ${storedStatus("running")} END)
          WHERE b.batch = ${batch}
          GROUP BY b.ordinals, b.ended`.pipe(
          Effect.map(([mine]) => mine),
          asStoreFailure
        ),
      // the lowest pending items, from the run's last claimed ordinal on: claims are serialised by the stream
      // lock and take items in order, so none is pending below it (and an item never becomes pending again but
      // by an abandoned batch). Not locked: a claim writes no item (its batch's row says they run), and a row
      // lock is a WAL record per item (~400 bytes per Lead with the record's; issue 24). Found nothing while the
      // run still counts pending items (items given back by an abandoned batch, or a run claimed before
      // migration 0007, when claims skipped locked items): look from the start.
      nextPending: Effect.fnUntraced(function* (runId: string, limit: number, pendingCounted: number) {
        const pending = (after: Statement.Fragment) => sql<{ ordinal: number }>`
            SELECT ordinal FROM run_items WHERE run_id = ${runId} AND ordinal > ${after} AND status = 'pending'
            ORDER BY ordinal LIMIT ${limit}`
        const above = yield* pending(
          sql`(SELECT coalesce(max(last_ordinal), 0) FROM run_batches WHERE run_id = ${runId})`
        )
        const next =
          above.length > 0 || pendingCounted === 0
            ? above
            : // from the start: the pending rows in no open batch (those run)
              yield* sql<{ ordinal: number }>`
                SELECT ordinal FROM run_items
                WHERE run_id = ${runId} AND status = 'pending'
                  AND NOT ${inOpenBatch(sql, runId, "run_items.ordinal")}
                ORDER BY ordinal LIMIT ${limit}`
        return next.map((row) => row.ordinal)
      }, asStoreFailure),
      target: (runId) =>
        sql<RunTarget>`SELECT enrichment->>'slug' AS slug, output, input FROM enrichment_runs WHERE id = ${runId}`.pipe(
          Effect.map(([run]) => run),
          asStoreFailure
        ),
      claimedItems: (batch) =>
        sql<ClaimedRow>`
          SELECT i.id, i.ordinal, i.lead_id, i.membership_id, l.type AS lead_type, l.name, l.title, l.company,
                 l.location, l.domain, l.linkedin_url, l.industry, l.size, l.contacts, l.socials, l.attributes,
                 m.attributes AS membership_attributes
          ${batchItems(batch)}`.pipe(
          Effect.map((rows) => rows.map(toClaimed)),
          asStoreFailure
        ),
      lockBatch: (batch) =>
        sql`SELECT 1 AS open FROM run_batches WHERE batch = ${batch} AND NOT ended FOR UPDATE`.pipe(
          Effect.map((rows) => rows.length > 0),
          asStoreFailure
        ),
      // the same items, with only what the re-check needs (the Lead's existence, the target attribute); read
      // under the batch's row (lockBatch), which every mover of these items takes first
      recheckClaimed: (batch, attributeKey) =>
        sql<KeyRow & { lead_type: string | null; lead_existing: unknown; membership_existing: unknown }>`
          SELECT i.id, i.ordinal, i.lead_id, i.membership_id, l.type AS lead_type,
                 l.attributes -> ${attributeKey} AS lead_existing, m.attributes -> ${attributeKey} AS membership_existing
          ${batchItems(batch)}`.pipe(
          Effect.map((rows) =>
            rows.map(
              (row): LockedItem => ({
                ...toKeys(row),
                leadExists: row.lead_type !== null,
                onLead: row.lead_existing,
                onMembership: row.membership_existing
              })
            )
          ),
          asStoreFailure
        ),
      runningUnder: (batch) =>
        sql<KeyRow>`
          SELECT i.id, i.ordinal, i.lead_id, i.membership_id FROM run_batches b
          JOIN run_items i ON i.run_id = b.run_id AND i.ordinal = ANY(b.ordinals)
          WHERE b.batch = ${batch} AND NOT b.ended AND i.status = ${storedStatus("running")}
          ORDER BY i.ordinal`.pipe(
          Effect.map((rows) => rows.map(toKeys)),
          asStoreFailure
        ),
      wasClaimed: (batch) =>
        sql`SELECT 1 AS claimed FROM run_batches WHERE batch = ${batch}`.pipe(
          Effect.map((rows) => rows.length > 0),
          asStoreFailure
        ),
      writeResults: (context, results) => asStoreFailure(writeResults(sql, context, results)),
      tryWriteResults: (context, results) => asStoreFailure(sql.withTransaction(writeResults(sql, context, results))),
      itemCount: Effect.fnUntraced(function* (runId: string) {
        const [row] = yield* sql<{ n: number }>`SELECT resolved_count AS n FROM enrichment_runs WHERE id = ${runId}`
        // a large run's items were just bulk-loaded: let the planner see them before its batches start
        if ((row?.n ?? 0) >= BULK_RUN_ITEMS) yield* refreshItemStatistics(sql)
        return row?.n ?? 0
      }, asStoreFailure)
    })
  })
)
