/**
 * Executes a run's items in batches: claim a batch of pending items (recorded
 * as `ItemBatchStarted` with their ordinals; the batch key is the claim
 * token), compute each Lead's result through the catalog, write results to the
 * target attribute and to `item_results`, and record the outcomes
 * (`ItemBatchRecorded`) — one transaction per step. A step re-executed after a
 * crash resumes the items its batch claimed instead of claiming new ones, and
 * a batch already recorded only reports its counts: nothing happens twice.
 */
import { Cause, Config, Context, Effect, Layer, Result, Schedule, Semaphore } from "effect"
import { hostname } from "node:os"
import { SqlClient, SqlError, type Statement } from "effect/sql"
import type { LeadFields } from "@enrich/domain/leads/Lead"
import { CommandMetadata } from "@enrich/domain/ports/EventStore"
import type { ItemOutcome, WritePolicy } from "@enrich/domain/runs/RunEvents"
import { skipReason as writeSkipReason } from "@enrich/domain/runs/WritePolicy"
import { BULK_RUN_ITEMS, refreshItemStatistics } from "@enrich/adapters/postgres/projections/RunProjection"
import { textArray } from "@enrich/adapters/postgres/TextArray"
import { RunStore } from "@enrich/adapters/postgres/RunStore"
import { Catalog, type CatalogEntry } from "@enrich/domain/ports/Catalog"
import type { BatchOutcome } from "@enrich/adapters/engine/RunWorkflow"
import { awaitHandOver as awaitHandOverLock } from "@enrich/adapters/engine/HandOver"
import { callWithRetry } from "@enrich/adapters/providers/Retry"

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

/** An item's keys: what writing its outcome needs of it. */
interface ItemKeys {
  readonly id: string
  readonly ordinal: number
  readonly lead_id: string
  readonly membership_id: string | null
}

/** A claimed item as the write transaction locks it: its keys, whether its Lead exists, its target attribute now. */
interface LockedRow extends ItemKeys {
  readonly lead_type: string | null
  readonly lead_existing: unknown
  readonly membership_existing: unknown
}

/** What one item produced: its outcome (for the event) and its payload (for item_results). */
interface ItemWrite {
  readonly row: ItemKeys
  readonly outcome: ItemOutcome
  readonly result: unknown
  readonly error: { readonly message: string; readonly details: unknown } | null
  readonly leadSnapshot: unknown
  readonly providerResult: unknown
  readonly provider: string | null
  readonly providerSubmissionId: string | null
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

const countOutcomes = (statuses: ReadonlyArray<string>): BatchOutcome => ({
  claimed: statuses.length,
  completed: statuses.filter((s) => s === "completed").length,
  failed: statuses.filter((s) => s === "failed").length,
  skipped: statuses.filter((s) => s === "skipped").length
})

/** A run of `leadCount` items is shared by one partition per `size` items, at most `max`. */
export const partitionsFor = (leadCount: number, size: number, max: number): number =>
  Math.max(1, Math.min(max, Math.ceil(leadCount / Math.max(1, size))))

/** Which worker process recorded an event (its host and process id). */
const workerActor = `worker:${hostname()}/${process.pid}`

const nothing: BatchOutcome = { claimed: 0, completed: 0, failed: 0, skipped: 0 }

/**
 * A failure PostgreSQL says may pass (a deadlock it broke by failing us, a serialization failure, a lock or
 * statement timeout, a lost connection), whether it came as an error or, through the run store, as a defect.
 */
const isTransient = (cause: Cause.Cause<unknown>): boolean => {
  if (Cause.hasInterrupts(cause)) return false
  const error = Cause.squash(cause)
  return SqlError.isSqlError(error) && error.isRetryable
}

/**
 * Runs a step again when it failed transiently: up to 5 more times, 100 ms doubling with jitter. Every step is
 * safe to run again (a batch resumes what its key claimed or reports what it recorded; completing a settled run
 * decides nothing), and a step that fails for good still dies, as before. Without this, a batch that PostgreSQL
 * chose as a deadlock's victim failed its run's workflow, leaving the run `running` with its credits held
 * (regression_a_batch_that_lost_a_deadlock_failed_its_run_instead_of_running_again).
 */
const retryTransient =
  (step: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    effect.pipe(
      Effect.sandbox,
      Effect.tapError((cause) =>
        isTransient(cause) ? Effect.logWarning(`${step} failed transiently; running it again`, cause) : Effect.void
      ),
      Effect.retry({
        while: isTransient,
        times: 5,
        schedule: Schedule.exponential("100 millis").pipe(Schedule.jittered)
      }),
      Effect.catch((cause) => Effect.failCause(cause))
    )

/** `retryTransient`, then a step that still fails dies. */
const orDieAfterRetries =
  (step: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, never, R> =>
    Effect.orDie(retryTransient(step)(effect))

export class RunExecutor extends Context.Service<
  RunExecutor,
  {
    readonly runBatch: (
      run: { readonly runId: string; readonly workspaceId: string },
      batch: string
    ) => Effect.Effect<BatchOutcome>
    readonly complete: (run: { readonly runId: string; readonly workspaceId: string }) => Effect.Effect<void>
    /** How many partitions (child workflows, possibly on other runners) share this run. */
    readonly partitions: (run: { readonly runId: string; readonly workspaceId: string }) => Effect.Effect<number>
    /**
     * Whether the run exists, asked once the dispatch transaction handing it
     * over has ended (an engine outside our transaction, Trigger.dev, may start
     * before the commit): `false` means it never committed.
     */
    readonly awaitHandOver: (run: { readonly runId: string; readonly workspaceId: string }) => Effect.Effect<boolean>
  }
>()("@enrich/worker/RunExecutor") {
  static readonly layer = Layer.effect(
    RunExecutor,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const runs = yield* RunStore
      const catalog = yield* Catalog
      const batchSize = yield* Config.Int("ENRICH_BATCH_SIZE").pipe(Config.withDefault(500))
      const providerConcurrency = yield* Config.Int("ENRICH_PROVIDER_CONCURRENCY").pipe(Config.withDefault(8))
      const maxAttempts = yield* Config.Int("ENRICH_PROVIDER_MAX_ATTEMPTS").pipe(Config.withDefault(3))
      const backoffMs = yield* Config.Int("ENRICH_PROVIDER_BACKOFF_MS").pipe(Config.withDefault(100))
      const partitionSize = yield* Config.Int("ENRICH_PARTITION_SIZE").pipe(Config.withDefault(10_000))
      const maxPartitions = yield* Config.Int("ENRICH_MAX_PARTITIONS").pipe(Config.withDefault(8))
      const runWriters = yield* Config.Int("ENRICH_RUN_WRITERS").pipe(Config.withDefault(3))

      /**
       * At most `runWriters` of a run's batches in a write transaction (a claim, a record) at once in this
       * process; the others wait here, not in PostgreSQL. Every such transaction takes the run's stream row,
       * so they queue there anyway; the ones queued in PostgreSQL cost it CPU (8 batches of one run: ~40 % more
       * per Lead than 3; decision 39). Provider calls are not gated: a slow vendor's batches still overlap.
       */
      const gates = new Map<string, { readonly semaphore: Semaphore.Semaphore; users: number }>()
      const gated = <A, E, R>(runId: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
        Effect.suspend(() => {
          let gate = gates.get(runId)
          if (gate === undefined) {
            gate = { semaphore: Semaphore.makeUnsafe(Math.max(1, runWriters)), users: 0 }
            gates.set(runId, gate)
          }
          const held = gate
          held.users++
          return held.semaphore
            .withPermits(1)(effect)
            .pipe(
              Effect.ensuring(
                Effect.sync(() => {
                  if (--held.users === 0) gates.delete(runId)
                })
              )
            )
        })

      /** Claims this batch's items, or finds the ones it claimed before a crash. */
      const claim = Effect.fnUntraced(function* (runId: string, workspaceId: string, batch: string) {
        const mine = yield* sql<{ status: string }>`
          SELECT i.status FROM run_batches b
          JOIN run_items i ON i.run_id = b.run_id AND i.ordinal = ANY(b.ordinals) AND i.claim_token = b.batch
          WHERE b.batch = ${batch}`
        if (mine.some((r) => r.status === "running")) return { _tag: "Claimed" as const }
        if (mine.length > 0)
          return { _tag: "AlreadyRecorded" as const, outcome: countOutcomes(mine.map((r) => r.status)) }
        return yield* gated(
          runId,
          sql.withTransaction(
            Effect.gen(function* () {
              // the run's stream row first, as every command on the run takes it (lock order: stream, then items)
              const known = yield* runs.lock(runId)
              // the lowest pending items, from the run's last claimed ordinal on: claims are serialised by the
              // stream lock and take items in order, so none is pending below it (and an item never becomes
              // pending again); a pending item another transaction holds (a Lead's erasure) is waited for,
              // not skipped. Found nothing while the run still counts pending items (a run claimed before
              // migration 0007, when claims skipped locked items): look from the start.
              const pending = (after: Statement.Fragment) => sql<{ ordinal: number }>`
                SELECT ordinal FROM run_items WHERE run_id = ${runId} AND ordinal > ${after} AND status = 'pending'
                ORDER BY ordinal LIMIT ${batchSize} FOR UPDATE`
              const above = yield* pending(
                sql`(SELECT coalesce(max(last_ordinal), 0) FROM run_batches WHERE run_id = ${runId})`
              )
              const counted = known.state.status === "none" ? 0 : known.state.counts.pending
              const next = above.length > 0 || counted === 0 ? above : yield* pending(sql`0`)
              if (next.length === 0) return { _tag: "Nothing" as const }
              yield* runs.execute({
                runId,
                workspaceId,
                known,
                command: {
                  _tag: "StartBatch",
                  batch,
                  ordinals: next.map((r) => r.ordinal),
                  now: new Date().toISOString()
                }
              })
              return { _tag: "Claimed" as const }
            })
          )
        ).pipe(
          // a cancelled or failed run starts no new batch
          Effect.catchTag("RunCommandRejected", () => Effect.succeed({ _tag: "Nothing" as const }))
        )
      })

      /** Why an item is skipped without calling its provider (the write-policy rule of the domain), if it is. */
      const skipReason = (
        item: {
          readonly leadExists: boolean
          /** the target attribute's value on the Lead and on the membership */
          readonly onLead: unknown
          readonly onMembership: unknown
        },
        output: { readonly target: string; readonly writePolicy: WritePolicy }
      ) =>
        writeSkipReason({
          leadExists: item.leadExists,
          writePolicy: output.writePolicy,
          existing: output.target === "lead_attribute" ? item.onLead : item.onMembership
        })

      /**
       * One provider call with the run's input, tried again while its error is
       * retryable: exponential backoff with jitter, never shorter than the
       * provider's `retryAfterMs` (a 429's Retry-After). Bounded by the entry's
       * own `retry` policy when it has one (an operator-configured vendor), else
       * by ENRICH_PROVIDER_MAX_ATTEMPTS / ENRICH_PROVIDER_BACKOFF_MS.
       */
      const callProvider = (entry: CatalogEntry, snapshot: Record<string, unknown>, input: unknown) =>
        callWithRetry(() => entry.execute(snapshot, input), entry.retry ?? { maxAttempts, backoffMs })

      /** Computes one item's outcome, outside any transaction (the provider may be slow or remote). */
      const computeItem = Effect.fnUntraced(function* (
        row: ClaimedRow,
        entry: CatalogEntry | undefined,
        slug: string,
        output: { readonly target: string; readonly attributeKey: string; readonly writePolicy: WritePolicy },
        input: unknown
      ) {
        const base = {
          row,
          result: null,
          error: null,
          leadSnapshot: null,
          providerResult: null,
          provider: null,
          providerSubmissionId: null
        }
        const outcome = (
          status: ItemOutcome["status"],
          skippedReason: ItemOutcome["skippedReason"],
          found = false
        ) => ({
          ordinal: row.ordinal,
          status,
          skippedReason,
          found
        })
        const skipped = skipReason(
          {
            leadExists: row.lead_type !== null,
            onLead: row.attributes?.[output.attributeKey],
            onMembership: row.membership_attributes?.[output.attributeKey]
          },
          output
        )
        if (skipped !== null) return { ...base, outcome: outcome("skipped", skipped) } satisfies ItemWrite
        if (entry === undefined) {
          return {
            ...base,
            outcome: outcome("failed", null),
            error: { message: `Enrichment ${slug} is no longer available`, details: null }
          } satisfies ItemWrite
        }
        const snapshot = entry.snapshot(toFields(row))
        const { attempts, result } = yield* callProvider(entry, snapshot, input)
        if (Result.isFailure(result)) {
          return {
            ...base,
            outcome: outcome("failed", null),
            leadSnapshot: snapshot,
            error: {
              message: result.failure.message,
              details: { attempts, retryable: result.failure.retryable, provider: result.failure.details ?? null }
            }
          } satisfies ItemWrite
        }
        return {
          ...base,
          outcome: outcome("completed", null, result.success.found),
          result: result.success.result,
          leadSnapshot: snapshot,
          providerResult: result.success.raw,
          provider: result.success.provider,
          providerSubmissionId: result.success.providerSubmissionId
        } satisfies ItemWrite
      })

      /** Computes and records the results of this batch's running items. */
      const execute = Effect.fnUntraced(function* (runId: string, workspaceId: string, batch: string) {
        // each item's Lead and membership by one key lookup (LIMIT 1 keeps the planner from turning them into
        // joins that read a whole workspace's Leads or a whole List's memberships when statistics are stale)
        const batchItems = sql`
          FROM run_batches b
          JOIN run_items i ON i.run_id = b.run_id AND i.ordinal = ANY(b.ordinals)
          LEFT JOIN LATERAL (
            SELECT * FROM leads WHERE id = i.lead_id AND workspace_id = i.workspace_id LIMIT 1
          ) l ON true
          LEFT JOIN LATERAL (SELECT attributes FROM list_memberships WHERE id = i.membership_id LIMIT 1) m ON true
          WHERE b.batch = ${batch} AND i.claim_token = ${batch} AND i.status = 'running'
          ORDER BY i.ordinal`
        const claimedRows = sql<ClaimedRow>`
          SELECT i.id, i.ordinal, i.lead_id, i.membership_id, l.type AS lead_type, l.name, l.title, l.company,
                 l.location, l.domain, l.linkedin_url, l.industry, l.size, l.contacts, l.socials, l.attributes,
                 m.attributes AS membership_attributes
          ${batchItems}`
        // the same items locked, with only what the re-check needs (the Lead's existence, the target attribute)
        const lockedRows = (attributeKey: string) => sql<LockedRow>`
          SELECT i.id, i.ordinal, i.lead_id, i.membership_id, l.type AS lead_type,
                 l.attributes -> ${attributeKey} AS lead_existing, m.attributes -> ${attributeKey} AS membership_existing
          ${batchItems}
          FOR UPDATE OF i`
        const [run] = yield* sql<{
          slug: string
          output: {
            target: "lead_attribute" | "membership_attribute"
            attributeKey: string
            writePolicy: "overwrite" | "skip_existing"
          }
          input: Record<string, unknown>
        }>`SELECT enrichment->>'slug' AS slug, output, input FROM enrichment_runs WHERE id = ${runId}`
        // 1. read the batch's items and Leads, and call the provider for them outside any transaction,
        //    a bounded number at a time (a crash here repeats the calls, never their effects)
        const read = yield* claimedRows
        if (read.length === 0 || run === undefined) return nothing
        const entry = catalog.find(run.slug)
        const computed = yield* Effect.forEach(
          read,
          (row) => computeItem(row, entry, run.slug, run.output, run.input),
          // an entry may ask for more at once (a bulk API fills its batches from concurrent calls)
          { concurrency: entry?.concurrency ?? providerConcurrency }
        )
        // 2. write it all in one transaction, re-checking each item as it is now (still ours, Lead still
        //    there, attribute still empty under skip_existing)
        return yield* gated(
          runId,
          sql.withTransaction(
            Effect.gen(function* () {
              const { attributeKey, target } = run.output
              const rows = yield* lockedRows(attributeKey)
              if (rows.length === 0) return nothing
              const byId = new Map(computed.map((w) => [w.row.id, w]))
              const writes = rows.map((row): ItemWrite => {
                const skipped = skipReason(
                  {
                    leadExists: row.lead_type !== null,
                    onLead: row.lead_existing,
                    onMembership: row.membership_existing
                  },
                  run.output
                )
                const planned = byId.get(row.id)
                const keys = {
                  id: row.id,
                  ordinal: row.ordinal,
                  lead_id: row.lead_id,
                  membership_id: row.membership_id
                }
                const base = {
                  row: keys,
                  result: null,
                  error: null,
                  leadSnapshot: null,
                  providerResult: null,
                  provider: null,
                  providerSubmissionId: null
                }
                if (skipped !== null) {
                  return {
                    ...base,
                    outcome: { ordinal: row.ordinal, status: "skipped", skippedReason: skipped, found: false }
                  }
                }
                return planned === undefined
                  ? {
                      ...base,
                      outcome: { ordinal: row.ordinal, status: "failed", skippedReason: null, found: false },
                      error: { message: "not computed", details: null }
                    }
                  : { ...planned, row: keys }
              })
              const recordedAt = new Date().toISOString()
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
                writes.map((w) => {
                  const isResult = w.result !== null && w.providerResult === w.result
                  return {
                    item_id: w.row.id,
                    lead_id: w.row.lead_id,
                    membership_id: w.row.membership_id,
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
              const completed = writes.filter((w) => w.outcome.status === "completed")
              const toLeads = target === "lead_attribute" ? completed.map((w) => w.row.lead_id) : []
              const toMemberships =
                target === "membership_attribute"
                  ? completed.flatMap((w) => (w.row.membership_id === null ? [] : [w.row.membership_id]))
                  : []
              const targetRows =
                toLeads.length > 0
                  ? [
                      sql`v AS MATERIALIZED (SELECT jsonb_object_agg(x.lead_id, x.result) AS value FROM x WHERE x.completed)`,
                      sql`target AS (
                      UPDATE leads l
                      SET attributes = jsonb_set(l.attributes, ARRAY[${attributeKey}], (SELECT value FROM v) -> l.id),
                        updated_at = now()
                      WHERE l.id = ANY(${textArray(toLeads)}::text[]) AND (l.workspace_id = ${workspaceId}) IS TRUE
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
                        WHERE m.id = ANY(${textArray(toMemberships)}::text[]) AND (m.workspace_id = ${workspaceId}) IS TRUE
                      )`
                      ]
                    : []
              yield* sql`
              WITH x AS MATERIALIZED (
                SELECT * FROM jsonb_to_recordset(${payload}::jsonb) AS x(item_id text, lead_id text,
                  membership_id text, completed boolean, result jsonb, error jsonb, lead_snapshot jsonb,
                  provider_result jsonb, is_result boolean, provider text, provider_submission_id text)
              ),
              results AS (
                INSERT INTO item_results (item_id, workspace_id, run_id, lead_id, result, error, input_snapshot,
                  lead_snapshot, provider_result, provider_result_is_result, provider, provider_submission_id,
                  recorded_at)
                SELECT x.item_id, ${workspaceId}, ${runId}, x.lead_id, x.result, x.error,
                  ${JSON.stringify(run.input)}::jsonb, x.lead_snapshot, x.provider_result, x.is_result, x.provider,
                  x.provider_submission_id, ${recordedAt}
                FROM x
                -- a Lead deleted meanwhile keeps no personal data here
                WHERE x.lead_id IN (
                  SELECT l.id FROM leads l
                  WHERE l.id = ANY(${textArray(writes.map((w) => w.row.lead_id))}::text[])
                    AND (l.workspace_id = ${workspaceId}) IS TRUE
                )
                ON CONFLICT (item_id) DO UPDATE SET result = excluded.result, error = excluded.error,
                  lead_snapshot = excluded.lead_snapshot, provider_result = excluded.provider_result,
                  provider_result_is_result = excluded.provider_result_is_result, provider = excluded.provider,
                  provider_submission_id = excluded.provider_submission_id, recorded_at = excluded.recorded_at
              )${targetRows.length === 0 ? sql`` : sql`, ${sql.join(", ", false)(targetRows)}`}
              SELECT 1`
              yield* runs.execute({
                runId,
                workspaceId,
                command: { _tag: "RecordBatch", batch, outcomes: writes.map((w) => w.outcome), now: recordedAt }
              })
              return countOutcomes(writes.map((w) => w.outcome.status))
            })
          )
        )
      })

      const runBatch = Effect.fn("RunExecutor.runBatch")(
        function* (run: { readonly runId: string; readonly workspaceId: string }, batch: string) {
          const claimed = yield* claim(run.runId, run.workspaceId, batch)
          if (claimed._tag === "Nothing") return nothing
          if (claimed._tag === "AlreadyRecorded") return claimed.outcome
          return yield* execute(run.runId, run.workspaceId, batch)
        },
        (effect, run, batch) =>
          effect.pipe(
            Effect.provideService(CommandMetadata, { actor: workerActor, causationId: batch }),
            Effect.tap((outcome) => Effect.logDebug("batch executed", outcome)),
            retryTransient("a batch"),
            Effect.annotateLogs({ runId: run.runId, batch })
          ),
        Effect.orDie
      )

      const complete = Effect.fn("RunExecutor.complete")(
        function* (run: { readonly runId: string; readonly workspaceId: string }) {
          yield* runs.execute({
            runId: run.runId,
            workspaceId: run.workspaceId,
            command: { _tag: "CompleteRun", now: new Date().toISOString() }
          })
        },
        Effect.provideService(CommandMetadata, { actor: workerActor }),
        retryTransient("completing a run"),
        (effect, run) => Effect.annotateLogs(effect, { runId: run.runId }),
        Effect.orDie
      )

      const awaitHandOver = Effect.fn("RunExecutor.awaitHandOver")(function* (run: {
        readonly runId: string
        readonly workspaceId: string
      }) {
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* awaitHandOverLock(sql, run.runId)
            const state = yield* runs.load(run.runId)
            return state.status !== "none"
          })
        )
      }, orDieAfterRetries("awaiting a hand-over"))

      const partitions = Effect.fn("RunExecutor.partitions")(function* (run: {
        readonly runId: string
        readonly workspaceId: string
      }) {
        const [row] = yield* sql<{ n: number }>`SELECT resolved_count AS n FROM enrichment_runs WHERE id = ${run.runId}`
        // a large run's items were just bulk-loaded: let the planner see them before its batches start
        if ((row?.n ?? 0) >= BULK_RUN_ITEMS) yield* refreshItemStatistics(sql)
        return partitionsFor(row?.n ?? 0, partitionSize, maxPartitions)
      }, orDieAfterRetries("partitioning a run"))

      return RunExecutor.of({ runBatch, complete, awaitHandOver, partitions })
    })
  )
}
