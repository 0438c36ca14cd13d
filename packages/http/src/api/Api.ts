/**
 * The HTTP API definition, shared by the server, the typed client and the
 * OpenAPI document. Paths, fields and codes follow the hosted platform's
 * "Enrich Leads" API (see docs/API.md). One group per file in groups/.
 */
import { HttpApi, OpenApi } from "effect/http-api"
import { AdminGroup } from "./groups/Admin.ts"
import { CreditsGroup } from "./groups/Credits.ts"
import { EnrichmentsGroup } from "./groups/Enrichments.ts"
import { LeadsGroup } from "./groups/Leads.ts"
import { ListsGroup } from "./groups/Lists.ts"
import { SystemGroup } from "./groups/System.ts"
import { WebhooksGroup } from "./groups/Webhooks.ts"
import { withRequiredScopes } from "./Scopes.ts"

export { AdminAuth, ApiKeyAuth, CurrentWorkspace, MetricsAuth } from "./Auth.ts"

/** Where the server serves the OpenAPI document and its reference page, besides the endpoints below. */
export const OPENAPI_PATH = "/openapi.json"
export const DOCS_PATH = "/docs"

export class EnrichApi extends HttpApi.make("enrich")
  .add(SystemGroup)
  .add(AdminGroup)
  .add(ListsGroup)
  .add(LeadsGroup)
  .add(EnrichmentsGroup)
  .add(CreditsGroup)
  .add(WebhooksGroup)
  .annotate(HttpApi.PayloadParseOptions, { onExcessProperty: "error", errors: "all" })
  .annotate(HttpApi.QueryParseOptions, { onExcessProperty: "error", errors: "all" })
  .annotate(HttpApi.HeadersParseOptions, {})
  .annotateMerge(
    OpenApi.annotations({
      title: "enrich API",
      description: "Lead enrichment runs over scopes of Leads, with credits, idempotent dispatch and per-Lead results.",
      // each /api operation's scope (x-required-scopes): Scopes.ts
      transform: withRequiredScopes
    })
  ) {}
