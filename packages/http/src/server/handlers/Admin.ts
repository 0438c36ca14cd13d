/** Handlers of the admin group. */
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Workspaces } from "@enrich/adapters/postgres/Workspaces"
import { EnrichApi } from "../../api/Api.ts"

export const AdminHandlers = HttpApiBuilder.group(
  EnrichApi,
  "admin",
  Effect.fn(function* (handlers) {
    const workspaces = yield* Workspaces
    return handlers.handleAll({
      createWorkspace: ({ payload }) => workspaces.create({ name: payload.name, credits: payload.credits ?? 0 })
    })
  })
)
