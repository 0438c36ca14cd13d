/**
 * What this browser tab keeps in sessionStorage (gone when the tab closes), never in a URL and never logged:
 *
 * - the workspace API key, sent as `Authorization: Bearer` on `/api` by the typed client (api.ts);
 * - for an operator, the admin token (sent on `/admin` only) and the workspace picked: its name and the id of
 *   the short-lived key the console made for it (revoked when the operator switches or logs out).
 */
const KEY = "enrich.apiKey"
const ADMIN = "enrich.adminToken"
const PICKED = "enrich.workspace"

export const readKey = (): string | undefined => sessionStorage.getItem(KEY) ?? undefined

export const saveKey = (key: string) => sessionStorage.setItem(KEY, key)

export const forgetKey = () => {
  sessionStorage.removeItem(KEY)
  sessionStorage.removeItem(PICKED)
}

export const readAdminToken = (): string | undefined => sessionStorage.getItem(ADMIN) ?? undefined

export const saveAdminToken = (token: string) => sessionStorage.setItem(ADMIN, token)

export const forgetAdminToken = () => sessionStorage.removeItem(ADMIN)

export interface Picked {
  readonly workspaceId: string
  readonly name: string
  readonly keyId: string
}

export const readPicked = (): Picked | undefined => {
  const stored = sessionStorage.getItem(PICKED)
  if (stored === null) return undefined
  try {
    return JSON.parse(stored) as Picked
  } catch {
    return undefined
  }
}

export const savePicked = (picked: Picked) => sessionStorage.setItem(PICKED, JSON.stringify(picked))
