/**
 * What an API key may do (issue 22, DECISIONS.md 69): the scopes a request needs, and how long a key lives.
 *
 * A key holds a set of scopes, or every scope: keys created without `scopes` (and every key made before
 * scopes existed) hold all of them, those to come included. A request needs exactly one scope, by what it does:
 * - reading anything of the workspace (every GET, and the pure price calculator `POST /api/credits/preview`):
 *   `read`;
 * - starting a run (a dispatch, a retry): `dispatch`, or `preview` when it only asks what the run would be and
 *   cost (`mode: "preview"`, which writes nothing);
 * - cancelling a run: `dispatch`;
 * - creating, editing and deleting Leads and Lists, changing a List's members, importing: `leads:write`;
 * - anything about webhooks, reads included (a webhook's deliveries carry run ids, its secret is a signing
 *   key): `webhooks`.
 * The scopes are independent: `dispatch` does not imply `preview`, nor `leads:write` `read`.
 *
 * A key may expire: from `expiresAt` on it is refused as an unknown key is; an expiry given at creation must lie
 * ahead. Pure: the time is an argument.
 */
import { Schema } from "effect"

export const ApiScope = Schema.Literals(["read", "preview", "dispatch", "leads:write", "webhooks"])
export type ApiScope = typeof ApiScope.Type

/** Every scope, in their canonical order. */
export const allScopes: ReadonlyArray<ApiScope> = ApiScope.literals

/** A key's scopes: `null` is every scope, now and to come. */
export type KeyScopes = ReadonlyArray<ApiScope> | null

/** What a request does, as far as scopes go. */
export type ApiAction =
  | { readonly _tag: "Read" }
  | { readonly _tag: "StartRun"; readonly mode: "persisted" | "preview" }
  | { readonly _tag: "CancelRun" }
  | { readonly _tag: "WriteLeads" }
  | { readonly _tag: "ManageWebhooks" }

/** The scope `action` needs. */
export const requiredScope = (action: ApiAction): ApiScope => {
  switch (action._tag) {
    case "Read":
      return "read"
    case "StartRun":
      return action.mode === "preview" ? "preview" : "dispatch"
    case "CancelRun":
      return "dispatch"
    case "WriteLeads":
      return "leads:write"
    case "ManageWebhooks":
      return "webhooks"
  }
}

/** The scope a key holding `granted` lacks for `action`; undefined when it may. */
export const missingScope = (granted: KeyScopes, action: ApiAction): ApiScope | undefined => {
  const needed = requiredScope(action)
  return granted === null || granted.includes(needed) ? undefined : needed
}

/**
 * For an action the rule does not know (an operation no one has assigned a scope): only a key holding every
 * scope may; the first scope it lacks is named. A new endpoint is never open to a restricted key by mistake.
 */
export const missingForUnknownAction = (granted: KeyScopes): ApiScope | undefined =>
  granted === null ? undefined : allScopes.find((scope) => !granted.includes(scope))

/** `scopes` in the canonical order, each once (how a key's scopes are stored and shown). */
export const canonicalScopes = (scopes: ReadonlyArray<ApiScope>): ReadonlyArray<ApiScope> =>
  allScopes.filter((scope) => scopes.includes(scope))

// --- a key's life --------------------------------------------------------------------

/** Whether a key expiring at `expiresAt` (epoch milliseconds; null: never) is expired at `now`. */
export const isExpired = (expiresAt: number | null, now: number): boolean => expiresAt !== null && expiresAt <= now

/** Why an expiry given to a new key is refused (it must lie ahead of `now`); undefined when it is accepted. */
export const expiryRefusal = (expiresAt: number, now: number): string | undefined =>
  expiresAt <= now ? "must be in the future" : undefined
