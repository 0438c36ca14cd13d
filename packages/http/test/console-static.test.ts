/**
 * The web console's files served by the API process (src/server/Console.ts), on a real server whose
 * ENRICH_CONSOLE_DIR is a directory this test writes (so the test needs no console build): `/` is the
 * page, `/assets/*` its files, each with the strict Content-Security-Policy and `nosniff`; no path reaches
 * a file outside that directory, however it is spelled (raw requests: fetch would normalise the dots);
 * a console path that finds nothing is a JSON 404 with the same headers; any other path keeps the API's
 * JSON 404; and the API's routes are untouched. A second server on a directory with nothing built says
 * how to build the console.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CONTENT_SECURITY_POLICY } from "../src/server/Console.ts"
import { apiOnlyTestServer, expectError, TestServer, use } from "./support/TestServer.ts"

const base = mkdtempSync(join(tmpdir(), "enrich-console-"))
const dist = join(base, "dist")
mkdirSync(join(dist, "assets", "sub"), { recursive: true })
writeFileSync(join(dist, "index.html"), '<!doctype html><script type="module" src="/assets/app-1.js"></script>')
writeFileSync(join(dist, "assets", "app-1.js"), "console.log('console')")
writeFileSync(join(dist, "assets", "app-1.css"), "body{}")
writeFileSync(join(base, "secret.txt"), "a file beside the console, never served")
writeFileSync(join(base, "package.json"), '{"secret":true}')
const empty = mkdtempSync(join(tmpdir(), "enrich-console-empty-"))

/** One GET with the path sent exactly as written. */
const raw = (baseUrl: string, path: string, method = "GET") =>
  new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const url = new URL(baseUrl)
    const request = http.request({ host: url.hostname, port: url.port, method, path, agent: false }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk) => (body += chunk))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }))
    })
    request.on("error", reject)
    request.end()
  })

const expectConsoleHeaders = (headers: http.IncomingHttpHeaders | Headers) => {
  const get = (name: string) => (headers instanceof Headers ? headers.get(name) : (headers[name] as string | undefined))
  const csp = get("content-security-policy") ?? ""
  assert.strictEqual(csp, CONTENT_SECURITY_POLICY)
  for (const directive of [
    "default-src 'self'",
    "script-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
    "form-action 'self'"
  ]) {
    assert.include(csp, directive)
  }
  assert.notInclude(csp, "unsafe-inline")
  assert.notInclude(csp, "unsafe-eval")
  assert.strictEqual(get("x-content-type-options"), "nosniff")
}

layer(apiOnlyTestServer({ ENRICH_CONSOLE_DIR: dist }), { timeout: 120_000, excludeTestServices: true })(
  "console static serving (integration, real server)",
  (it) => {
    it.effect("the_page_and_its_assets_are_served_with_a_strict_csp_and_nosniff", () =>
      Effect.gen(function* () {
        const page = yield* use((api) => api.get("/"))
        assert.strictEqual(page.status, 200)
        assert.include(page.headers.get("content-type") ?? "", "text/html")
        assert.include(String(page.body), "/assets/app-1.js")
        assert.strictEqual(page.headers.get("cache-control"), "no-cache")
        expectConsoleHeaders(page.headers)
        const index = yield* use((api) => api.get("/index.html?x=1"))
        assert.strictEqual(index.status, 200)
        expectConsoleHeaders(index.headers)

        const script = yield* use((api) => api.get("/assets/app-1.js"))
        assert.strictEqual(script.status, 200)
        assert.include(script.headers.get("content-type") ?? "", "text/javascript")
        assert.include(script.headers.get("cache-control") ?? "", "immutable")
        expectConsoleHeaders(script.headers)
        const style = yield* use((api) => api.get("/assets/app-1.css"))
        assert.include(style.headers.get("content-type") ?? "", "text/css")

        const api = yield* TestServer
        const head = yield* Effect.promise(() => raw(api.baseUrl, "/", "HEAD"))
        assert.strictEqual(head.status, 200)
        expectConsoleHeaders(head.headers)
      })
    )

    it.effect("no_path_reaches_a_file_outside_the_console_directory", () =>
      Effect.gen(function* () {
        const api = yield* TestServer
        for (const path of [
          "/assets/../../secret.txt",
          "/assets/../../package.json",
          "/assets/..%2f..%2fsecret.txt",
          "/assets/%2e%2e/%2e%2e/secret.txt",
          "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
          "/assets/..\\..\\secret.txt",
          "/assets/..%5c..%5csecret.txt",
          "/assets//../../secret.txt",
          "/assets/%00../../secret.txt",
          "/assets/app-1.js%00.txt",
          "/assets/%zz",
          "/assets/../../../../../../etc/passwd",
          `/assets/${"a".repeat(5000)}`,
          "/assets/sub",
          "/assets/sub/",
          "/assets/"
        ]) {
          const answer = yield* Effect.promise(() => raw(api.baseUrl, path))
          assert.strictEqual(answer.status, 404, `${path}: ${answer.status} ${answer.body.slice(0, 200)}`)
          assert.notInclude(answer.body, "never served", path)
          assert.notInclude(answer.body, "root:", path)
          assert.notInclude(answer.body, '"secret"', path)
          assert.strictEqual(JSON.parse(answer.body).code, "NOT_FOUND", path)
          expectConsoleHeaders(answer.headers)
        }
        // a path the matcher normalises back into the directory is still one of its files
        const inside = yield* Effect.promise(() => raw(api.baseUrl, "/assets/sub/../app-1.js"))
        assert.strictEqual(inside.status, 200)
      })
    )

    it.effect("an_unknown_console_file_is_a_json_404_with_the_console_headers_and_other_paths_keep_the_api_404", () =>
      Effect.gen(function* () {
        const missing = yield* use((api) => api.get("/assets/nope-2.js"))
        expectError(missing, 404, "NOT_FOUND")
        expectConsoleHeaders(missing.headers)
        for (const path of ["/no/such/route", "/runs", "/console", "/secret.txt", "/favicon.ico", "/index.htm"]) {
          const answer = yield* use((api) => api.get(path))
          expectError(answer, 404, "NOT_FOUND")
          assert.strictEqual(answer.body.message, "No such route", path)
          assert.isNull(answer.headers.get("content-security-policy"), path)
        }
        // the console answers reads only; a write to its paths is the API's 404
        expectError(yield* use((api) => api.post("/", { body: {} })), 404, "NOT_FOUND")
        expectError(yield* use((api) => api.post("/assets/app-1.js", { body: {} })), 404, "NOT_FOUND")
        // the API is untouched
        const health = yield* use((api) => api.get("/healthz"))
        assert.deepStrictEqual([health.status, health.body], [200, { status: "ok" }])
        assert.strictEqual((yield* use((api) => api.get("/openapi.json"))).status, 200)
        expectError(yield* use((api) => api.get("/api/enrichments")), 401, "UNAUTHORIZED")
      })
    )
  }
)

layer(apiOnlyTestServer({ ENRICH_CONSOLE_DIR: empty }), { timeout: 120_000, excludeTestServices: true })(
  "console not built (integration, real server)",
  (it) => {
    it.effect("the_page_says_how_to_build_the_console", () =>
      Effect.gen(function* () {
        const page = yield* use((api) => api.get("/"))
        expectError(page, 404, "NOT_FOUND")
        assert.include(page.body.message, "--filter @enrich/console build")
        expectConsoleHeaders(page.headers)
      })
    )
  }
)
