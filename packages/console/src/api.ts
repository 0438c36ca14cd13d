/**
 * The API, called through `openapi-fetch` with the types `openapi-typescript` generates from the API's
 * OpenAPI document at build time (scripts/build.ts): every path, parameter and body here is checked
 * against what the server declares. The key is added by a middleware, as a header only.
 */
import createClient, { type Middleware } from "openapi-fetch"
import type { paths } from "./generated/api"
import { forgetAdminToken, forgetKey, readAdminToken, readKey } from "./session.ts"

type Json<T> = T extends { content: { "application/json": infer B } } ? B : never

export type RunBody = Json<paths["/api/enrichment/{id}"]["get"]["responses"][200]>
export type Run = RunBody["run"]
export type RunStatus = "pending" | "running" | "completed" | "failed" | "cancelled"
export type Item = Json<paths["/api/enrichment/{id}/items"]["get"]["responses"][200]>["items"][number]
export type ItemStatus = NonNullable<paths["/api/enrichment/{id}/items"]["get"]["parameters"]["query"]>["status"]
export type Enrichment = Json<paths["/api/enrichments"]["get"]["responses"][200]>["enrichments"][number]
export type Balance = Json<paths["/api/credits"]["get"]["responses"][200]>
export type LedgerEntry = Json<paths["/api/credits/ledger"]["get"]["responses"][200]>["entries"][number]
export type Lead = Json<paths["/api/leads"]["get"]["responses"][200]>["leads"][number]
export type List = Json<paths["/api/lists"]["get"]["responses"][200]>["lists"][number]
export type Member = Json<paths["/api/lists/{id}/leads"]["get"]["responses"][200]>["leads"][number]
export type ImportQuery = NonNullable<paths["/api/lists/import"]["post"]["parameters"]["query"]>
export type ImportAnswer = Json<paths["/api/lists/import"]["post"]["responses"][200]>
export type ImportPreview = Extract<ImportAnswer, { preview: unknown }>
export type ImportResult = Exclude<ImportAnswer, { preview: unknown }>
export type Webhook = Json<paths["/api/webhooks"]["get"]["responses"][200]>["webhooks"][number]
export type WebhookWithSecret = Json<paths["/api/webhooks"]["post"]["responses"][201]>["webhook"]
export type WebhookEvent = Webhook["events"][number]
export type WorkspaceSummary = Json<paths["/admin/workspaces"]["get"]["responses"][200]>["workspaces"][number]
export type Delivery = Json<paths["/api/webhooks/{id}/deliveries"]["get"]["responses"][200]>["deliveries"][number]

/**
 * Told when the API refuses a credential (401): the console forgets it and shows the login form (a refused
 * workspace key of an operator: the workspace picker).
 */
let onUnauthorized: ((what: "key" | "admin") => void) | undefined
export const whenUnauthorized = (f: (what: "key" | "admin") => void) => {
  onUnauthorized = f
}

const isAdmin = (url: string) => new URL(url).pathname.startsWith("/admin/")

/** `/admin` takes the operator's admin token, everything else the workspace key. */
const auth: Middleware = {
  onRequest({ request }) {
    const secret = isAdmin(request.url) ? readAdminToken() : readKey()
    if (secret !== undefined) request.headers.set("Authorization", `Bearer ${secret}`)
    return request
  },
  onResponse({ request, response }) {
    if (response.status !== 401) return response
    if (isAdmin(request.url)) {
      if (readAdminToken() !== undefined) {
        forgetAdminToken()
        forgetKey()
        onUnauthorized?.("admin")
      }
    } else if (readKey() !== undefined) {
      forgetKey()
      onUnauthorized?.("key")
    }
    return response
  }
}

export const api = createClient<paths>({ baseUrl: globalThis.location?.origin ?? "" })
api.use(auth)

/** What went wrong, in words that say what to do. */
export const problem = (error: unknown, response?: Response): string => {
  const body = (typeof error === "object" && error !== null ? error : {}) as { code?: unknown; message?: unknown }
  const said = typeof body.message === "string" ? body.message : undefined
  if (response === undefined) return "The API did not answer. Is the service running (`pnpm start`)? Then reload."
  if (response.status === 401) return "The API key was refused or has expired. Log in with a valid workspace key."
  if (response.status === 403)
    return `This key may not do that: ${said ?? "a scope is missing"}. Use a key with that scope.`
  if (response.status === 429) return "Too many requests for now. Wait a few seconds; the page retries by itself."
  if (response.status >= 500) return `The service failed (${response.status}). ${said ?? ""} Retry in a moment.`
  return said ?? `The API answered ${response.status}.`
}

/** Calls `f`; a thrown fetch (the network) becomes `{ error, response: undefined }` like an API error. */
export const attempt = async <T>(
  f: () => Promise<{ data?: T; error?: unknown; response: Response }>
): Promise<{ data: T } | { error: string }> => {
  try {
    const { data, error, response } = await f()
    if (data !== undefined && response.ok) return { data }
    return { error: problem(error, response) }
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "AbortError") throw cause
    return { error: problem(undefined, undefined) }
  }
}
