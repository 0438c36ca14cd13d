/**
 * Handlers: thin translations between the wire and the use cases, one file per
 * group in handlers/. Each maps its use case's typed failures to the
 * contract's error bodies.
 */
import { Layer } from "effect"
import { AdminHandlers } from "./handlers/Admin.ts"
import { CreditsHandlers } from "./handlers/Credits.ts"
import { EnrichmentsHandlers } from "./handlers/Enrichments.ts"
import { LeadsHandlers } from "./handlers/Leads.ts"
import { ListsHandlers } from "./handlers/Lists.ts"
import { SystemHandlers } from "./handlers/System.ts"
import { WebhooksHandlers } from "./handlers/Webhooks.ts"

export const HandlersLive = Layer.mergeAll(
  SystemHandlers,
  AdminHandlers,
  ListsHandlers,
  LeadsHandlers,
  EnrichmentsHandlers,
  CreditsHandlers,
  WebhooksHandlers
)
