/**
 * The console's screens by the URL's fragment (`#/runs`, `#/runs/ID`, `#/credits`, `#/catalog`): the
 * server serves one page at `/`, so a reload or a shared link opens the same screen, and no path other
 * than `/` and `/assets/*` is the console's. The key is never in the URL.
 */
import { useEffect, useState } from "preact/hooks"

export type Route =
  | { readonly screen: "runs" }
  | { readonly screen: "run"; readonly id: string }
  | { readonly screen: "credits" }
  | { readonly screen: "catalog" }

export const parseRoute = (hash: string): Route => {
  const path = hash.replace(/^#/, "")
  const run = /^\/runs\/([^/?#]{1,200})$/.exec(path)
  if (run !== null) return { screen: "run", id: decodeURIComponent(run[1]!) }
  if (path === "/credits") return { screen: "credits" }
  if (path === "/catalog") return { screen: "catalog" }
  return { screen: "runs" }
}

export const runHref = (id: string) => `#/runs/${encodeURIComponent(id)}`

export const useRoute = (): Route => {
  const [route, setRoute] = useState(() => parseRoute(location.hash))
  useEffect(() => {
    const changed = () => setRoute(parseRoute(location.hash))
    addEventListener("hashchange", changed)
    return () => removeEventListener("hashchange", changed)
  }, [])
  return route
}
