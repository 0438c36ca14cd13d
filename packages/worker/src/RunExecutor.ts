/**
 * Executes a run's items in batches: claim a batch of pending items (recorded
 * as `ItemBatchStarted` with their ordinals; the batch key is the claim
 * token), compute each Lead's result through the catalog, write results to the
 * target attribute and to `item_results`, and record the outcomes
 * (`ItemBatchRecorded`) — one transaction per step. A step re-executed after a
 * crash resumes the items its batch claimed instead of claiming new ones, and
 * a batch already recorded only reports its counts: nothing happens twice.
 *
 * Failures that do not go away (docs/ARCHITECTURE.md, "When things fail"): what
 * a provider returns is made storable before it is stored; an item whose write
 * PostgreSQL still refuses fails alone, the rest of its batch is written; a
 * step that fails for good fails its batch's items with the error (or, when
 * it could not even claim, the run), so the run goes on to settle. Whatever
 * executes a run holds a lease on it (`holding`), which the run watchdog reads.
 */
import { Cause, Config, Context, Effect, Layer, Result, Schema, Semaphore } from "effect"
import { hostname } from "node:os"
import { SqlClient, type SqlError, type Statement } from "effect/sql"
import { storableJson, storableText } from "@enrich/domain/ClientText"
import type { LeadFields } from "@enrich/domain/leads/Lead"
import { CommandMetadata } from "@enrich/domain/ports/EventStore"
import type { ItemOutcome, WritePolicy } from "@enrich/domain/runs/RunEvents"
import { skipReason as writeSkipReason } from "@enrich/domain/runs/WritePolicy"
import { BULK_RUN_ITEMS, refreshItemStatistics } from "@enrich/adapters/postgres/projections/RunProjection"
import { textArray } from "@enrich/adapters/postgres/TextArray"
import { RunStore } from "@enrich/application/ports/RunStore"
import { RunCommands } from "@enrich/application/runs/RunCommands"
import { Finish, SettleRun } from "@enrich/application/runs/SettleRun"
import { Catalog, type CatalogEntry, type ProviderCall } from "@enrich/domain/ports/Catalog"
import type { BatchOutcome } from "@enrich/adapters/engine/RunWorkflow"
import { awaitHandOver as awaitHandOverLock } from "@enrich/adapters/engine/HandOver"
import { callWithRetry } from "@enrich/domain/catalog/ProviderRetry"
import { renewLease } from "@enrich/adapters/postgres/RunLeases"
import { LeaseConfig } from "@enrich/application/ports/RunLiveness"
import { retryTransient } from "@enrich/adapters/postgres/Transient"

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

/** An item's write with nothing to store but its outcome (and maybe an error). */
const noResult = (row: ItemKeys) => ({
  row,
  result: null,
  error: null,
  leadSnapshot: null,
  providerResult: null,
  provider: null,
  providerSubmissionId: null
})

/** An item that failed with `error`: no result, nothing charged. */
const failedWrite = (row: ItemKeys, error: ItemWrite["error"]): ItemWrite => ({
  ...noResult(row),
  error,
  outcome: { ordinal: row.ordinal, status: "failed", skippedReason: null, found: false }
})

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

/** `retryTransient`, then a step that still fails dies. */
const orDieAfterRetries =
  (step: string) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, never, R> =>
    Effect.orDie(retryTransient(step)(effect))

/**
 * What a failure says, in one line a person can read: each message down its chain of causes (a store's
 * error, the driver's, PostgreSQL's own words), each once.
 */
const describeFailure = (cause: Cause.Cause<unknown>): string => {
  const said: Array<string> = []
  let error: unknown = Cause.squash(cause)
  for (let depth = 0; depth < 6 && error !== undefined && error !== null; depth++) {
    const text =
      error instanceof Error
        ? depth === 0 && error.name !== "Error"
          ? `${error.name}: ${error.message}`
          : error.message
        : typeof error === "object"
          ? undefined
          : String(error)
    if (text !== undefined && text !== "" && !said.some((s) => s.includes(text))) said.push(text)
    error = typeof error === "object" ? (error as { readonly cause?: unknown }).cause : undefined
  }
  return said.join(": ")
}

/** An error as item_results stores it: storable text, bounded. */
const itemError = (message: string, details: unknown = null) => ({
  message: storableText(message, 2_000),
  details: storableJson(details)
})

/** The batch's write of its results was refused for good (not a transient failure): written item by item. */
class ResultsRefused extends Schema.TaggedError<ResultsRefused>()("ResultsRefused", { message: Schema.String }) {}

/** What is left of a run once a holder's loop claims nothing (see RunLoop.ts). */
export { Finish }

export class RunExecutor extends Context.Service<
  RunExecutor,
  {
    readonly runBatch: (
      run: { readonly runId: string; readonly workspaceId: string },
      batch: string
    ) => Effect.Effect<BatchOutcome>
    readonly complete: (run: { readonly runId: string; readonly workspaceId: string }) => Effect.Effect<void>
    /**
     * After a holder's loop claimed nothing: completes and settles the run when every item is terminal
     * ("ended", also for a run settled already), or says what is left — pending items to claim ("claim": items
     * a lost batch gave back), or items running in other holders' batches ("wait", after a pause).
     */
    readonly finish: (run: { readonly runId: string; readonly workspaceId: string }) => Effect.Effect<Finish>
    /**
     * `effect` as the run's holder `holder`: its lease is taken, and renewed every third of
     * ENRICH_RUN_LEASE_SECONDS while `effect` runs; then left to expire (it covers the moment until whatever
     * waits for this holder goes on).
     */
    readonly holding: <A, E, R>(
      run: { readonly runId: string; readonly workspaceId: string },
      holder: string,
      effect: Effect.Effect<A, E, R>
    ) => Effect.Effect<A, E, R>
    /** How many partitions (child workflows, possibly on other runners) share this run. */
    readonly partitions: (run: { readonly runId: string; readonly workspaceId: string }) => Effect.Effect<number>
    /**
     * Whether the run exists. The dispatch commits a run before it calls an engine outside the database
     * (Trigger.dev), so a task finds its run; an API process of an earlier version called inside its
     * transaction, so the task first waits for any such transaction to end (./HandOver.ts): `false` means the
     * trigger outlived a dispatch that never stored the run.
     */
    readonly awaitHandOver: (run: { readonly runId: string; readonly workspaceId: string }) => Effect.Effect<boolean>
  }
>()("@enrich/worker/RunExecutor") {
  static readonly layer = Layer.effect(
    RunExecutor,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const runs = yield* RunCommands
      const store = yield* RunStore
      const catalog = yield* Catalog
      const batchSize = yield* Config.Int("ENRICH_BATCH_SIZE").pipe(Config.withDefault(500))
      const providerConcurrency = yield* Config.Int("ENRICH_PROVIDER_CONCURRENCY").pipe(Config.withDefault(8))
      const maxAttempts = yield* Config.Int("ENRICH_PROVIDER_MAX_ATTEMPTS").pipe(Config.withDefault(3))
      const backoffMs = yield* Config.Int("ENRICH_PROVIDER_BACKOFF_MS").pipe(Config.withDefault(100))
      const partitionSize = yield* Config.Int("ENRICH_PARTITION_SIZE").pipe(Config.withDefault(10_000))
      const maxPartitions = yield* Config.Int("ENRICH_MAX_PARTITIONS").pipe(Config.withDefault(8))
      const runWriters = yield* Config.Int("ENRICH_RUN_WRITERS").pipe(Config.withDefault(3))
      const { leaseMs } = yield* LeaseConfig
      const settle = yield* SettleRun

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

      /**
       * Claims this batch's items, or finds the ones it claimed before a crash. A batch key claims once: a batch
       * that claimed before and has nothing running (recorded, or given back by the watchdog and maybe claimed
       * since by another batch) reports what became of its items and claims nothing under its key again.
       */
      const claim = Effect.fnUntraced(function* (runId: string, workspaceId: string, batch: string) {
        const [mine] = yield* sql<{ size: number; statuses: Array<string> }>`
          SELECT cardinality(b.ordinals) AS size,
            coalesce(array_agg(i.status) FILTER (WHERE i.status IS NOT NULL), '{}') AS statuses
          FROM run_batches b
          LEFT JOIN run_items i ON i.run_id = b.run_id AND i.ordinal = ANY(b.ordinals) AND i.claim_token = b.batch
          WHERE b.batch = ${batch}
          GROUP BY b.ordinals`
        if (mine !== undefined) {
          if (mine.statuses.includes("running")) return { _tag: "Claimed" as const }
          return {
            _tag: "AlreadyRecorded" as const,
            outcome: { ...countOutcomes(mine.statuses), claimed: Math.max(mine.size, mine.statuses.length) }
          }
        }
        return yield* gated(
          runId,
          sql.withTransaction(
            Effect.gen(function* () {
              // the run's stream row first, as every command on the run takes it (lock order: stream, then items)
              const known = yield* store.lock(runId)
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
      const callProvider = (
        entry: CatalogEntry,
        snapshot: Record<string, unknown>,
        input: unknown,
        call: ProviderCall
      ) => callWithRetry(() => entry.execute(snapshot, input, call), entry.retry ?? { maxAttempts, backoffMs })

      /** Computes one item's outcome, outside any transaction (the provider may be slow or remote). */
      const computeItem = Effect.fnUntraced(function* (
        row: ClaimedRow,
        entry: CatalogEntry | undefined,
        slug: string,
        output: { readonly target: string; readonly attributeKey: string; readonly writePolicy: WritePolicy },
        input: unknown,
        call: ProviderCall
      ) {
        const base = noResult(row)
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
        const { attempts, result } = yield* callProvider(entry, snapshot, input, call)
        // whatever a provider answers is made storable here (no NUL, no lone surrogate, bounded), whichever
        // provider it is: PostgreSQL refuses such text in jsonb, and a refused write must not be the run's end
        if (Result.isFailure(result)) {
          return {
            ...base,
            outcome: outcome("failed", null),
            leadSnapshot: snapshot,
            error: itemError(result.failure.message, {
              attempts,
              retryable: result.failure.retryable,
              provider: result.failure.details ?? null
            })
          } satisfies ItemWrite
        }
        const answer = result.success
        const stored = storableJson(answer.result)
        return {
          ...base,
          outcome: outcome("completed", null, answer.found),
          result: stored,
          leadSnapshot: snapshot,
          // a built-in's raw answer is its result: kept the same object, so it is not stored twice
          providerResult: answer.raw === answer.result ? stored : storableJson(answer.raw),
          provider: answer.provider === null ? null : storableText(answer.provider, 200),
          providerSubmissionId:
            answer.providerSubmissionId === null ? null : storableText(answer.providerSubmissionId, 500)
        } satisfies ItemWrite
      })

      /** What writing a batch's results needs besides the items. */
      interface WriteContext {
        readonly runId: string
        readonly workspaceId: string
        readonly input: unknown
        readonly output: { readonly target: string; readonly attributeKey: string }
        readonly recordedAt: string
      }

      /**
       * The claimed items as the write transaction found them, each with what it will write: skipped when the
       * write-policy re-check says so (the Lead went, the attribute got a value), else what was computed.
       */
      const planWrites = (
        rows: ReadonlyArray<LockedRow>,
        computed: ReadonlyArray<ItemWrite>,
        output: { readonly target: string; readonly writePolicy: WritePolicy }
      ): Array<ItemWrite> => {
        const byId = new Map(computed.map((w) => [w.row.id, w]))
        return rows.map((row): ItemWrite => {
          const skipped = skipReason(
            { leadExists: row.lead_type !== null, onLead: row.lead_existing, onMembership: row.membership_existing },
            output
          )
          const planned = byId.get(row.id)
          const keys = { id: row.id, ordinal: row.ordinal, lead_id: row.lead_id, membership_id: row.membership_id }
          if (skipped !== null) {
            return {
              ...noResult(keys),
              outcome: { ordinal: row.ordinal, status: "skipped", skippedReason: skipped, found: false }
            }
          }
          return planned === undefined ? failedWrite(keys, itemError("not computed")) : { ...planned, row: keys }
        })
      }

      /**
       * One statement writes the batch's result rows and its completed values to the target attribute, from one
       * payload (see the comment inside).
       */
      const writeResults = (context: WriteContext, writes: ReadonlyArray<ItemWrite>) => {
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
            WHERE l.id = ANY(${textArray(writes.map((w) => w.row.lead_id))}::text[])
              AND (l.workspace_id = ${context.workspaceId}) IS TRUE
          )
          ON CONFLICT (item_id) DO UPDATE SET result = excluded.result, error = excluded.error,
            lead_snapshot = excluded.lead_snapshot, provider_result = excluded.provider_result,
            provider_result_is_result = excluded.provider_result_is_result, provider = excluded.provider,
            provider_submission_id = excluded.provider_submission_id, recorded_at = excluded.recorded_at
        )${targetRows.length === 0 ? sql`` : sql`, ${sql.join(", ", false)(targetRows)}`}
        SELECT 1`.pipe(Effect.asVoid)
      }

      /**
       * One item's write in a savepoint of the batch's transaction. Refused for good, the item fails with
       * PostgreSQL's reason, stored with no result if that can be (a trigger refusing the Lead's row does not
       * refuse this one); a transient failure fails the batch's transaction, which runs again.
       */
      const writeAlone = (context: WriteContext, w: ItemWrite) =>
        sql.withTransaction(writeResults(context, [w])).pipe(
          Effect.as(w),
          Effect.catchTag("SqlError", (error) => {
            if (error.isRetryable) return Effect.fail(error)
            const failed = failedWrite(
              w.row,
              itemError(`the item's result could not be stored: ${describeFailure(Cause.fail(error))}`)
            )
            return sql.withTransaction(writeResults(context, [failed])).pipe(
              Effect.catchTag("SqlError", (again) =>
                again.isRetryable
                  ? Effect.fail(again)
                  : Effect.logWarning("an item's error could not be stored either", describeFailure(Cause.fail(again)))
              ),
              Effect.as(failed)
            )
          })
        )

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
          (row) => computeItem(row, entry, run.slug, run.output, run.input, { workspaceId }),
          // an entry may ask for more at once (a bulk API fills its batches from concurrent calls)
          { concurrency: entry?.concurrency ?? providerConcurrency }
        )
        // 2. write it all in one transaction, re-checking each item as it is now (still ours, Lead still
        //    there, attribute still empty under skip_existing). A write PostgreSQL refuses for good (a value it
        //    cannot store, a trigger that raises for one Lead) is done again item by item: an item it still
        //    refuses fails with the reason, and the rest of the batch is stored.
        const record = (itemByItem: boolean) =>
          gated(
            runId,
            sql.withTransaction(
              Effect.gen(function* () {
                const rows = yield* lockedRows(run.output.attributeKey)
                if (rows.length === 0) return nothing
                const planned = planWrites(rows, computed, run.output)
                const context: WriteContext = {
                  runId,
                  workspaceId,
                  input: run.input,
                  output: run.output,
                  recordedAt: new Date().toISOString()
                }
                const writes: ReadonlyArray<ItemWrite> = itemByItem
                  ? yield* Effect.forEach(planned, (w) => writeAlone(context, w))
                  : yield* writeResults(context, planned).pipe(
                      Effect.as(planned),
                      Effect.mapError((error): SqlError.SqlError | ResultsRefused =>
                        error.isRetryable ? error : new ResultsRefused({ message: describeFailure(Cause.fail(error)) })
                      )
                    )
                yield* runs.execute({
                  runId,
                  workspaceId,
                  command: {
                    _tag: "RecordBatch",
                    batch,
                    outcomes: writes.map((w) => w.outcome),
                    now: context.recordedAt
                  }
                })
                return countOutcomes(writes.map((w) => w.outcome.status))
              })
            )
          )
        return yield* record(false).pipe(
          Effect.catchTag("ResultsRefused", (refused) =>
            Effect.andThen(
              Effect.logWarning("a batch's results were refused; writing them item by item", refused.message),
              record(true)
            )
          )
        )
      })

      /**
       * A batch whose step failed for good (after its transient retries): its items still running fail with
       * the reason, so the run goes on and settles. A batch that claimed nothing could not claim: the run cannot
       * make progress, and fails (its pending items are skipped; running ones of other batches finish).
       */
      const failBatch = (
        run: { readonly runId: string; readonly workspaceId: string },
        batch: string,
        cause: Cause.Cause<unknown>
      ) =>
        Effect.gen(function* () {
          const reason = describeFailure(cause)
          yield* Effect.logError("a batch failed for good; its items fail", cause)
          return yield* gated(
            run.runId,
            sql.withTransaction(
              Effect.gen(function* () {
                const rows = yield* sql<ItemKeys>`
                  SELECT i.id, i.ordinal, i.lead_id, i.membership_id FROM run_batches b
                  JOIN run_items i ON i.run_id = b.run_id AND i.ordinal = ANY(b.ordinals)
                  WHERE b.batch = ${batch} AND i.claim_token = ${batch} AND i.status = 'running'
                  ORDER BY i.ordinal
                  FOR UPDATE OF i`
                const now = new Date().toISOString()
                if (rows.length === 0) {
                  const claimed = yield* sql`SELECT 1 AS claimed FROM run_batches WHERE batch = ${batch}`
                  if (claimed.length === 0) {
                    yield* runs
                      .execute({
                        runId: run.runId,
                        workspaceId: run.workspaceId,
                        command: {
                          _tag: "FailRun",
                          message: storableText(`a batch could not be claimed: ${reason}`, 2_000),
                          now
                        }
                      })
                      .pipe(Effect.catchTag("RunCommandRejected", () => Effect.void))
                  }
                  return nothing
                }
                const writes = rows.map((row) => failedWrite(row, itemError(`the batch failed: ${reason}`)))
                const context: WriteContext = {
                  runId: run.runId,
                  workspaceId: run.workspaceId,
                  input: null,
                  output: { target: "none", attributeKey: "" },
                  recordedAt: now
                }
                // the reason, where it can be stored (what failed may be this very write)
                yield* sql
                  .withTransaction(writeResults(context, writes))
                  .pipe(
                    Effect.catchTag("SqlError", (error) =>
                      error.isRetryable
                        ? Effect.fail(error)
                        : Effect.logWarning(
                            "a failed batch's errors could not be stored",
                            describeFailure(Cause.fail(error))
                          )
                    )
                  )
                yield* runs.execute({
                  runId: run.runId,
                  workspaceId: run.workspaceId,
                  command: { _tag: "RecordBatch", batch, outcomes: writes.map((w) => w.outcome), now }
                })
                return countOutcomes(writes.map((w) => w.outcome.status))
              })
            )
          )
        }).pipe(
          Effect.provideService(CommandMetadata, { actor: workerActor, causationId: batch }),
          retryTransient("failing a batch")
        )

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
            // a batch that still fails, fails its items (or its run, when it could not claim): the run goes on
            Effect.catchCause((cause) =>
              Cause.hasInterrupts(cause) ? Effect.failCause(cause) : failBatch(run, batch, cause)
            ),
            Effect.annotateLogs({ runId: run.runId, batch })
          ),
        Effect.orDie
      )

      // the end of a run is the application's (SettleRun); the worker says who recorded it
      const asWorker = Effect.provideService(CommandMetadata, { actor: workerActor })
      const finish = (run: { readonly runId: string; readonly workspaceId: string }) => asWorker(settle.finish(run))

      const holding: RunExecutor["Service"]["holding"] = (run, holder, effect) =>
        Effect.scoped(
          Effect.gen(function* () {
            const renew = renewLease(sql, run.runId, holder, leaseMs)
            yield* renew.pipe(retryTransient("taking a run's lease"), Effect.orDie)
            yield* renew.pipe(
              Effect.delay(Math.max(50, Math.floor(leaseMs / 3))),
              Effect.tapCause((cause) => Effect.logWarning("renewing a run's lease failed", cause)),
              Effect.ignore,
              Effect.forever,
              Effect.forkScoped
            )
            return yield* effect
          })
        )

      const complete = (run: { readonly runId: string; readonly workspaceId: string }) => asWorker(settle.complete(run))

      const awaitHandOver = Effect.fn("RunExecutor.awaitHandOver")(function* (run: {
        readonly runId: string
        readonly workspaceId: string
      }) {
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* awaitHandOverLock(sql, run.runId)
            const state = yield* store.load(run.runId)
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

      return RunExecutor.of({ runBatch, complete, finish, holding, awaitHandOver, partitions })
    })
  ).pipe(Layer.provide(SettleRun.layer))
}
