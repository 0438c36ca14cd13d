/**
 * The ItemBatches port on `run_batches`, `run_items`, `item_results`, `leads` and `list_memberships`: what the
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
 * One statement writes the batch's result rows and its completed values to the target attribute, from one
 * payload (see the comment inside).
 */
const writeResults = (sql: SqlClient.SqlClient, context: ResultContext, results: ReadonlyArray<ItemResult>) => {
  const { attributeKey, target } = context.output
  // One statement writes the batch's result rows and its completed values to the target attribute, from
  // one payload: the values are sent and parsed once (they were twice, in two statements), and a built-in's
  // raw answer, which is its result, is not copied (`provider_result_is_result`; decision 39). The Leads
  // and memberships are found by their keys (`id = ANY(…)`) and take their value from one object keyed by
  // id, built once (a MATERIALIZED CTE read by an uncorrelated subquery: an InitPlan; joined as a subquery
  // in FROM, it was built again for every Lead, 500 × 500 per batch, ten times slower than two statements):
  // no join between them and the payload for the planner to turn into a nested loop over it either (as
  // happened when the two writes were first put in one statement). The workspace is
  // checked as `(… = …) IS TRUE`, which no index serves: with statistics older than a big import the
  // planner would otherwise scan the whole workspace through its index once per batch (O(run²); regression
  // test regression_recording_a_batch_read_every_lead_of_the_workspace).
  const payload = JSON.stringify(
    results.map((w) => {
      const isResult = w.result !== null && w.providerResult === w.result
      return {
        item_id: w.item.id,
        lead_id: w.item.leadId,
        membership_id: w.item.membershipId,
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
            )`
          ]
        : []
  return sql`
    WITH x AS MATERIALIZED (
      SELECT * FROM jsonb_to_recordset(${payload}::jsonb) AS x(item_id text, lead_id text,
        membership_id text, completed boolean, result jsonb, error jsonb, lead_snapshot jsonb,
        provider_result jsonb, is_result boolean, provider text, provider_submission_id text)
    ),
    results AS (
      INSERT INTO item_results (item_id, workspace_id, run_id, lead_id, result, error, input_snapshot,
        lead_snapshot, provider_result, provider_result_is_result, provider, provider_submission_id,
        recorded_at)
      SELECT x.item_id, ${context.workspaceId}, ${context.runId}, x.lead_id, x.result, x.error,
        ${JSON.stringify(context.input)}::jsonb, x.lead_snapshot, x.provider_result, x.is_result, x.provider,
        x.provider_submission_id, ${context.recordedAt}
      FROM x
      -- a Lead deleted meanwhile keeps no personal data here
      WHERE x.lead_id IN (
        SELECT l.id FROM leads l
        WHERE l.id = ANY(${textArray(results.map((w) => w.item.leadId))}::text[])
          AND (l.workspace_id = ${context.workspaceId}) IS TRUE
      )
      ON CONFLICT (item_id) DO UPDATE SET result = excluded.result, error = excluded.error,
        lead_snapshot = excluded.lead_snapshot, provider_result = excluded.provider_result,
        provider_result_is_result = excluded.provider_result_is_result, provider = excluded.provider,
        provider_submission_id = excluded.provider_submission_id, recorded_at = excluded.recorded_at
    )${targetRows.length === 0 ? sql`` : sql`, ${sql.join(", ", false)(targetRows)}`}
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
      WHERE b.batch = ${batch} AND i.claim_token = ${batch} AND i.status = 'running'
      ORDER BY i.ordinal`

    return ItemBatches.of({
      // a batch key claims once: what it claimed, and the status of each item still under its claim token
      previousClaim: (batch) =>
        sql<{ size: number; statuses: Array<string> }>`
          SELECT cardinality(b.ordinals) AS size,
            coalesce(array_agg(i.status) FILTER (WHERE i.status IS NOT NULL), '{}') AS statuses
          FROM run_batches b
          LEFT JOIN run_items i ON i.run_id = b.run_id AND i.ordinal = ANY(b.ordinals) AND i.claim_token = b.batch
          WHERE b.batch = ${batch}
          GROUP BY b.ordinals`.pipe(
          Effect.map(([mine]) => mine),
          asStoreFailure
        ),
      // the lowest pending items, from the run's last claimed ordinal on: claims are serialised by the stream
      // lock and take items in order, so none is pending below it (and an item never becomes pending again); a
      // pending item another transaction holds (a Lead's erasure) is waited for, not skipped. Found nothing
      // while the run still counts pending items (a run claimed before migration 0007, when claims skipped
      // locked items): look from the start.
      nextPending: Effect.fnUntraced(function* (runId: string, limit: number, pendingCounted: number) {
        const pending = (after: Statement.Fragment) => sql<{ ordinal: number }>`
            SELECT ordinal FROM run_items WHERE run_id = ${runId} AND ordinal > ${after} AND status = 'pending'
            ORDER BY ordinal LIMIT ${limit} FOR UPDATE`
        const above = yield* pending(
          sql`(SELECT coalesce(max(last_ordinal), 0) FROM run_batches WHERE run_id = ${runId})`
        )
        const next = above.length > 0 || pendingCounted === 0 ? above : yield* pending(sql`0`)
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
      // the same items locked, with only what the re-check needs (the Lead's existence, the target attribute)
      lockClaimed: (batch, attributeKey) =>
        sql<KeyRow & { lead_type: string | null; lead_existing: unknown; membership_existing: unknown }>`
          SELECT i.id, i.ordinal, i.lead_id, i.membership_id, l.type AS lead_type,
                 l.attributes -> ${attributeKey} AS lead_existing, m.attributes -> ${attributeKey} AS membership_existing
          ${batchItems(batch)}
          FOR UPDATE OF i`.pipe(
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
      lockRunning: (batch) =>
        sql<KeyRow>`
          SELECT i.id, i.ordinal, i.lead_id, i.membership_id FROM run_batches b
          JOIN run_items i ON i.run_id = b.run_id AND i.ordinal = ANY(b.ordinals)
          WHERE b.batch = ${batch} AND i.claim_token = ${batch} AND i.status = 'running'
          ORDER BY i.ordinal
          FOR UPDATE OF i`.pipe(
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
