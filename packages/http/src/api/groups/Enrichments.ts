/** The enrichment surface: catalog, dispatch, run list, status, live events, items, cancel, retry. */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "effect/http-api"
import { Id, TextUpTo } from "@enrich/domain/ClientText"
import { ApiKeyAuth } from "../Auth.ts"
import { DeclaredOnly } from "../DeclaredOnly.ts"
import * as Errors from "../Errors.ts"
import * as S from "../Schemas.ts"

/** What a dispatch answers (a retry too): 202 a new run, 200 the run its key made before, 200 a preview. */
const dispatchAnswers = [S.DispatchCreated.pipe(HttpApiSchema.status(202)), S.DispatchReused, S.DispatchPreview]
const dispatchErrors = [
  Errors.BadRequest,
  Errors.InsufficientCredits,
  Errors.Conflict,
  Errors.Unprocessable,
  Errors.DispatchFailed
]

export class EnrichmentsGroup extends HttpApiGroup.make("enrichments")
  .add(
    HttpApiEndpoint.get("catalog", "/enrichments", {
      query: { id: Schema.optionalKey(Id), q: Schema.optionalKey(TextUpTo(200)) },
      success: S.EnrichmentCatalog,
      error: [Errors.BadRequest, Errors.NotFound]
    }),
    HttpApiEndpoint.post("dispatch", "/enrichment", {
      payload: S.DispatchBody,
      headers: {
        "idempotency-key": Schema.optionalKey(S.IdempotencyKey)
      },
      success: dispatchAnswers,
      error: dispatchErrors
    }),
    HttpApiEndpoint.get("list", "/enrichment", {
      query: {
        status: Schema.optionalKey(S.RunStatus),
        enrichmentId: Schema.optionalKey(Id),
        createdAfter: Schema.optionalKey(S.Timestamp),
        limit: S.Limit(100),
        cursor: Schema.optionalKey(Id)
      },
      success: S.RunsPage,
      error: [Errors.BadRequest]
    }),
    HttpApiEndpoint.get("events", "/enrichment/:id/events", {
      params: { id: Id },
      headers: { "last-event-id": Schema.optionalKey(Schema.NumberFromString.check(Schema.isInt())) },
      success: HttpApiSchema.StreamSse({
        events: Schema.Struct({
          id: Schema.optional(Schema.String),
          event: Schema.Literal("snapshot"),
          data: Schema.fromJsonString(S.RunStatusBody)
        })
      }),
      error: [Errors.BadRequest, Errors.NotFound, Errors.RateLimited, Errors.ServiceUnavailable]
    }),
    HttpApiEndpoint.get("status", "/enrichment/:id", {
      params: { id: Id },
      success: S.RunStatusBody,
      error: [Errors.BadRequest, Errors.NotFound]
    }),
    HttpApiEndpoint.post("cancel", "/enrichment/:id/cancel", {
      params: { id: Id },
      success: S.CancelledRun,
      error: [Errors.BadRequest, Errors.NotFound, Errors.Conflict]
    }),
    // the body is optional: no body (or null) is a persisted retry
    HttpApiEndpoint.post("retry", "/enrichment/:id/retry", {
      params: { id: Id },
      payload: [S.RetryBody, Schema.Null],
      headers: {
        "idempotency-key": Schema.optionalKey(S.IdempotencyKey)
      },
      success: dispatchAnswers,
      error: [...dispatchErrors, Errors.NotFound]
    }),
    HttpApiEndpoint.get("items", "/enrichment/:id/items", {
      params: { id: Id },
      query: {
        status: Schema.optionalKey(S.ItemStatus),
        leadId: Schema.optionalKey(Id),
        cursor: Schema.optionalKey(Id),
        limit: S.Limit(100)
      },
      success: S.ItemsPage,
      error: [Errors.BadRequest, Errors.NotFound]
    })
  )
  // before the auth middleware, so auth runs first (see DeclaredOnly.ts)
  .middleware(DeclaredOnly)
  .middleware(ApiKeyAuth)
  .prefix("/api") {}
