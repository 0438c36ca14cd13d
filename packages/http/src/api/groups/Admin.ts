/** The operator surface: workspaces, API keys, credit grants, ending a run. Enabled by ENRICH_ADMIN_TOKEN. */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "effect/http-api"
import { Id } from "@enrich/domain/ClientText"
import { AdminAuth } from "../Auth.ts"
import { DeclaredOnly } from "../DeclaredOnly.ts"
import * as Errors from "../Errors.ts"
import * as S from "../Schemas.ts"
import * as K from "../schemas/ApiKeys.ts"
import * as C from "../schemas/Credits.ts"

export class AdminGroup extends HttpApiGroup.make("admin")
  .add(
    HttpApiEndpoint.post("createWorkspace", "/workspaces", {
      payload: S.CreateWorkspace,
      success: S.WorkspaceCreated.pipe(HttpApiSchema.status(201)),
      error: Errors.BadRequest
    }),
    // oldest first, paged by id (the console's workspace picker)
    HttpApiEndpoint.get("listWorkspaces", "/workspaces", {
      query: { limit: S.Limit(500), cursor: Schema.optionalKey(Id) },
      success: S.WorkspacesPage,
      error: Errors.BadRequest
    }),
    HttpApiEndpoint.get("listApiKeys", "/workspaces/:id/api-keys", {
      params: { id: Id },
      success: K.ApiKeyList,
      error: [Errors.BadRequest, Errors.NotFound]
    }),
    // restrictions optional (no body: a key with every scope, no limit, no expiry)
    HttpApiEndpoint.post("createApiKey", "/workspaces/:id/api-keys", {
      params: { id: Id },
      payload: [K.CreateApiKey, Schema.Null],
      success: K.ApiKeyCreated.pipe(HttpApiSchema.status(201)),
      error: [Errors.BadRequest, Errors.NotFound]
    }),
    HttpApiEndpoint.post("revokeApiKey", "/api-keys/:id/revoke", {
      params: { id: Id },
      success: K.ApiKeySummary,
      error: [Errors.BadRequest, Errors.NotFound]
    }),
    HttpApiEndpoint.post("moveCredits", "/workspaces/:id/credits", {
      params: { id: Id },
      payload: C.CreditMovement,
      success: C.CreditMovementResult,
      error: [Errors.BadRequest, Errors.NotFound, Errors.Conflict]
    }),
    // the run ends now (an active run fails) and settles; 409 RUN_ALREADY_SETTLED when it has settled already
    HttpApiEndpoint.post("failRun", "/runs/:id/fail", {
      params: { id: Id },
      payload: S.EndRunBody,
      success: S.RunStatusBody,
      error: [Errors.BadRequest, Errors.NotFound, Errors.Conflict]
    })
  )
  // before the auth middleware, so auth runs first (see DeclaredOnly.ts)
  .middleware(DeclaredOnly)
  .middleware(AdminAuth)
  .prefix("/admin") {}
