/** Lists, their members and bulk import. */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "effect/http-api"
import { Id } from "@enrich/domain/ClientText"
import { ApiKeyAuth } from "../Auth.ts"
import { NoQuery } from "../NoQuery.ts"
import * as Errors from "../Errors.ts"
import * as S from "../Schemas.ts"
import * as L from "../schemas/Leads.ts"

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
    }),
    HttpApiEndpoint.get("list", "/lists", {
      query: L.ListsQuery,
      success: L.ListsPage,
      error: Errors.BadRequest
    }),
    HttpApiEndpoint.patch("update", "/lists", {
      payload: L.PatchList,
      success: L.ListBody,
      error: [Errors.BadRequest, Errors.NotFound]
    }),
    HttpApiEndpoint.delete("delete", "/lists", {
      payload: L.ById,
      success: L.Deleted,
      error: [Errors.BadRequest, Errors.NotFound]
    }),
    HttpApiEndpoint.post("addMembers", "/lists/:id/leads", {
      params: { id: Id },
      payload: L.Members,
      success: L.MembersAdded,
      error: [Errors.BadRequest, Errors.NotFound]
    }),
    HttpApiEndpoint.delete("removeMembers", "/lists/:id/leads", {
      params: { id: Id },
      payload: L.Members,
      success: L.MembersRemoved,
      error: [Errors.BadRequest, Errors.NotFound]
    })
  )
  // before the auth middleware, so auth runs first (see NoQuery.ts)
  .middleware(NoQuery)
  .middleware(ApiKeyAuth)
  .prefix("/api") {}
