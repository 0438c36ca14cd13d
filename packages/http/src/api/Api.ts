/**
 * The HTTP API definition, shared by the server, the typed client and the
 * OpenAPI document. Paths, fields and codes follow the hosted platform's
 * "Enrich Leads" API (see docs/API.md).
 */
import { Context, Schema } from "effect"
import {
  HttpApi,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity,
  OpenApi
} from "effect/http-api"
import { Id, TextUpTo } from "@enrich/domain/ClientText"
import * as Errors from "./Errors.ts"
import * as S from "./Schemas.ts"

/** The workspace an API key belongs to, provided by ApiKeyAuth to every /api handler. */
export class CurrentWorkspace extends Context.Service<
  CurrentWorkspace,
  { readonly workspaceId: string; readonly keyId: string }
>()("@enrich/http/CurrentWorkspace") {}

export class ApiKeyAuth extends HttpApiMiddleware.Service<
  ApiKeyAuth,
  { provides: CurrentWorkspace; requires: never }
>()("@enrich/http/ApiKeyAuth", {
  requiredForClient: true,
  security: { bearer: HttpApiSecurity.bearer },
  error: Errors.Unauthorized
}) {}

export class AdminAuth extends HttpApiMiddleware.Service<AdminAuth, { provides: never; requires: never }>()(
  "@enrich/http/AdminAuth",
  {
    requiredForClient: true,
    security: { bearer: HttpApiSecurity.bearer },
    error: [Errors.Unauthorized, Errors.NotFound]
  }
) {}

export class SystemGroup extends HttpApiGroup.make("system", { topLevel: true }).add(
  HttpApiEndpoint.get("healthz", "/healthz", { success: S.Health }),
  HttpApiEndpoint.get("readyz", "/readyz", { success: [S.Readiness, S.Readiness.pipe(HttpApiSchema.status(503))] })
) {}

export class AdminGroup extends HttpApiGroup.make("admin")
  .add(
    HttpApiEndpoint.post("createWorkspace", "/workspaces", {
      payload: S.CreateWorkspace,
      success: S.WorkspaceCreated.pipe(HttpApiSchema.status(201)),
      error: Errors.BadRequest
    })
  )
  .middleware(AdminAuth)
  .prefix("/admin") {}

export class ListsGroup extends HttpApiGroup.make("lists")
  .add(
    HttpApiEndpoint.post("create", "/lists", {
      payload: S.CreateList,
      success: Schema.Struct({ list: S.List }).pipe(HttpApiSchema.status(201)),
      error: Errors.BadRequest
    }),
    HttpApiEndpoint.post("import", "/lists/import", {
      payload: S.ImportLeads,
      success: [S.ImportResult, S.ImportPreview],
      error: Errors.BadRequest
    }),
    HttpApiEndpoint.get("leads", "/lists/:id/leads", {
      params: { id: Id },
      query: {
        limit: S.Limit(500),
        cursor: Schema.optionalKey(Id),
        type: Schema.optionalKey(Schema.Literals(["person", "company"]))
      },
      success: S.ListLeadsPage,
      error: [Errors.BadRequest, Errors.NotFound]
    })
  )
  .middleware(ApiKeyAuth)
  .prefix("/api") {}

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
      success: [S.DispatchCreated.pipe(HttpApiSchema.status(202)), S.DispatchReused, S.DispatchPreview],
      error: [
        Errors.BadRequest,
        Errors.InsufficientCredits,
        Errors.Conflict,
        Errors.Unprocessable,
        Errors.DispatchFailed
      ]
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
  .middleware(ApiKeyAuth)
  .prefix("/api") {}

export class EnrichApi extends HttpApi.make("enrich")
  .add(SystemGroup)
  .add(AdminGroup)
  .add(ListsGroup)
  .add(EnrichmentsGroup)
  .annotate(HttpApi.PayloadParseOptions, { onExcessProperty: "error", errors: "all" })
  .annotate(HttpApi.QueryParseOptions, { onExcessProperty: "error", errors: "all" })
  .annotate(HttpApi.HeadersParseOptions, {})
  .annotateMerge(
    OpenApi.annotations({
      title: "enrich API",
      description: "Lead enrichment runs over scopes of Leads, with credits, idempotent dispatch and per-Lead results."
    })
  ) {}
