/** The operator surface: workspaces, API keys, credit grants. Enabled by ENRICH_ADMIN_TOKEN. */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "effect/http-api"
import { AdminAuth } from "../Auth.ts"
import * as Errors from "../Errors.ts"
import * as S from "../Schemas.ts"

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
