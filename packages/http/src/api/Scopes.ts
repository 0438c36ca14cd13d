/**
 * The scope each /api operation needs (DECISIONS.md 69), by operation id (`group.endpoint`, as in the OpenAPI
 * document): what the operation does, as the domain's rule sees it (domain/auth/ApiKeyScopes.ts); the rule says
 * which scope that needs. `StartRun` takes its mode from the request (`mode: "preview"` needs `preview`, anything
 * else `dispatch`). ApiKeyAuth enforces it on every request; the document shows it on every operation as
 * `x-required-scopes` (and `x-required-scopes-preview`, for an operation whose preview needs another), so a
 * client, and the scope matrix test, read it from there. An /api operation missing here is refused to every key
 * that does not hold every scope, and shows no `x-required-scopes` (the matrix test fails on it).
 */
import { type ApiAction, type ApiScope, requiredScope } from "@enrich/domain/auth/ApiKeyScopes"

export type OperationKind = ApiAction["_tag"]

export const operationKinds: Readonly<Record<string, OperationKind>> = {
  "enrichments.catalog": "Read",
  "enrichments.dispatch": "StartRun",
  "enrichments.list": "Read",
  "enrichments.events": "Read",
  "enrichments.status": "Read",
  "enrichments.cancel": "CancelRun",
  "enrichments.retry": "StartRun",
  "enrichments.items": "Read",
  "lists.create": "WriteLeads",
  "lists.import": "WriteLeads",
  "lists.leads": "Read",
  "lists.list": "Read",
  "lists.update": "WriteLeads",
  "lists.delete": "WriteLeads",
  "lists.addMembers": "WriteLeads",
  "lists.removeMembers": "WriteLeads",
  "leads.create": "WriteLeads",
  "leads.list": "Read",
  "leads.update": "WriteLeads",
  "leads.delete": "WriteLeads",
  "credits.balance": "Read",
  "credits.ledger": "Read",
  // a price calculator: it reads the catalog and the balance, and writes nothing
  "credits.preview": "Read",
  "webhooks.create": "ManageWebhooks",
  "webhooks.list": "ManageWebhooks",
  "webhooks.remove": "ManageWebhooks",
  "webhooks.rotateSecret": "ManageWebhooks",
  "webhooks.deliveries": "ManageWebhooks",
  "webhooks.redeliver": "ManageWebhooks"
}

/** The kind of the operation `operationId`, if it has one. */
export const operationKind = (operationId: string): OperationKind | undefined =>
  Object.hasOwn(operationKinds, operationId) ? operationKinds[operationId] : undefined

/** The action of an operation of `kind`, its mode that of the request. */
export const actionOf = (kind: OperationKind, mode: "persisted" | "preview"): ApiAction =>
  kind === "StartRun" ? { _tag: "StartRun", mode } : { _tag: kind }

/**
 * The document's operations with the scope each needs: `x-required-scopes` (the one scope, as a list), and, where
 * a preview needs another, `x-required-scopes-preview`. An `OpenApi.Transform` of the whole API.
 */
export const withRequiredScopes = <Spec extends { readonly paths?: unknown }>(spec: Spec): Spec => {
  const paths = (spec.paths ?? {}) as Record<string, Record<string, Record<string, unknown> | undefined>>
  for (const [path, operations] of Object.entries(paths)) {
    if (!path.startsWith("/api/")) continue
    for (const operation of Object.values(operations)) {
      const id = operation?.["operationId"]
      const kind = typeof id === "string" ? operationKind(id) : undefined
      if (operation === undefined || kind === undefined) continue
      const persisted: ApiScope = requiredScope(actionOf(kind, "persisted"))
      const preview: ApiScope = requiredScope(actionOf(kind, "preview"))
      operation["x-required-scopes"] = [persisted]
      if (preview !== persisted) operation["x-required-scopes-preview"] = [preview]
      const needs =
        preview === persisted
          ? `Needs an API key with the scope \`${persisted}\`.`
          : `Needs an API key with the scope \`${persisted}\` (\`${preview}\` with \`mode: "preview"\`).`
      const description = operation["description"]
      operation["description"] =
        typeof description === "string" && description !== "" ? `${description}\n\n${needs}` : needs
    }
  }
  return spec
}
