/**
 * The HTTP routes (API, `/openapi.json`, `/docs`, `/metrics`), the web console (`/`, `/assets/*`:
 * Console.ts) and the server. The port is
 * bound last, after the database, migrations and routes are ready, so no early
 * request hangs.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Config, Effect, Layer } from "effect"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiBuilder, HttpApiScalar } from "effect/http-api"
import { createServer } from "node:http"
import { DOCS_PATH, EnrichApi, OPENAPI_PATH } from "../api/Api.ts"
import { apiError } from "../api/Errors.ts"
import { ApiKeyCache } from "./ApiKeyCache.ts"
import { isConsoleRequest, makeConsole } from "./Console.ts"
import { AdminAuthLive, ApiKeyAuthLive, MetricsAuthLive } from "./Auth.ts"
import { DeclaredOnlyLive } from "./DeclaredOnly.ts"
import { withErrorEnvelope } from "./ErrorEnvelope.ts"
import { HandlersLive } from "./Handlers.ts"
import { LiveRuns } from "./LiveRuns.ts"
import { Metrics } from "./Metrics.ts"
import { RateLimiter, UnauthenticatedLimiter } from "./RateLimit.ts"
import { serves } from "./Routes.ts"

export const ApiRoutes = Layer.mergeAll(
  HttpApiBuilder.layer(EnrichApi, { openapiPath: OPENAPI_PATH }).pipe(
    Layer.provide(HandlersLive),
    Layer.provide([ApiKeyAuthLive, AdminAuthLive, MetricsAuthLive, DeclaredOnlyLive, LiveRuns.layer]),
    // one cache for authentication, for the revocations made through this process and for the streams
    // those revocations end
    Layer.provide(ApiKeyCache.layer)
  ),
  HttpApiScalar.layer(EnrichApi, { path: DOCS_PATH })
)

/**
 * Node's HTTP server with its limits set (README, "Running it for real"): a client has
 * ENRICH_HTTP_HEADERS_TIMEOUT_MS to send its headers and ENRICH_HTTP_REQUEST_TIMEOUT_MS its whole
 * request (checked every second, not Node's 30 s), an idle kept-alive connection closes after
 * ENRICH_HTTP_KEEP_ALIVE_TIMEOUT_MS, and past ENRICH_HTTP_MAX_CONNECTIONS open connections a new one is
 * closed at once. Answers are not timed out here: an SSE stream lasts as long as its run.
 */
const limitedServer = Effect.gen(function* () {
  const maxConnections = yield* Config.Int("ENRICH_HTTP_MAX_CONNECTIONS").pipe(Config.withDefault(1000))
  const requestTimeout = yield* Config.Int("ENRICH_HTTP_REQUEST_TIMEOUT_MS").pipe(Config.withDefault(30_000))
  const headersTimeout = yield* Config.Int("ENRICH_HTTP_HEADERS_TIMEOUT_MS").pipe(Config.withDefault(10_000))
  const keepAliveTimeout = yield* Config.Int("ENRICH_HTTP_KEEP_ALIVE_TIMEOUT_MS").pipe(Config.withDefault(5_000))
  return () => {
    const server = createServer({
      requestTimeout,
      // Node refuses a headers timeout longer than the request's
      headersTimeout: requestTimeout > 0 ? Math.min(headersTimeout, requestTimeout) : headersTimeout,
      connectionsCheckingInterval: 1000
    })
    server.keepAliveTimeout = keepAliveTimeout
    if (maxConnections > 0) server.maxConnections = maxConnections
    return server
  }
})

/**
 * A request no route serves is answered 404 here, as the error envelope answers the router's
 * RouteNotFound, without going through the router: its failure costs an unknown-path flood twice the
 * memory of a flood of served requests (an API process plateaued at 460 MB instead of 280 MB). The
 * console's paths (`/`, `/assets/*`), which no API route has, go to the console.
 */
const unknownRoutesAnswered = <E, R, E2, R2>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  consoleApp: Effect.Effect<HttpServerResponse.HttpServerResponse, E2, R2>
) =>
  Effect.flatMap(
    HttpServerRequest.HttpServerRequest,
    (request): Effect.Effect<HttpServerResponse.HttpServerResponse, E | E2, R | R2> =>
      serves(request.method, request.url)
        ? app
        : isConsoleRequest(request.method, request.url)
          ? consoleApp
          : Effect.succeed(HttpServerResponse.jsonUnsafe(apiError("NOT_FOUND", "No such route"), { status: 404 }))
  )

/** Serves ApiRoutes on `port` (0 = any free port) once everything they need is built. */
export const serveApi = (options: { readonly port: number; readonly host?: string | undefined }) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const app = yield* HttpRouter.toHttpEffect(ApiRoutes)
      const consoleApp = yield* makeConsole
      const server = yield* limitedServer
      return HttpServer.serve(withErrorEnvelope(unknownRoutesAnswered(app, consoleApp))).pipe(
        HttpServer.withLogAddress,
        Layer.provide(NodeHttpServer.layerServer(server, { port: options.port, host: options.host ?? "0.0.0.0" }))
      )
    })
  ).pipe(
    Layer.provide(NodeHttpServer.layerHttpServices),
    // one registry for the handlers (/metrics) and the request envelope that records into it
    Layer.provide([Metrics.layer, RateLimiter.layer, UnauthenticatedLimiter.layer])
  )
