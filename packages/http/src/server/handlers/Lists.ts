/** Handlers of the lists group. */
import { Effect, Stream } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { importCsv } from "@enrich/adapters/import/CsvImport"
import { type Override, parseDelimiter, parseOverride } from "@enrich/domain/leads/ImportMapping"
import { fromInput, groupByIdentity } from "@enrich/domain/leads/Lead"
import { Leads } from "@enrich/domain/ports/Leads"
import { Lists } from "@enrich/domain/ports/Lists"
import { CurrentWorkspace, EnrichApi } from "../../api/Api.ts"
import { apiError } from "../../api/Errors.ts"
import type { CsvImportQuery } from "../../api/Schemas.ts"
import { maxBodySize } from "../ErrorEnvelope.ts"
import { notFound, storeFailureToEnvelope } from "./common.ts"

const listProtected = apiError("LIST_PROTECTED", "The List all (every Lead) cannot be changed")

const leadsNotFound = (e: { readonly leadIds: ReadonlyArray<string>; readonly total: number }) =>
  apiError("LEADS_NOT_FOUND", `${e.total} Leads do not exist`, { details: { leadIds: e.leadIds, total: e.total } })

const typeMismatch = (e: {
  readonly leadType: string
  readonly leadIds: ReadonlyArray<string>
  readonly total: number
}) =>
  apiError("LEAD_TYPE_MISMATCH", `${e.total} Leads are not of the List's type ${e.leadType}`, {
    details: { leadType: e.leadType, leadIds: e.leadIds, total: e.total }
  })

const invalidQuery = (issues: ReadonlyArray<{ readonly path: string; readonly message: string }>) =>
  apiError("VALIDATION_FAILED", `Invalid request: ${issues[0]!.path}: ${issues[0]!.message}`, {
    details: { issues: issues.slice(0, 100), total: issues.length }
  })

/** A CSV import (`text/csv`): the query is its options; the body is read as a stream (CsvImport). */
const csvImport = (
  workspaceId: string,
  body: Stream.Stream<Uint8Array, unknown>,
  query: CsvImportQuery,
  contentLength: string | undefined
) =>
  Effect.gen(function* () {
    const overrides: Array<Override> = []
    const issues: Array<{ path: string; message: string }> = []
    ;(query.map ?? []).forEach((entry, i) => {
      const parsed = parseOverride(entry)
      if ("error" in parsed) issues.push({ path: `query.map[${i}]`, message: parsed.error })
      else overrides.push(parsed)
    })
    if (issues.length > 0) return yield* Effect.fail(invalidQuery(issues))
    const declared = contentLength === undefined ? undefined : Number(contentLength)
    return yield* importCsv(workspaceId, {
      body,
      declaredLength: Number.isFinite(declared) ? declared : undefined,
      listId: query.listId,
      forced: query.type,
      overrides,
      delimiter: query.delimiter === undefined ? undefined : parseDelimiter(query.delimiter),
      strict: query.strict === "true",
      preview: query.preview === "true",
      maxBytes: Number(maxBodySize),
      maxRows: 5000
    }).pipe(
      Effect.catchTags({
        CsvImportRefused: (e) =>
          Effect.fail(apiError(e.code, e.message, e.details === undefined ? undefined : { details: e.details })),
        ListNotFound: (e) => Effect.fail(apiError("LIST_NOT_FOUND", `List ${e.listId} does not exist`)),
        LeadTypeMismatch: (e) =>
          Effect.fail(
            apiError("LEAD_TYPE_MISMATCH", `${e.total} Leads are not of the List's type ${e.leadType}`, {
              details: { leadType: e.leadType, total: e.total }
            })
          )
      })
    )
  })

export const ListsHandlers = HttpApiBuilder.group(
  EnrichApi,
  "lists",
  Effect.fn(function* (handlers) {
    const leads = yield* Leads
    const lists = yield* Lists
    return handlers.handleAll({
      create: Effect.fn(function* ({ payload }) {
        const { workspaceId } = yield* CurrentWorkspace
        const list = yield* lists
          .createList(workspaceId, {
            name: payload.name ?? "Untitled list",
            description: payload.description ?? null,
            leadType: payload.leadType ?? "person",
            leadIds: payload.leadIds ?? []
          })
          .pipe(
            Effect.catchTags({
              LeadsNotFound: (e) =>
                Effect.fail(
                  apiError("LEADS_NOT_FOUND", `${e.total} Leads do not exist`, {
                    details: { leadIds: e.leadIds, total: e.total }
                  })
                ),
              LeadTypeMismatch: (e) =>
                Effect.fail(
                  apiError("LEAD_TYPE_MISMATCH", `${e.total} Leads are not of type ${e.leadType}`, {
                    details: { leadIds: e.leadIds, total: e.total }
                  })
                )
            })
          )
        return { list }
      }, storeFailureToEnvelope),
      import: Effect.fn(function* ({ payload, query, request }) {
        const { workspaceId } = yield* CurrentWorkspace
        if (Stream.isStream(payload)) {
          return yield* csvImport(workspaceId, payload, query, request.headers["content-length"])
        }
        // a JSON body carries its options itself
        const given = Object.keys(query)
        if (given.length > 0) {
          return yield* Effect.fail(
            invalidQuery(
              given.map((key) => ({
                path: `query.${key}`,
                message: "Expected no query with a JSON body (the query is the options of a text/csv import)"
              }))
            )
          )
        }
        if (payload.preview === true) {
          const { groups } = groupByIdentity(payload.leads.map(fromInput))
          return {
            preview: {
              leadCount: groups.length,
              personCount: groups.filter((g) => g.fields.type === "person").length,
              companyCount: groups.filter((g) => g.fields.type === "company").length
            }
          }
        }
        return yield* leads.importLeads(workspaceId, payload.leads, payload.listId).pipe(
          Effect.catchTags({
            ListNotFound: (e) => Effect.fail(apiError("LIST_NOT_FOUND", `List ${e.listId} does not exist`)),
            LeadTypeMismatch: (e) =>
              Effect.fail(
                apiError("LEAD_TYPE_MISMATCH", `${e.total} Leads are not of the List's type ${e.leadType}`, {
                  details: { leadIds: e.leadIds, total: e.total }
                })
              )
          })
        )
      }, storeFailureToEnvelope),
      leads: Effect.fn(function* ({ params, query }) {
        const { workspaceId } = yield* CurrentWorkspace
        return yield* lists
          .listLeads(workspaceId, params.id, {
            limit: query.limit ?? 50,
            cursor: query.cursor,
            type: query.type
          })
          .pipe(Effect.catchTag("ListNotFound", () => Effect.fail(notFound("List"))))
      }, storeFailureToEnvelope),
      list: Effect.fn(function* ({ query }) {
        const { workspaceId } = yield* CurrentWorkspace
        return yield* lists.listLists(workspaceId, { limit: query.limit ?? 50, cursor: query.cursor })
      }, storeFailureToEnvelope),
      update: Effect.fn(function* ({ payload }) {
        const { workspaceId } = yield* CurrentWorkspace
        const { id, ...patch } = payload
        const list = yield* lists.updateList(workspaceId, id, patch).pipe(
          Effect.catchTags({
            ListProtected: () => Effect.fail(listProtected),
            ListNotFound: () => Effect.fail(notFound("List")),
            LeadTypeMismatch: (e) => Effect.fail(typeMismatch(e))
          })
        )
        return { list }
      }, storeFailureToEnvelope),
      delete: Effect.fn(function* ({ payload }) {
        const { workspaceId } = yield* CurrentWorkspace
        yield* lists.deleteList(workspaceId, payload.id).pipe(
          Effect.catchTags({
            ListProtected: () => Effect.fail(listProtected),
            ListNotFound: () => Effect.fail(notFound("List"))
          })
        )
        return { deleted: true as const, id: payload.id }
      }, storeFailureToEnvelope),
      addMembers: Effect.fn(function* ({ params, payload }) {
        const { workspaceId } = yield* CurrentWorkspace
        return yield* lists.addListMembers(workspaceId, params.id, payload.leadIds).pipe(
          Effect.catchTags({
            ListProtected: () => Effect.fail(listProtected),
            ListNotFound: () => Effect.fail(notFound("List")),
            LeadsNotFound: (e) => Effect.fail(leadsNotFound(e)),
            LeadTypeMismatch: (e) => Effect.fail(typeMismatch(e))
          })
        )
      }, storeFailureToEnvelope),
      removeMembers: Effect.fn(function* ({ params, payload }) {
        const { workspaceId } = yield* CurrentWorkspace
        return yield* lists.removeListMembers(workspaceId, params.id, payload.leadIds).pipe(
          Effect.catchTags({
            ListProtected: () => Effect.fail(listProtected),
            ListNotFound: () => Effect.fail(notFound("List")),
            LeadsNotFound: (e) => Effect.fail(leadsNotFound(e))
          })
        )
      }, storeFailureToEnvelope)
    })
  })
)
