/**
 * The console's screens by the URL's fragment (`#/runs`, `#/runs/ID`, `#/leads`, `#/lists`, `#/lists/ID`,
 * `#/import`, `#/credits`, `#/catalog`, `#/webhooks`, `#/webhooks/ID`): the
 * server serves one page at `/`, so a reload or a shared link opens the same screen, and no path other
 * than `/` and `/assets/*` is the console's. The key is never in the URL.
 */
import { useEffect, useState } from "preact/hooks"

export type Route =
  | { readonly screen: "runs" }
  | { readonly screen: "run"; readonly id: string }
  | { readonly screen: "credits" }
  | { readonly screen: "catalog" }
  | { readonly screen: "leads" }
  | { readonly screen: "lists" }
  | { readonly screen: "list"; readonly id: string }
  | { readonly screen: "import" }
  | { readonly screen: "webhooks" }
  | { readonly screen: "webhook"; readonly id: string }

export const parseRoute = (hash: string): Route => {
  const path = hash.replace(/^#/, "")
  const run = /^\/runs\/([^/?#]{1,200})$/.exec(path)
  if (run !== null) return { screen: "run", id: decodeURIComponent(run[1]!) }
  const list = /^\/lists\/([^/?#]{1,200})$/.exec(path)
  if (list !== null) return { screen: "list", id: decodeURIComponent(list[1]!) }
  const webhook = /^\/webhooks\/([^/?#]{1,200})$/.exec(path)
  if (webhook !== null) return { screen: "webhook", id: decodeURIComponent(webhook[1]!) }
  if (path === "/credits") return { screen: "credits" }
  if (path === "/catalog") return { screen: "catalog" }
  if (path === "/leads") return { screen: "leads" }
  if (path === "/lists") return { screen: "lists" }
  if (path === "/import") return { screen: "import" }
  if (path === "/webhooks") return { screen: "webhooks" }
  return { screen: "runs" }
}

export const runHref = (id: string) => `#/runs/${encodeURIComponent(id)}`
export const listHref = (id: string) => `#/lists/${encodeURIComponent(id)}`
export const webhookHref = (id: string) => `#/webhooks/${encodeURIComponent(id)}`

export const useRoute = (): Route => {
  const [route, setRoute] = useState(() => parseRoute(location.hash))
  useEffect(() => {
    const changed = () => setRoute(parseRoute(location.hash))
    addEventListener("hashchange", changed)
    return () => removeEventListener("hashchange", changed)
  }, [])
  return route
}
