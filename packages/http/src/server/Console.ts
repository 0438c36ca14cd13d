/**
 * The web console (packages/console, docs/CONSOLE.md) served by the API process beside the API: `GET /` is
 * its page (`index.html`) and `GET /assets/*` its script and style, read from the console's built `dist/`
 * (`ENRICH_CONSOLE_DIR`, default `packages/console/dist` of this checkout) by effect's HttpStaticServer,
 * which resolves a path only within that directory (a `..`, an encoded one or a NUL finds nothing).
 *
 * Every console answer, a 404 included, carries a strict Content-Security-Policy (scripts, styles and
 * connections from this origin only: no inline script, no `eval`, no framing) and `nosniff`. Any other
 * path is not the console's: it keeps the API's JSON 404. A console path that finds no file is a JSON 404
 * too, whatever the reason (a name too long for the file system is the client's, not a 500).
 */
import { Config, Effect } from "effect"
import { HttpServerRequest, HttpServerResponse, HttpStaticServer } from "effect/http"
import { fileURLToPath } from "node:url"
import { apiError } from "../api/Errors.ts"

/** Where the console's script, style and other built files are served. */
export const CONSOLE_ASSETS_PREFIX = "/assets/"

/** The console's policy: nothing but this origin's files and API; no inline script or style, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "object-src 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join("; ")

/** The headers of every console answer. */
export const consoleHeaders: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin"
}

const pathOf = (url: string) => {
  const query = url.indexOf("?")
  return query === -1 ? url : url.slice(0, query)
}

/** Whether a request is the console's: GET or HEAD of `/`, `/index.html` or a path under `/assets/`. */
export const isConsoleRequest = (method: string, url: string): boolean => {
  if (method !== "GET" && method !== "HEAD") return false
  const path = pathOf(url)
  return path === "/" || path === "/index.html" || path.startsWith(CONSOLE_ASSETS_PREFIX)
}

/** The built console's directory. */
export const consoleDir = Config.String("ENRICH_CONSOLE_DIR").pipe(
  Config.withDefault(fileURLToPath(new URL("../../../console/dist", import.meta.url)))
)

const notBuilt =
  "The console is not built: `npx -y pnpm@12.4.2 install` builds it (the root prepare script), or " +
  "`npx -y pnpm@12.4.2 --filter @enrich/console build`"

/** The console's handler, for the requests `isConsoleRequest` says are its own. */
export const makeConsole = Effect.gen(function* () {
  const root = yield* consoleDir
  // no directory index: `/` is mapped to index.html below, and a directory under assets/ is not a file
  const files = yield* HttpStaticServer.make({ root, index: undefined })
  return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const path = pathOf(request.url)
    const page = !path.startsWith(CONSOLE_ASSETS_PREFIX)
    const target = page ? request.modify({ url: "/index.html" }) : request
    return files.pipe(
      Effect.provideService(HttpServerRequest.HttpServerRequest, target),
      Effect.map((response) =>
        HttpServerResponse.setHeader(
          response,
          "cache-control",
          // the page names its files by their hash: they never change, the page may
          page ? "no-cache" : "public, max-age=31536000, immutable"
        )
      ),
      Effect.catchCause((cause) =>
        Effect.as(
          Effect.logDebug("a console path found no file", cause),
          HttpServerResponse.jsonUnsafe(apiError("NOT_FOUND", page ? notBuilt : "No such console file"), {
            status: 404
          })
        )
      ),
      Effect.map((response) => HttpServerResponse.setHeaders(response, consoleHeaders))
    )
  })
})
