/** Handlers of the enrichments group. */
import { Effect, Option, Stream } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { RunReadModel } from "@enrich/adapters/postgres/RunReadModel"
import { Catalog } from "@enrich/domain/ports/Catalog"
import { toUtcTimestamp } from "@enrich/domain/leads/LeadFilter"
import { CancelRun } from "@enrich/application/runs/CancelRun"
import {
  DispatchRun,
  type EnrichmentNotFound,
  type RunAccepted,
  type RunDispatchFailed,
  type RunPreviewed
} from "@enrich/application/runs/DispatchRun"
import type { InsufficientCredits } from "@enrich/domain/credits/CreditAccount"
import type { PlanRejected } from "@enrich/domain/runs/Planner"
import { RetryRun } from "@enrich/application/runs/RetryRun"
import { CurrentWorkspace, EnrichApi } from "../../api/Api.ts"
import { apiError } from "../../api/Errors.ts"
import { LiveRuns, type StreamRefused } from "../LiveRuns.ts"
import { insufficientCredits, notFound, planRejection } from "./common.ts"

/** How long a client refused a stream is asked to wait. */
const STREAM_RETRY_AFTER_SECONDS = 5

/** 429 or 503 with `Retry-After`, as the contract declares them for the events endpoint. */
const streamRefused = (refused: StreamRefused) =>
  HttpServerResponse.jsonUnsafe(
    refused.cap === "key"
      ? apiError(
          "TOO_MANY_STREAMS",
          `This API key has ${refused.limit} event streams open, the most it may; close one or retry in ${STREAM_RETRY_AFTER_SECONDS} s`,
          { retryAfter: STREAM_RETRY_AFTER_SECONDS }
        )
      : apiError(
          "SERVER_BUSY",
          `This server has ${refused.limit} event streams open, the most it may; retry in ${STREAM_RETRY_AFTER_SECONDS} s`,
          { retryAfter: STREAM_RETRY_AFTER_SECONDS }
        ),
    {
      status: refused.cap === "key" ? 429 : 503,
      headers: { "retry-after": String(STREAM_RETRY_AFTER_SECONDS) }
    }
  )

/** A dispatch's refusals (a retry's too) as the API answers them. */
const dispatchRefusals = {
  EnrichmentNotFound: (e: EnrichmentNotFound) =>
    Effect.fail(apiError("ENRICHMENT_NOT_FOUND", `Enrichment ${e.enrichmentId} does not exist`)),
  PlanRejected: (e: PlanRejected) => Effect.fail(planRejection(e)),
  InsufficientCredits: (e: InsufficientCredits) => Effect.fail(insufficientCredits(e)),
  IdempotencyKeyReused: () =>
    Effect.fail(apiError("IDEMPOTENCY_KEY_REUSED", "This idempotency key was used with a different request")),
  IdempotencyKeyInUse: () =>
    Effect.fail(
      apiError("IDEMPOTENCY_KEY_IN_USE", "A request with this idempotency key is in progress; retry", {
        reason: "idempotency_key_in_use"
      })
    ),
  RunDispatchFailed: (e: RunDispatchFailed) =>
    Effect.fail(
      apiError("DISPATCH_FAILED", e.message, {
        enrichmentRunId: e.enrichmentRunId,
        triggerRunId: e.triggerRunId
      })
    )
}

/** A dispatch's (or a retry's) outcome as the API answers it: 202 with the new run, 200 reused or previewed. */
const dispatchAnswer = (outcome: RunAccepted | RunPreviewed) =>
  Effect.gen(function* () {
    if (outcome._tag === "Previewed") {
      return {
        enrichmentRunId: null,
        runId: null,
        status: "preview" as const,
        leadCount: outcome.leadCount,
        triggerRunId: null,
        reusedExistingRun: false as const,
        ...(outcome.freshCount === undefined ? {} : { freshCount: outcome.freshCount }),
        cost: outcome.cost
      }
    }
    yield* Effect.logInfo(outcome.reused ? "run reused" : "run dispatched").pipe(
      Effect.annotateLogs({ runId: outcome.runId, leadCount: outcome.leadCount })
    )
    return {
      enrichmentRunId: outcome.runId,
      runId: outcome.runId,
      status: outcome.status,
      leadCount: outcome.leadCount,
      triggerRunId: outcome.triggerRunId,
      reusedExistingRun: outcome.reused
    }
  })

export const EnrichmentsHandlers = HttpApiBuilder.group(
  EnrichApi,
  "enrichments",
  Effect.fn(function* (handlers) {
    const catalog = yield* Catalog
    const dispatcher = yield* DispatchRun
    const canceller = yield* CancelRun
    const retrier = yield* RetryRun
    const runs = yield* RunReadModel
    const live = yield* LiveRuns
    return handlers.handleAll({
      catalog: Effect.fn(function* ({ query }) {
        if (query.id !== undefined) {
          const entry = catalog.find(query.id)
          if (entry === undefined) return yield* Effect.fail(notFound(`Enrichment ${query.id}`))
          return { enrichments: [entry.contract] }
        }
        return { enrichments: catalog.list(query.q) }
      }),
      dispatch: Effect.fn(function* ({ headers, payload }) {
        const { workspaceId } = yield* CurrentWorkspace
        const headerKey = headers["idempotency-key"]
        if (headerKey !== undefined && payload.idempotencyKey !== undefined && headerKey !== payload.idempotencyKey) {
          return yield* Effect.fail(
            apiError("VALIDATION_FAILED", "Idempotency-Key header and body idempotencyKey differ", {
              details: {
                issues: [{ path: "headers.idempotency-key", message: "differs from body.idempotencyKey" }],
                total: 1
              }
            })
          )
        }
        const outcome = yield* dispatcher
          .dispatch(workspaceId, {
            enrichmentId: payload.enrichmentId,
            scope: payload.scope,
            mode: payload.mode ?? "persisted",
            input: payload.input ?? {},
            output: payload.output,
            writePolicy: payload.writePolicy ?? "overwrite",
            displayRequest: payload.displayRequest,
            idempotencyKey: payload.idempotencyKey ?? headerKey,
            freshness: payload.freshness
          })
          .pipe(Effect.catchTags(dispatchRefusals))
        return yield* dispatchAnswer(outcome)
      }),
      retry: Effect.fn(function* ({ headers, params, payload }) {
        const { workspaceId } = yield* CurrentWorkspace
        const outcome = yield* retrier
          .retry(workspaceId, params.id, {
            mode: payload?.mode ?? "persisted",
            idempotencyKey: headers["idempotency-key"]
          })
          .pipe(
            Effect.catchTags({
              ...dispatchRefusals,
              RetrySourceNotFound: () => Effect.fail(notFound("Enrichment run")),
              RunNotTerminal: (e) =>
                Effect.fail(
                  apiError(
                    "RUN_NOT_TERMINAL",
                    `The run is ${e.status}; only a run that is over (and settled) can be retried`,
                    { reason: "run_not_terminal" }
                  )
                ),
              NothingToRetry: () =>
                Effect.fail(apiError("NOTHING_TO_RETRY", "No item of this run failed: there is nothing to retry"))
            })
          )
        return yield* dispatchAnswer(outcome)
      }),
      list: Effect.fn(function* ({ query }) {
        const { workspaceId } = yield* CurrentWorkspace
        return yield* runs.listRuns(workspaceId, {
          status: query.status,
          enrichmentId: query.enrichmentId,
          // its UTC form: PostgreSQL reads offsets only up to ±15:59, the schema takes any valid one
          createdAfter: query.createdAfter === undefined ? undefined : toUtcTimestamp(query.createdAfter),
          cursor: query.cursor,
          limit: query.limit ?? 50
        })
      }),
      // a run's live progress: a snapshot whenever its history moves past the last position sent (`id:`
      // is the run stream's version, so `Last-Event-ID` resumes), ending after the settled one (LiveRuns)
      events: Effect.fn(function* ({ headers, params }) {
        const key = yield* CurrentWorkspace
        const first = yield* runs.getSnapshot(key.workspaceId, params.id)
        if (Option.isNone(first)) return yield* Effect.fail(notFound("Enrichment run"))
        const refused = yield* live.follow(key, first.value, headers["last-event-id"] ?? 0).pipe(
          Effect.map((snapshots) =>
            snapshots.pipe(
              Stream.map((snapshot) => ({
                id: String(snapshot.position),
                event: "snapshot" as const,
                data: { run: snapshot.run }
              }))
            )
          ),
          Effect.catchTag("StreamRefused", (refused) => Effect.succeed(streamRefused(refused)))
        )
        return refused
      }),
      status: Effect.fn(function* ({ params }) {
        const { workspaceId } = yield* CurrentWorkspace
        const run = yield* runs.getRun(workspaceId, params.id)
        if (Option.isNone(run)) return yield* Effect.fail(notFound("Enrichment run"))
        return { run: run.value }
      }),
      cancel: Effect.fn(function* ({ params }) {
        const { workspaceId } = yield* CurrentWorkspace
        const run = yield* canceller.cancel(workspaceId, params.id).pipe(
          Effect.catchTags({
            RunNotFound: () => Effect.fail(notFound("Enrichment run")),
            RunNotCancellable: (e) =>
              Effect.fail(
                apiError(
                  "RUN_NOT_CANCELLABLE",
                  e.reason === "run_not_cancellable"
                    ? "Only pending or running runs can be cancelled"
                    : "The run changed while it was being cancelled; read its status and retry",
                  { reason: e.reason }
                )
              )
          })
        )
        return { run }
      }),
      items: Effect.fn(function* ({ params, query }) {
        const { workspaceId } = yield* CurrentWorkspace
        const limit = query.limit ?? 50
        const page = yield* runs.listItems(workspaceId, params.id, {
          status: query.status,
          leadId: query.leadId,
          cursor: query.cursor,
          limit
        })
        if (Option.isNone(page)) return yield* Effect.fail(notFound("Enrichment run"))
        return {
          items: page.value.items,
          page: { limit, nextCursor: page.value.nextCursor, hasMore: page.value.hasMore }
        }
      })
    })
  })
)
