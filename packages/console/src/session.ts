/**
 * The workspace API key of this browser tab: kept in sessionStorage (gone when the tab closes), sent only
 * as `Authorization: Bearer` by the typed client (api.ts), never put in a URL and never logged.
 */
const KEY = "enrich.apiKey"

export const readKey = (): string | undefined => sessionStorage.getItem(KEY) ?? undefined

export const saveKey = (key: string) => sessionStorage.setItem(KEY, key)

export const forgetKey = () => sessionStorage.removeItem(KEY)
