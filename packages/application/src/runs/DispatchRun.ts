/**
 * The dispatch use case: one transaction resolves and freezes the scope and
 * writes the run's items (one statement, one pass over the scope), plans,
 * reserves credits, appends the run's events, records the idempotency key and
 * hands the run to the engine (whose message row is the outbox). After commit
 * the engine is woken. An engine outside the database (Trigger.dev) is called
 * only after that commit, with no transaction open (so no lock of the
 * workspace's is held during the call), and its outcome is appended in a
 * second short transaction (docs/DECISIONS.md 16). A preview runs the same
 * planning and writes nothing.
 */
import { Context, Effect, Layer, Option, Predicate, Result, Schema } from "effect"
import { createHash } from "node:crypto"
import type { OutputTarget } from "@enrich/domain/catalog/Enrichment"
import type { InsufficientCredits } from "@enrich/domain/credits/CreditAccount"
import { canAfford } from "@enrich/domain/credits/CreditPolicy"
import { Dispatcher, type DispatchFailed } from "@enrich/domain/ports/Dispatcher"
import { fingerprintSource, judgeKey } from "@enrich/domain/runs/Idempotency"
import { plan, PlanRejected, resolveOutput } from "@enrich/domain/runs/Planner"
import { type Freshness, freshResultOf } from "@enrich/domain/runs/Freshness"
import type { RunCommand } from "@enrich/domain/runs/Run"
import { type PlannedScope, requestedScope } from "@enrich/domain/runs/Scope"
import type { WritePolicy } from "@enrich/domain/runs/RunEvents"
import { uuidv7 } from "@enrich/domain/Ids"
import { ALL_LIST_ID } from "@enrich/domain/ports/LeadRecords"
import { RunScope } from "@enrich/domain/ports/RunScope"
import { FilterInvalid, parseLeadFilter } from "@enrich/domain/leads/LeadFilter"
import { IdempotencyKeys } from "../ports/IdempotencyKeys.ts"
import { RunDirectory } from "../ports/RunDirectory.ts"
import { RunStore } from "../ports/RunStore.ts"
import { Transactions } from "../ports/Transactions.ts"
import { RunCommands } from "./RunCommands.ts"
import { CreditLedger } from "@enrich/domain/ports/CreditLedger"
import { Catalog, type CatalogEntry, decodeEntryInput } from "@enrich/domain/ports/Catalog"

export interface DispatchRequest {
  readonly enrichmentId: string
  /** one of the contract's scopes, or a retry's (RetryRun.ts: the failed items of `scope.sourceRunId`) */
  readonly scope: PlannedScope
  readonly mode: "persisted" | "preview"
  readonly input: { readonly [key: string]: unknown }
  readonly output:
    | { readonly target?: OutputTarget | undefined; readonly attributeKey?: string | undefined }
    | undefined
  readonly writePolicy: WritePolicy
  readonly displayRequest: { readonly fieldId: string } | undefined
  readonly idempotencyKey: string | undefined
  /** skip Leads with a fresh result of the same enrichment (domain/runs/Freshness.ts) */
  readonly freshness?: Freshness | undefined
}

/** A persisted dispatch: the run it made, or the run its idempotency key made before (`reused`). */
export interface RunAccepted {
  readonly _tag: "Accepted"
  readonly runId: string
  /** the run's status now (`pending` after a fresh hand-over) */
  readonly status: string
  readonly leadCount: number
  /** the engine's id of the run (Trigger.dev's), when it has one */
  readonly triggerRunId: string | null
  /** an earlier dispatch with the same idempotency key and request made this run */
  readonly reused: boolean
}

/** A preview: what the run would be and cost; nothing was written. */
export interface RunPreviewed {
  readonly _tag: "Previewed"
  readonly leadCount: number
  /** with a freshness window: the Leads it would skip (not charged: `cost.required` leaves them out) */
  readonly freshCount: number | undefined
  readonly cost: {
    readonly creditAction: string
    readonly unitCost: number
    readonly required: number
    readonly balance: number
    readonly sufficient: boolean
  }
}

export class EnrichmentNotFound extends Schema.TaggedError<EnrichmentNotFound>()("EnrichmentNotFound", {
  enrichmentId: Schema.String
}) {}
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()("IdempotencyKeyReused", {
  key: Schema.String
}) {}
export class IdempotencyKeyInUse extends Schema.TaggedError<IdempotencyKeyInUse>()("IdempotencyKeyInUse", {
  key: Schema.String
}) {}
/** The engine refused the hand-over: the run exists, is failed, and its reservation is released. */
export class RunDispatchFailed extends Schema.TaggedError<RunDispatchFailed>()("RunDispatchFailed", {
  enrichmentRunId: Schema.String,
  triggerRunId: Schema.NullOr(Schema.String),
  message: Schema.String
}) {}

/** What a run's hand-over came to: its status and the engine's id for it, or the failure that failed it. */
interface HandedOver {
  readonly status: string
  readonly triggerRunId: string | null
  readonly failure: string | undefined
}

/** The idempotency key's claim found it taken (inside the dispatch transaction, which then rolls back). */
class KeyTaken extends Schema.TaggedError<KeyTaken>()("KeyTaken", { key: Schema.String }) {}
class PreviewDone extends Schema.TaggedError<PreviewDone>()("PreviewDone", {
  leadCount: Schema.Int,
  fresh: Schema.Int,
  required: Schema.Int
}) {}

/**
 * The run input as the enrichment accepts it (its `input` Schema: unknown keys
 * refused, defaults applied), or 400 INPUT_INVALID naming every offending path
 * (`input.min_likelihood`). An enrichment without one takes no input.
 */
export const decodeRunInput = (
  entry: CatalogEntry,
  input: { readonly [key: string]: unknown }
): { readonly [key: string]: unknown } | PlanRejected => {
  const slug = entry.contract.slug
  const decoded = decodeEntryInput(entry, input, "input")
  if (Result.isSuccess(decoded)) {
    const value = decoded.success
    return typeof value === "object" && value !== null ? (value as { readonly [key: string]: unknown }) : {}
  }
  const refusal = decoded.failure
  if (refusal._tag === "NoInputTaken") {
    const keys = refusal.keys
    return new PlanRejected({
      code: "INPUT_INVALID",
      message: `Enrichment ${slug} takes no input; unexpected: ${keys.join(", ")}`,
      details: {
        issues: keys.slice(0, 100).map((k) => ({ path: `input.${k}`, message: "unexpected key" })),
        paths: keys.slice(0, 100).map((k) => `input.${k}`),
        total: keys.length
      }
    })
  }
  const issues = refusal.issues
  const first = issues[0]
  return new PlanRejected({
    code: "INPUT_INVALID",
    message: `Invalid input for ${slug}${first === undefined ? "" : `: ${first.path}: ${first.message}`}`,
    details: { issues: issues.slice(0, 100), paths: issues.slice(0, 100).map((i) => i.path), total: issues.length }
  })
}

export type DispatchError =
  | EnrichmentNotFound
  | PlanRejected
  | InsufficientCredits
  | IdempotencyKeyReused
  | IdempotencyKeyInUse
  | RunDispatchFailed

export class DispatchRun extends Context.Service<
  DispatchRun,
  {
    readonly dispatch: (
      workspaceId: string,
      request: DispatchRequest
    ) => Effect.Effect<RunAccepted | RunPreviewed, DispatchError>
  }
>()("@enrich/application/runs/DispatchRun") {
  static readonly layer = Layer.effect(
    DispatchRun,
    Effect.gen(function* () {
      const transactions = yield* Transactions
      const keys = yield* IdempotencyKeys
      const directory = yield* RunDirectory
      const catalog = yield* Catalog
      const scopes = yield* RunScope
      const runs = yield* RunCommands
      const ledger = yield* CreditLedger
      const dispatcher = yield* Dispatcher

      const listExists = (workspaceId: string, listId: string) =>
        listId === ALL_LIST_ID ? Effect.succeed(true) : scopes.listExists(workspaceId, listId)

      /** The run a stored key made, answered as its dispatch answered (the key's row and its run commit together). */
      const replay = (workspaceId: string, runId: string) =>
        Effect.map(
          directory.find(runId, workspaceId),
          (run): RunAccepted => ({
            _tag: "Accepted",
            runId,
            status: run!.status,
            leadCount: run!.leadCount,
            triggerRunId: run!.triggerRunId,
            reused: true
          })
        )

      /**
       * A stored `key`'s answer: the replay of its run (the same request) or KeyReused (another one);
       * undefined when the key is not stored.
       */
      const judgeStoredKey = (workspaceId: string, key: string, fingerprint: string) =>
        Effect.gen(function* () {
          const verdict = judgeKey(yield* keys.find(workspaceId, key), fingerprint)
          if (verdict._tag === "Replay") return yield* replay(workspaceId, verdict.runId)
          if (verdict._tag === "KeyReused") return yield* new IdempotencyKeyReused({ key })
          return undefined
        })

      /** The stored key's answer (replay or KeyReused), or `otherwise` when the key is not stored. */
      const storedOr = <E>(workspaceId: string, key: string, fingerprint: string, otherwise: () => E) =>
        judgeStoredKey(workspaceId, key, fingerprint).pipe(Effect.filterOrFail(Predicate.isNotUndefined, otherwise))

      /** The hand-over's outcome as the run's next command. */
      const recordHandOver = (outcome: Result.Result<{ readonly triggerRunId: string }, DispatchFailed>) =>
        Result.isFailure(outcome)
          ? ({ _tag: "FailDispatch", message: outcome.failure.message, now: new Date().toISOString() } as const)
          : ({
              _tag: "RecordDispatch",
              engine: dispatcher.engine,
              triggerRunId: outcome.success.triggerRunId,
              now: new Date().toISOString()
            } as const)

      /** What the hand-over came to: the run's status and engine id, or the failure that failed the run. */
      const handedOverAs = (
        outcome: Result.Result<{ readonly triggerRunId: string }, DispatchFailed>,
        status: string
      ): HandedOver =>
        Result.isFailure(outcome)
          ? { status: "failed", triggerRunId: null, failure: outcome.failure.message }
          : { status, triggerRunId: outcome.success.triggerRunId, failure: undefined }

      /**
       * The hand-over to an engine outside the database, once the run is committed (pending, its credits held):
       * the call with no transaction open, then its outcome appended in a short transaction of its own —
       * `RecordDispatch`, or `FailDispatch` (the run fails, its whole reservation released). The engine's task may
       * have started the run meanwhile, or a cancel ended it: the hand-over is then recorded all the same, and a
       * failed call (one that timed out but went through, or a cancelled run) is refused by the decider and the
       * run answered as it is. A process that dies before the call leaves the run pending and not dispatched:
       * the run watchdog fails its hand-over after a lease (docs/DECISIONS.md 16).
       */
      const handOverCommitted = (runId: string, workspaceId: string) =>
        Effect.gen(function* () {
          const outcome = yield* Effect.result(dispatcher.dispatch({ runId, workspaceId }))
          const command = recordHandOver(outcome)
          return yield* runs.execute({ runId, workspaceId, command }).pipe(
            Effect.map(({ state }) => handedOverAs(outcome, state.status)),
            Effect.catchTag("RunCommandRejected", (rejected) =>
              command._tag === "FailDispatch" && rejected.reason === "run_not_awaiting_dispatch"
                ? Effect.succeed<HandedOver>({ status: rejected.status, triggerRunId: null, failure: undefined })
                : Effect.die(rejected)
            ),
            Effect.catchTags({
              WrongExpectedVersion: Effect.die,
              CreditCommandRejected: Effect.die,
              InsufficientCredits: Effect.die
            })
          )
        })

      const dispatch = Effect.fn("DispatchRun.dispatch")(
        function* (workspaceId: string, request: DispatchRequest) {
          const fingerprint = createHash("sha256")
            .update(fingerprintSource({ ...request, displayRequest: request.displayRequest ?? null }))
            .digest("hex")
          const key = request.mode === "persisted" ? request.idempotencyKey : undefined
          const entry = catalog.find(request.enrichmentId)
          // a refusal before the transaction: a stored key is judged first (its replay answers even if the
          // enrichment left the catalog since), then the refusal
          const refuse = <E>(refusal: E) =>
            key === undefined ? Effect.fail(refusal) : storedOr(workspaceId, key, fingerprint, () => refusal)
          if (entry === undefined) return yield* refuse(new EnrichmentNotFound({ enrichmentId: request.enrichmentId }))
          const contract = entry.contract
          const input = decodeRunInput(entry, request.input)
          if (input instanceof PlanRejected) return yield* refuse(input)
          const runId = uuidv7()
          const scope = request.scope
          const parsedFilter =
            scope.type === "filtered_list"
              ? parseLeadFilter(scope.filter, { concreteList: scope.listId !== ALL_LIST_ID })
              : undefined
          const filter = parsedFilter instanceof FilterInvalid ? undefined : parsedFilter
          // the freshness window's match, for the output the plan will resolve (a refused output plans nothing)
          const output = resolveOutput(contract, scope, request.output)
          const freshAt = (now: string) =>
            output instanceof PlanRejected
              ? undefined
              : freshResultOf(request.freshness, now, {
                  enrichmentSlug: contract.slug,
                  enrichmentVersion: contract.version,
                  target: output.target,
                  attributeKey: output.attributeKey,
                  listId: scope.listId
                })
          // persisted: `requestedAt` freezes the scope and writes the run's items in the same statement
          const planned = (requestedAt: string | undefined) =>
            Effect.gen(function* () {
              if (scope.type === "filtered_list" && parsedFilter instanceof FilterInvalid) {
                // the contract's order: LIST_NOT_FOUND before FILTER_INVALID
                if (!(yield* listExists(workspaceId, scope.listId))) {
                  return yield* new PlanRejected({ code: "LIST_NOT_FOUND", message: "The scope's List does not exist" })
                }
                return yield* new PlanRejected({
                  code: "FILTER_INVALID",
                  message: parsedFilter.message,
                  details: parsedFilter.details
                })
              }
              const facts = yield* scopes.freezeScope({
                workspaceId,
                runId,
                scope,
                subject: contract.subject,
                filter,
                fresh: freshAt(requestedAt ?? new Date().toISOString()),
                requestedAt
              })
              const decided = plan(contract, scope, request.output, facts)
              if (decided instanceof PlanRejected) return yield* decided
              return decided
            })

          if (request.mode === "preview") {
            // facts only (no requestedAt: nothing is frozen), inside a transaction that always rolls back:
            // a preview writes nothing
            const { fresh, leadCount, required } = yield* transactions
              .transaction(
                Effect.gen(function* () {
                  const decided = yield* planned(undefined)
                  return yield* new PreviewDone({
                    leadCount: decided.leadCount,
                    fresh: decided.fresh,
                    required: decided.cost.required
                  })
                })
              )
              .pipe(Effect.catchTag("PreviewDone", (done) => Effect.succeed(done)))
            const { balance } = yield* ledger.balance(workspaceId)
            return {
              _tag: "Previewed",
              leadCount,
              freshCount: request.freshness === undefined ? undefined : fresh,
              cost: {
                creditAction: contract.costModel.creditAction,
                unitCost: contract.costModel.unitCost,
                required,
                balance,
                sufficient: canAfford(balance, required)
              }
            } satisfies RunPreviewed
          }

          const now = () => new Date().toISOString()
          const committed = yield* transactions
            .transaction(
              Effect.gen(function* () {
                const requestedAt = now()
                if (key !== undefined) {
                  // claimed first, so a racing twin waits on this row instead of planning (and then finds
                  // it taken: the key is judged after the rollback); RunRequested's projection then writes
                  // the same row (a no-op here, the row on a rebuild)
                  const claimed = yield* keys.claim({ workspaceId, key, fingerprint, runId, at: requestedAt })
                  if (!claimed) return yield* new KeyTaken({ key })
                }
                const decided = yield* planned(requestedAt)
                const requestRun: RunCommand = {
                  _tag: "RequestRun",
                  runId,
                  workspaceId,
                  enrichment: {
                    id: contract.id,
                    slug: contract.slug,
                    version: contract.version,
                    snapshot: {
                      name: contract.name,
                      subject: contract.subject,
                      costModel: contract.costModel,
                      toolBinding: contract.toolBinding
                    }
                  },
                  chargeOn: contract.costModel.chargeOn,
                  scope: requestedScope(scope),
                  plan: decided,
                  writePolicy: request.writePolicy,
                  displayRequest: request.displayRequest ?? null,
                  idempotency: key === undefined ? null : { key, fingerprint },
                  input,
                  freshness: request.freshness,
                  retryOf: scope.type === "retry" ? scope.sourceRunId : undefined,
                  now: requestedAt
                }
                // the run id is new: its stream is created here, so nothing needs to be locked or read
                if (!dispatcher.joinsTransaction) {
                  // an engine outside the database hears of the run only once it is recorded, paid for and
                  // committed: it is called after this transaction (below), which holds no lock during the call
                  yield* runs.execute({ runId, workspaceId, known: RunStore.newRun, command: requestRun })
                  return { leadCount: decided.leadCount, handedOver: Option.none<HandedOver>() }
                }
                // the engine's message goes into this transaction first; the run is then recorded with
                // its hand-over in one append
                const outcome = yield* Effect.result(dispatcher.dispatch({ runId, workspaceId }))
                yield* runs.execute({
                  runId,
                  workspaceId,
                  known: RunStore.newRun,
                  command: [requestRun, recordHandOver(outcome)]
                })
                return { leadCount: decided.leadCount, handedOver: Option.some(handedOverAs(outcome, "pending")) }
              })
            )
            .pipe(
              Effect.catchTags({
                // the key is stored (or a twin holding it committed meanwhile): replay, refuse or report it busy
                KeyTaken: ({ key }) => storedOr(workspaceId, key, fingerprint, () => new IdempotencyKeyInUse({ key })),
                StoreFailure: Effect.die,
                RunCommandRejected: Effect.die,
                WrongExpectedVersion: Effect.die,
                CreditCommandRejected: Effect.die
              })
            )
          if ("_tag" in committed) return committed
          const handedOver = Option.isSome(committed.handedOver)
            ? committed.handedOver.value
            : // the run is committed: from here on, a client that hangs up does not stop the hand-over (the call is
              // bounded by the engine's own timeout)
              yield* Effect.uninterruptible(handOverCommitted(runId, workspaceId))
          if (handedOver.failure !== undefined) {
            return yield* new RunDispatchFailed({
              enrichmentRunId: runId,
              triggerRunId: null,
              message: handedOver.failure
            })
          }
          return {
            _tag: "Accepted",
            runId,
            status: handedOver.status,
            leadCount: committed.leadCount,
            triggerRunId: handedOver.triggerRunId,
            reused: false
          } satisfies RunAccepted
        },
        Effect.catchTag("StoreFailure", Effect.die)
      )

      return DispatchRun.of({ dispatch })
    })
  )
}
