/** Leads: create (identity de-duplication), search and page, edit, erase. */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "effect/http-api"
import { LeadInput } from "@enrich/domain/leads/Lead"
import { ApiKeyAuth } from "../Auth.ts"
import { DeclaredOnly } from "../DeclaredOnly.ts"
import * as Errors from "../Errors.ts"
import * as L from "../schemas/Leads.ts"

export class LeadsGroup extends HttpApiGroup.make("leads")
  .add(
    HttpApiEndpoint.post("create", "/leads", {
      payload: LeadInput,
      success: [L.LeadCreated.pipe(HttpApiSchema.status(201)), L.LeadMatched],
      error: Errors.BadRequest
    }),
    HttpApiEndpoint.get("list", "/leads", {
      query: L.LeadsQuery,
      success: L.LeadsPage,
      error: [Errors.BadRequest, Errors.NotFound]
    }),
    HttpApiEndpoint.patch("update", "/leads", {
      payload: L.PatchLead,
      success: L.LeadBody,
      error: [Errors.BadRequest, Errors.NotFound, Errors.Conflict]
    }),
    HttpApiEndpoint.delete("delete", "/leads", {
      payload: L.ById,
      success: L.Deleted,
      error: [Errors.BadRequest, Errors.NotFound]
    })
  )
  // before the auth middleware, so auth runs first (see DeclaredOnly.ts)
  .middleware(DeclaredOnly)
  .middleware(ApiKeyAuth)
  .prefix("/api") {}
