/**
 * Executes one batch of a run's items: claim a batch of pending items (`StartBatch`, recorded as
 * `ItemBatchStarted` with their ordinals; the batch key is the claim token), compute each Lead's result through
 * the catalog, write the results to the target attribute and to the items' result records (the ItemBatches
 * port), and record the outcomes (`RecordBatch`) — one transaction per step. A step re-executed after a crash
 * resumes the items its batch claimed instead of claiming new ones, and a batch already recorded only reports
 * its counts: nothing happens twice.
 *
 * Failures that do not go away (docs/ARCHITECTURE.md, "When things fail"): what a provider returns is made
 * storable before it is stored; an item whose write the store still refuses fails alone, the rest of its batch
 * is written; a store failure that may pass runs the step again (`retryStoreFailures`); a step that fails for
 * good fails its batch's items with the error (or, when it could not even claim, the run), so the run goes on to
 * settle.
 */
import { Cause, Config, Context, Effect, Layer, Result, Schema, Semaphore } from "effect"
import { storableJson, storableText } from "@enrich/domain/ClientText"
import { callWithRetry, RetryPolicyConfig } from "@enrich/domain/catalog/ProviderRetry"
import { Catalog, type CatalogEntry, type ProviderCall } from "@enrich/domain/ports/Catalog"
import { retryStoreFailures, StoreFailure } from "@enrich/domain/ports/StoreFailure"
import type { ItemOutcome, WritePolicy } from "@enrich/domain/runs/RunEvents"
import { skipReason as writeSkipReason } from "@enrich/domain/runs/WritePolicy"
import {
  type ClaimedItem,
  ItemBatches,
  type ItemKeys,
  type ItemResult,
  type LockedItem,
  type ResultContext
} from "../ports/ItemBatches.ts"
import { RunStore } from "../ports/RunStore.ts"
import { Transactions } from "../ports/Transactions.ts"
import { RunCommands } from "./RunCommands.ts"

/** What a batch did to its items. */
export interface BatchOutcome {
  readonly claimed: number
  readonly completed: number
  readonly failed: number
  readonly skipped: number
}

const nothing: BatchOutcome = { claimed: 0, completed: 0, failed: 0, skipped: 0 }

const countOutcomes = (statuses: ReadonlyArray<string>): BatchOutcome => ({
  claimed: statuses.length,
  completed: statuses.filter((s) => s === "completed").length,
  failed: statuses.filter((s) => s === "failed").length,
  skipped: statuses.filter((s) => s === "skipped").length
})

/** An item's result with nothing to store but its outcome (and maybe an error). */
const noResult = (item: ItemKeys) => ({
  item,
  result: null,
  error: null,
  leadSnapshot: null,
  providerResult: null,
  provider: null,
  providerSubmissionId: null
})

/** An item that failed with `error`: no result, nothing charged. */
const failedResult = (item: ItemKeys, error: ItemResult["error"]): ItemResult => ({
  ...noResult(item),
  error,
  outcome: { ordinal: item.ordinal, status: "failed", skippedReason: null, found: false }
})

/** An error as an item's result record stores it: storable text, bounded. */
const itemError = (message: string, details: unknown = null) => ({
  message: storableText(message, 2_000),
  details: storableJson(details)
})

/**
 * What a failure says, in one line a person can read: each message down its chain of causes (the driver's,
 * PostgreSQL's own words), each once. A StoreFailure says what its cause says.
 */
const describeFailure = (cause: Cause.Cause<unknown>): string => {
  const said: Array<string> = []
  const squashed = Cause.squash(cause)
  let error: unknown = squashed instanceof StoreFailure ? squashed.cause : squashed
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

/** The batch's write of its results was refused for good (not a failure that may pass): written item by item. */
class ResultsRefused extends Schema.TaggedError<ResultsRefused>()("ResultsRefused", { message: Schema.String }) {}

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
 * The claimed items as the write transaction found them, each with what it will write: skipped when the
 * write-policy re-check says so (the Lead went, the attribute got a value), else what was computed.
 */
const planWrites = (
  locked: ReadonlyArray<LockedItem>,
  computed: ReadonlyArray<ItemResult>,
  output: { readonly target: string; readonly writePolicy: WritePolicy }
): Array<ItemResult> => {
  const byId = new Map(computed.map((w) => [w.item.id, w]))
  return locked.map((row): ItemResult => {
    const skipped = skipReason(row, output)
    const planned = byId.get(row.id)
    const item: ItemKeys = { id: row.id, ordinal: row.ordinal, leadId: row.leadId, membershipId: row.membershipId }
    if (skipped !== null) {
      return {
        ...noResult(item),
        outcome: { ordinal: row.ordinal, status: "skipped", skippedReason: skipped, found: false }
      }
    }
    return planned === undefined ? failedResult(item, itemError("not computed")) : { ...planned, item }
  })
}

export class ExecuteBatch extends Context.Service<
  ExecuteBatch,
  {
    /**
     * Claims and executes the batch `batch` of the run (or resumes it, or reports what it did): never fails; a
     * batch that fails for good fails its items, or the run when it could not claim. The caller names who
     * records its events (CommandMetadata).
     */
    readonly run: (
      run: { readonly runId: string; readonly workspaceId: string },
      batch: string
    ) => Effect.Effect<BatchOutcome>
  }
>()("@enrich/application/runs/ExecuteBatch") {
  static readonly layer = Layer.effect(
    ExecuteBatch,
    Effect.gen(function* () {
      const runs = yield* RunCommands
      const store = yield* RunStore
      const items = yield* ItemBatches
      const transactions = yield* Transactions
      const catalog = yield* Catalog
      const batchSize = yield* Config.Int("ENRICH_BATCH_SIZE").pipe(Config.withDefault(500))
      const providerConcurrency = yield* Config.Int("ENRICH_PROVIDER_CONCURRENCY").pipe(Config.withDefault(8))
      const retryPolicy = yield* RetryPolicyConfig
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

      /**
       * Claims this batch's items, or finds the ones it claimed before a crash. A batch key claims once: a batch
       * that claimed before and has nothing running (recorded, or given back by the watchdog and maybe claimed
       * since by another batch) reports what became of its items and claims nothing under its key again.
       */
      const claim = Effect.fnUntraced(function* (runId: string, workspaceId: string, batch: string) {
        const mine = yield* items.previousClaim(batch)
        if (mine !== undefined) {
          if (mine.statuses.includes("running")) return { _tag: "Claimed" as const }
          return {
            _tag: "AlreadyRecorded" as const,
            outcome: { ...countOutcomes(mine.statuses), claimed: Math.max(mine.size, mine.statuses.length) }
          }
        }
        return yield* gated(
          runId,
          transactions.transaction(
            Effect.gen(function* () {
              // the run's stream row first, as every command on the run takes it (lock order: stream, then items)
              const known = yield* store.lock(runId)
              const counted = known.state.status === "none" ? 0 : known.state.counts.pending
              const next = yield* items.nextPending(runId, batchSize, counted)
              if (next.length === 0) return { _tag: "Nothing" as const }
              yield* runs.execute({
                runId,
                workspaceId,
                known,
                command: { _tag: "StartBatch", batch, ordinals: next, now: new Date().toISOString() }
              })
              return { _tag: "Claimed" as const }
            })
          )
        ).pipe(
          // a cancelled or failed run starts no new batch
          Effect.catchTag("RunCommandRejected", () => Effect.succeed({ _tag: "Nothing" as const }))
        )
      })

      /**
       * One provider call with the run's input, tried again while its error is retryable (the domain's
       * ProviderRetry): bounded by the entry's own `retry` policy when it has one (an operator-configured
       * vendor), else by ENRICH_PROVIDER_MAX_ATTEMPTS / ENRICH_PROVIDER_BACKOFF_MS.
       */
      const callProvider = (
        entry: CatalogEntry,
        snapshot: Record<string, unknown>,
        input: unknown,
        call: ProviderCall
      ) => callWithRetry(() => entry.execute(snapshot, input, call), entry.retry ?? retryPolicy)

      /** Computes one item's outcome, outside any transaction (the provider may be slow or remote). */
      const computeItem = Effect.fnUntraced(function* (
        claimed: ClaimedItem,
        entry: CatalogEntry | undefined,
        slug: string,
        output: { readonly target: string; readonly attributeKey: string; readonly writePolicy: WritePolicy },
        input: unknown,
        call: ProviderCall
      ) {
        const base = noResult(claimed)
        const outcome = (
          status: ItemOutcome["status"],
          skippedReason: ItemOutcome["skippedReason"],
          found = false
        ) => ({
          ordinal: claimed.ordinal,
          status,
          skippedReason,
          found
        })
        const skipped = skipReason(
          {
            leadExists: claimed.lead !== null,
            onLead: claimed.lead?.attributes[output.attributeKey],
            onMembership: claimed.membershipAttributes?.[output.attributeKey]
          },
          output
        )
        const lead = claimed.lead
        if (skipped !== null || lead === null) {
          return { ...base, outcome: outcome("skipped", skipped ?? "lead_deleted") } satisfies ItemResult
        }
        if (entry === undefined) {
          return {
            ...base,
            outcome: outcome("failed", null),
            error: { message: `Enrichment ${slug} is no longer available`, details: null }
          } satisfies ItemResult
        }
        const snapshot = entry.snapshot(lead)
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
          } satisfies ItemResult
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
        } satisfies ItemResult
      })

      /**
       * One item's write in a savepoint of the batch's transaction. Refused for good, the item fails with the
       * store's reason, stored with no result if that can be (a trigger refusing the Lead's row does not refuse
       * this one); a failure that may pass fails the batch's transaction, which runs again.
       */
      const writeAlone = (context: ResultContext, w: ItemResult) =>
        items.tryWriteResults(context, [w]).pipe(
          Effect.as(w),
          Effect.catchTag("StoreFailure", (failure) => {
            if (failure.retryable) return Effect.fail(failure)
            const failed = failedResult(
              w.item,
              itemError(`the item's result could not be stored: ${describeFailure(Cause.fail(failure))}`)
            )
            return items.tryWriteResults(context, [failed]).pipe(
              Effect.catchTag("StoreFailure", (again) =>
                again.retryable
                  ? Effect.fail(again)
                  : Effect.logWarning("an item's error could not be stored either", describeFailure(Cause.fail(again)))
              ),
              Effect.as(failed)
            )
          })
        )

      /** Computes and records the results of this batch's running items. */
      const execute = Effect.fnUntraced(function* (runId: string, workspaceId: string, batch: string) {
        const run = yield* items.target(runId)
        // 1. read the batch's items and Leads, and call the provider for them outside any transaction,
        //    a bounded number at a time (a crash here repeats the calls, never their effects)
        const read = yield* items.claimedItems(batch)
        if (read.length === 0 || run === undefined) return nothing
        const entry = catalog.find(run.slug)
        const computed = yield* Effect.forEach(
          read,
          (claimed) => computeItem(claimed, entry, run.slug, run.output, run.input, { workspaceId }),
          // an entry may ask for more at once (a bulk API fills its batches from concurrent calls)
          { concurrency: entry?.concurrency ?? providerConcurrency }
        )
        // 2. write it all in one transaction, re-checking each item as it is now (still ours, Lead still
        //    there, attribute still empty under skip_existing). A write the store refuses for good (a value it
        //    cannot store, a trigger that raises for one Lead) is done again item by item: an item it still
        //    refuses fails with the reason, and the rest of the batch is stored.
        const record = (itemByItem: boolean) =>
          gated(
            runId,
            transactions.transaction(
              Effect.gen(function* () {
                // the batch's row first (the watchdog and a Lead's erasure take it first too): its items are then
                // re-checked and recorded with no lock of their own, while the run's other batches record too (lock
                // order: the batch, its items, their Leads, then the run's stream row, at the append)
                if (!(yield* items.lockBatch(batch))) return nothing
                const locked = yield* items.recheckClaimed(batch, run.output.attributeKey)
                if (locked.length === 0) return nothing
                const planned = planWrites(locked, computed, run.output)
                const context: ResultContext = {
                  runId,
                  batch,
                  workspaceId,
                  output: run.output,
                  recordedAt: new Date().toISOString()
                }
                const writes: ReadonlyArray<ItemResult> = itemByItem
                  ? yield* Effect.forEach(planned, (w) => writeAlone(context, w))
                  : yield* items.writeResults(context, planned).pipe(
                      Effect.as(planned),
                      Effect.mapError((failure): StoreFailure | ResultsRefused =>
                        failure.retryable
                          ? failure
                          : new ResultsRefused({ message: describeFailure(Cause.fail(failure)) })
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
       * A batch whose step failed for good (after its retries): its items still running fail with the reason,
       * so the run goes on and settles. A batch that claimed nothing could not claim: the run cannot make
       * progress, and fails (its pending items are skipped; running ones of other batches finish).
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
            transactions.transaction(
              Effect.gen(function* () {
                const running = (yield* items.lockBatch(batch)) ? yield* items.runningUnder(batch) : []
                const now = new Date().toISOString()
                if (running.length === 0) {
                  if (!(yield* items.wasClaimed(batch))) {
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
                const writes = running.map((item) => failedResult(item, itemError(`the batch failed: ${reason}`)))
                const context: ResultContext = {
                  runId: run.runId,
                  batch,
                  workspaceId: run.workspaceId,
                  output: { target: "none", attributeKey: "" },
                  recordedAt: now
                }
                // the reason, where it can be stored (what failed may be this very write)
                yield* items
                  .tryWriteResults(context, writes)
                  .pipe(
                    Effect.catchTag("StoreFailure", (failure) =>
                      failure.retryable
                        ? Effect.fail(failure)
                        : Effect.logWarning(
                            "a failed batch's errors could not be stored",
                            describeFailure(Cause.fail(failure))
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
        }).pipe(retryStoreFailures)

      const runBatch = Effect.fn("ExecuteBatch.run")(
        function* (run: { readonly runId: string; readonly workspaceId: string }, batch: string) {
          const claimed = yield* claim(run.runId, run.workspaceId, batch)
          if (claimed._tag === "Nothing") return nothing
          if (claimed._tag === "AlreadyRecorded") return claimed.outcome
          return yield* execute(run.runId, run.workspaceId, batch)
        },
        (effect, run, batch) =>
          effect.pipe(
            Effect.tap((outcome) => Effect.logDebug("batch executed", outcome)),
            retryStoreFailures,
            // a batch that still fails, fails its items (or its run, when it could not claim): the run goes on
            Effect.catchCause((cause) =>
              Cause.hasInterrupts(cause) ? Effect.failCause(cause) : failBatch(run, batch, cause)
            ),
            Effect.annotateLogs({ runId: run.runId, batch })
          ),
        Effect.orDie
      )

      return ExecuteBatch.of({ run: runBatch })
    })
  )
}
