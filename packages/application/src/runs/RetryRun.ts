/**
 * The retry use case (`POST /api/enrichment/{id}/retry`): a new run over exactly the failed items of a run that
 * is over, with its enrichment, input, output, write policy and display request, dispatched like any run
 * (DispatchRun: idempotency key, planning, a reservation for those items only, the hand-over) or previewed. The
 * rule of when a run may be retried is the domain's (domain/runs/Retry.ts).
 */
import { Context, Effect, Layer, Schema } from "effect"
import { type NothingToRetry, retryEligibility, type RunNotTerminal } from "@enrich/domain/runs/Retry"
import { RunDirectory } from "../ports/RunDirectory.ts"
import { type DispatchError, DispatchRun, type RunAccepted, type RunPreviewed } from "./DispatchRun.ts"

export class RetrySourceNotFound extends Schema.TaggedError<RetrySourceNotFound>()("RetrySourceNotFound", {
  runId: Schema.String
}) {}

export interface RetryRequest {
  readonly mode: "persisted" | "preview"
  readonly idempotencyKey: string | undefined
}

export class RetryRun extends Context.Service<
  RetryRun,
  {
    readonly retry: (
      workspaceId: string,
      sourceRunId: string,
      request: RetryRequest
    ) => Effect.Effect<
      RunAccepted | RunPreviewed,
      DispatchError | RetrySourceNotFound | RunNotTerminal | NothingToRetry
    >
  }
>()("@enrich/application/runs/RetryRun") {
  static readonly layer = Layer.effect(
    RetryRun,
    Effect.gen(function* () {
      const directory = yield* RunDirectory
      const dispatcher = yield* DispatchRun

      const retry = Effect.fn("RetryRun.retry")(
        function* (workspaceId: string, sourceRunId: string, request: RetryRequest) {
          const source = yield* directory.request(sourceRunId, workspaceId)
          if (source === undefined) return yield* new RetrySourceNotFound({ runId: sourceRunId })
          const eligible = retryEligibility(sourceRunId, source)
          if (eligible !== "eligible") return yield* eligible
          return yield* dispatcher.dispatch(workspaceId, {
            enrichmentId: source.enrichmentId,
            scope: { type: "retry", sourceRunId, listId: source.listId ?? undefined },
            mode: request.mode,
            input: source.input,
            output: { target: source.output.target, attributeKey: source.output.attributeKey },
            writePolicy: source.output.writePolicy,
            displayRequest: source.displayRequest ?? undefined,
            idempotencyKey: request.idempotencyKey
          })
        },
        Effect.catchTag("StoreFailure", Effect.die)
      )

      return RetryRun.of({ retry })
    })
  )
}
