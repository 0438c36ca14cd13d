/**
 * The API, called through `openapi-fetch` with the types `openapi-typescript` generates from the API's
 * OpenAPI document at build time (scripts/build.ts): every path, parameter and body here is checked
 * against what the server declares. The key is added by a middleware, as a header only.
 */
import createClient, { type Middleware } from "openapi-fetch"
import type { paths } from "./generated/api"
import { forgetKey, readKey } from "./session.ts"

type Json<T> = T extends { content: { "application/json": infer B } } ? B : never

export type RunBody = Json<paths["/api/enrichment/{id}"]["get"]["responses"][200]>
export type Run = RunBody["run"]
export type RunStatus = "pending" | "running" | "completed" | "failed" | "cancelled"
export type Item = Json<paths["/api/enrichment/{id}/items"]["get"]["responses"][200]>["items"][number]
export type ItemStatus = NonNullable<paths["/api/enrichment/{id}/items"]["get"]["parameters"]["query"]>["status"]
export type Enrichment = Json<paths["/api/enrichments"]["get"]["responses"][200]>["enrichments"][number]
export type Balance = Json<paths["/api/credits"]["get"]["responses"][200]>
export type LedgerEntry = Json<paths["/api/credits/ledger"]["get"]["responses"][200]>["entries"][number]

/** Told when the API refuses the key (401): the console forgets it and shows the login form. */
let onUnauthorized: (() => void) | undefined
export const whenUnauthorized = (f: () => void) => {
  onUnauthorized = f
}

const auth: Middleware = {
  onRequest({ request }) {
    const key = readKey()
    if (key !== undefined) request.headers.set("Authorization", `Bearer ${key}`)
    return request
  },
  onResponse({ response }) {
    if (response.status === 401 && readKey() !== undefined) {
      forgetKey()
      onUnauthorized?.()
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
