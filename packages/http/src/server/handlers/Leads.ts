/** Handlers of the leads group. */
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Leads } from "@enrich/domain/ports/Leads"
import { CurrentWorkspace, EnrichApi } from "../../api/Api.ts"
import { apiError } from "../../api/Errors.ts"
import { notFound, storeFailureToEnvelope } from "./common.ts"

export const LeadsHandlers = HttpApiBuilder.group(
  EnrichApi,
  "leads",
  Effect.fn(function* (handlers) {
    const leads = yield* Leads
    return handlers.handleAll({
      create: Effect.fn(function* ({ payload }) {
        const { workspaceId } = yield* CurrentWorkspace
        const { lead, matched } = yield* leads.createLead(workspaceId, payload)
        return matched ? { lead, matched: true as const } : { lead, matched: false as const }
      }, storeFailureToEnvelope),
      list: Effect.fn(function* ({ query }) {
        const { workspaceId } = yield* CurrentWorkspace
        const page = yield* leads.findLeads(workspaceId, {
          id: query.id,
          type: query.type,
          q: query.q,
          limit: query.limit ?? 50,
          cursor: query.cursor
        })
        if (query.id !== undefined && page.leads.length === 0) return yield* Effect.fail(notFound("Lead"))
        return page
      }, storeFailureToEnvelope),
      update: Effect.fn(function* ({ payload }) {
        const { workspaceId } = yield* CurrentWorkspace
        const { id, ...patch } = payload
        const lead = yield* leads.updateLead(workspaceId, id, patch).pipe(
          Effect.catchTags({
            LeadNotFound: () => Effect.fail(notFound("Lead")),
            IdentityConflict: (e) =>
              Effect.fail(
                apiError(
                  "IDENTITY_CONFLICT",
                  "Another Lead already has this identity (email, LinkedIn URL or domain)",
                  {
                    details: { identityKeys: e.identityKeys, leadIds: e.conflictingLeadIds }
                  }
                )
              )
          })
        )
        return { lead }
      }, storeFailureToEnvelope),
      delete: Effect.fn(function* ({ payload }) {
        const { workspaceId } = yield* CurrentWorkspace
        yield* leads
          .deleteLead(workspaceId, payload.id)
          .pipe(Effect.catchTag("LeadNotFound", () => Effect.fail(notFound("Lead"))))
        return { deleted: true as const, id: payload.id }
      }, storeFailureToEnvelope)
    })
  })
)
