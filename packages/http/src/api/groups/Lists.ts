/** Lists, their members and bulk import. */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Id } from "@enrich/domain/ClientText"
import { ApiKeyAuth } from "../Auth.ts"
import { DeclaredOnly } from "../DeclaredOnly.ts"
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
    // a JSON body (`{ leads, listId?, preview? }`, no query), or a CSV body (`text/csv`, streamed and
    // limited by the handler: 1 MiB, 5,000 rows) with the query
    HttpApiEndpoint.post("import", "/lists/import", {
      payload: [S.ImportLeads, HttpApiSchema.StreamUint8Array({ contentType: "text/csv" })],
      query: S.CsvImportQuery,
      success: [S.ImportResult, S.ImportPreview],
      error: [Errors.BadRequest, Errors.PayloadTooLarge]
    }).annotate(
      OpenApi.Description,
      "Imports up to 5,000 Leads (identity de-duplication), optionally into a List. application/json: `{ leads, listId?, preview? }`, no query. text/csv: a header row and up to 5,000 rows in at most 1 MiB, read as a stream; the columns map to Lead fields by name or alias (First Name, Email, Job Title, Company Name, Person Linkedin Url, …; `map=COLUMN=FIELD` overrides), the Lead type is inferred per row (`type=` forces it); the query carries listId, type, map, delimiter, strict and preview. The answer adds `rows`, `mapping`, `unmapped` and `rejected` (row numbers and reasons of the rows that are not Leads; the others are imported); a preview also `sample`, the first valid rows (at most 5) as the Leads they would import. A CSV that cannot be read, a header only, rows of the other type than the List's, or no valid row: 400, nothing written; over the limits: 413."
    ),
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
  // before the auth middleware, so auth runs first (see DeclaredOnly.ts)
  .middleware(DeclaredOnly)
  .middleware(ApiKeyAuth)
  .prefix("/api") {}
