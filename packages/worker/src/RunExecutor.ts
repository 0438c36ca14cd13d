/**
 * Executes a run's items in batches: claim a batch of pending item rows (with a
 * lease), compute each Lead's result through the catalog, write results to the
 * target attribute and the item rows, and append the batch's events — one
 * transaction per step, keyed by the batch so a re-executed step after a crash
 * resumes its own items instead of claiming new ones.
 */
import { Config, Context, Effect, Layer, Result } from "effect"
import { SqlClient } from "effect/sql"
import type { LeadFields } from "@enrich/domain/leads/Lead"
import { RunStore } from "@enrich/adapters/postgres/RunStore"
import { Catalog } from "@enrich/adapters/providers/Catalog"
import type { BatchOutcome } from "@enrich/adapters/engine/RunWorkflow"

interface ClaimedRow {
  id: string
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

interface ItemWrite {
  id: string
  status: "completed" | "failed" | "skipped"
  result: unknown
  skipped_reason: string | null
  error: { message: string; details: unknown } | null
  lead_snapshot: unknown
  provider_result: unknown
  provider: string | null
  provider_submission_id: string | null
}

const toFields = (row: ClaimedRow): LeadFields => ({
  type: row.lead_type!,
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
})

export class RunExecutor extends Context.Service<
  RunExecutor,
  {
    readonly runBatch: (
      run: { readonly runId: string; readonly workspaceId: string },
      batch: string
    ) => Effect.Effect<BatchOutcome>
    readonly complete: (run: { readonly runId: string; readonly workspaceId: string }) => Effect.Effect<void>
  }
>()("@enrich/worker/RunExecutor") {
  static readonly layer = Layer.effect(
    RunExecutor,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const runs = yield* RunStore
      const catalog = yield* Catalog
      const batchSize = yield* Config.Int("ENRICH_BATCH_SIZE").pipe(Config.withDefault(100))

      /** Claims this batch's items, or finds the ones it claimed before a crash. */
      const claim = Effect.fnUntraced(function* (runId: string, workspaceId: string, batch: string) {
        const mine = yield* sql<{ status: string; n: number }>`
          SELECT status, count(*)::int AS n FROM run_items
          WHERE run_id = ${runId} AND claim_token = ${batch} GROUP BY status`
        const running = mine.find((r) => r.status === "running")?.n ?? 0
        const done = mine.filter((r) => r.status !== "running")
        if (running > 0) return { _tag: "Claimed" as const, count: running }
        if (done.length > 0) {
          const count = (status: string) => done.find((r) => r.status === status)?.n ?? 0
          return {
            _tag: "AlreadyRecorded" as const,
            outcome: {
              claimed: done.reduce((a, r) => a + r.n, 0),
              completed: count("completed"),
              failed: count("failed"),
              skipped: count("skipped")
            }
          }
        }
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            const claimed = yield* sql<{ n: number }>`
            WITH next AS (
              SELECT id FROM run_items WHERE run_id = ${runId} AND status = 'pending'
              ORDER BY id LIMIT ${batchSize} FOR UPDATE SKIP LOCKED
            ), claimed AS (
              UPDATE run_items i SET status = 'running', attempts = attempts + 1, claim_token = ${batch},
                lease_until = now() + interval '5 minutes', started_at = now(), updated_at = now()
              FROM next WHERE i.id = next.id RETURNING 1
            )
            SELECT count(*)::int AS n FROM claimed`
            const count = claimed[0]!.n
            if (count === 0) return { _tag: "Nothing" as const }
            yield* runs.execute({
              runId,
              workspaceId,
              command: { _tag: "StartBatch", batch, count, now: new Date().toISOString() }
            })
            return { _tag: "Claimed" as const, count }
          })
        )
      })

      /** Computes and records the results of this batch's running items. */
      const execute = Effect.fnUntraced(function* (runId: string, workspaceId: string, batch: string) {
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            const [run] = yield* sql<{
              slug: string
              output: {
                target: "lead_attribute" | "membership_attribute"
                attributeKey: string
                writePolicy: "overwrite" | "skip_existing"
              }
            }>`SELECT enrichment->>'slug' AS slug, output FROM enrichment_runs WHERE id = ${runId}`
            const rows = yield* sql<ClaimedRow>`
            SELECT i.id, i.lead_id, i.membership_id, l.type AS lead_type, l.name, l.title, l.company, l.location,
                   l.domain, l.linkedin_url, l.industry, l.size, l.contacts, l.socials, l.attributes,
                   m.attributes AS membership_attributes
            FROM run_items i
            LEFT JOIN leads l ON l.id = i.lead_id AND l.workspace_id = i.workspace_id
            LEFT JOIN list_memberships m ON m.id = i.membership_id
            WHERE i.run_id = ${runId} AND i.claim_token = ${batch} AND i.status = 'running'
            ORDER BY i.id
            FOR UPDATE OF i`
            const entry = catalog.find(run!.slug)
            const { attributeKey, target, writePolicy } = run!.output
            const writes: Array<ItemWrite> = []
            let found = 0
            for (const row of rows) {
              const base = {
                id: row.id,
                result: null,
                skipped_reason: null,
                error: null,
                lead_snapshot: null,
                provider_result: null,
                provider: null,
                provider_submission_id: null
              }
              if (row.lead_type === null) {
                writes.push({ ...base, status: "skipped", skipped_reason: "lead_deleted" })
                continue
              }
              const existing =
                target === "lead_attribute" ? row.attributes?.[attributeKey] : row.membership_attributes?.[attributeKey]
              if (writePolicy === "skip_existing" && existing !== undefined && existing !== null) {
                writes.push({ ...base, status: "skipped", skipped_reason: "attribute_exists" })
                continue
              }
              if (entry === undefined) {
                writes.push({
                  ...base,
                  status: "failed",
                  error: { message: `Enrichment ${run!.slug} is no longer available`, details: null }
                })
                continue
              }
              const snapshot = entry.snapshot(toFields(row))
              const outcome = Result.try(() => entry.execute(snapshot, {}))
              if (Result.isSuccess(outcome)) {
                if (outcome.success.found) found++
                writes.push({
                  ...base,
                  status: "completed",
                  result: outcome.success.result,
                  lead_snapshot: snapshot,
                  provider_result: outcome.success.raw,
                  provider: outcome.success.provider,
                  provider_submission_id: outcome.success.providerSubmissionId
                })
              } else {
                const cause = outcome.failure
                writes.push({
                  ...base,
                  status: "failed",
                  lead_snapshot: snapshot,
                  error: { message: cause instanceof Error ? cause.message : String(cause), details: null }
                })
              }
            }
            if (writes.length > 0) {
              yield* sql`
              UPDATE run_items i SET status = x.status, result = x.result, skipped_reason = x.skipped_reason, error = x.error,
                input_snapshot = '{}'::jsonb, lead_snapshot = x.lead_snapshot, provider_result = x.provider_result,
                provider = x.provider, provider_submission_id = x.provider_submission_id,
                lease_until = NULL, completed_at = now(), updated_at = now()
              FROM jsonb_to_recordset(${JSON.stringify(writes)}::jsonb) AS x(id text, status text, result jsonb,
                skipped_reason text, error jsonb, lead_snapshot jsonb, provider_result jsonb, provider text,
                provider_submission_id text)
              WHERE i.id = x.id AND i.status = 'running' AND i.claim_token = ${batch}`
              const results = writes.flatMap((w) => {
                const row = rows.find((r) => r.id === w.id)!
                return w.status === "completed"
                  ? [{ lead_id: row.lead_id, membership_id: row.membership_id, value: w.result }]
                  : []
              })
              if (results.length > 0 && target === "lead_attribute") {
                yield* sql`
                UPDATE leads l SET attributes = jsonb_set(l.attributes, ARRAY[${attributeKey}], x.value), updated_at = now()
                FROM jsonb_to_recordset(${JSON.stringify(results)}::jsonb) AS x(lead_id text, value jsonb)
                WHERE l.id = x.lead_id AND l.workspace_id = ${workspaceId}`
              }
              if (results.length > 0 && target === "membership_attribute") {
                yield* sql`
                UPDATE list_memberships m SET attributes = jsonb_set(m.attributes, ARRAY[${attributeKey}], x.value)
                FROM jsonb_to_recordset(${JSON.stringify(results)}::jsonb) AS x(membership_id text, value jsonb)
                WHERE m.id = x.membership_id AND m.workspace_id = ${workspaceId}`
              }
            }
            const count = (status: ItemWrite["status"]) => writes.filter((w) => w.status === status).length
            const outcome = {
              claimed: writes.length,
              completed: count("completed"),
              failed: count("failed"),
              skipped: count("skipped")
            }
            yield* runs.execute({
              runId,
              workspaceId,
              command: { _tag: "RecordBatch", batch, ...outcome, found, now: new Date().toISOString() }
            })
            return outcome
          })
        )
      })

      const runBatch = Effect.fn("RunExecutor.runBatch")(function* (
        run: { readonly runId: string; readonly workspaceId: string },
        batch: string
      ) {
        const claimed = yield* claim(run.runId, run.workspaceId, batch)
        if (claimed._tag === "Nothing") return { claimed: 0, completed: 0, failed: 0, skipped: 0 }
        if (claimed._tag === "AlreadyRecorded") return claimed.outcome
        return yield* execute(run.runId, run.workspaceId, batch)
      }, Effect.orDie)

      const complete = Effect.fn("RunExecutor.complete")(function* (run: {
        readonly runId: string
        readonly workspaceId: string
      }) {
        yield* runs.execute({
          runId: run.runId,
          workspaceId: run.workspaceId,
          command: { _tag: "CompleteRun", now: new Date().toISOString() }
        })
      }, Effect.orDie)

      return RunExecutor.of({ runBatch, complete })
    })
  )
}
