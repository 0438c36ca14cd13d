/**
 * The routes the server serves, read from the HttpApi definition (and the document and its page), and
 * matched by the router's own matcher with its defaults, so they agree with it:
 *
 * - `routeOf(url)`: the label of a request in metrics and logs, the pattern of the endpoint its path
 *   matches (`/api/enrichment/:id/items`), any other path `other` — a bounded set whatever clients send;
 * - `serves(method, url)`: whether the router has a route for the request (HEAD as GET, as it does).
 */
import { FindMyWay } from "effect/http"
import { HttpApi } from "effect/http-api"
import { DOCS_PATH, EnrichApi, OPENAPI_PATH } from "../api/Api.ts"

/** The label of paths no endpoint serves. */
export const OTHER = "other"

const served = (() => {
  const routes: Array<readonly [method: string, path: string]> = [
    ["GET", OPENAPI_PATH],
    ["GET", DOCS_PATH]
  ]
  HttpApi.reflect(EnrichApi, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => routes.push([endpoint.method, endpoint.path])
  })
  const byPath = FindMyWay.make<string>()
  const byRoute = FindMyWay.make<true>()
  const paths = new Set<string>()
  for (const [method, path] of routes) {
    byRoute.on(method, path as FindMyWay.PathInput, true)
    if (!paths.has(path)) byPath.all(path as FindMyWay.PathInput, path)
    paths.add(path)
  }
  return { byPath, byRoute, paths: [...paths] }
})()

/** Every route label there can be: the served patterns and `other`. */
export const routeLabels: ReadonlyArray<string> = [...served.paths, OTHER]

/** The route label of a request URL: the pattern of the endpoint its path matches, else `other`. */
export const routeOf = (url: string): string => {
  try {
    return served.byPath.find("GET", url)?.handler ?? OTHER
  } catch {
    return OTHER
  }
}

/** Whether the router has a route for this method and URL. */
export const serves = (method: string, url: string): boolean => {
  try {
    return (
      served.byRoute.find(method, url) !== undefined ||
      (method === "HEAD" && served.byRoute.find("GET", url) !== undefined)
    )
  } catch {
    // what the matcher cannot read, the router cannot either: its failure answers it
    return true
  }
}
