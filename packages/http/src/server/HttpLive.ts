/**
 * The HTTP routes (API, `/openapi.json`, `/docs`, `/metrics`) and the server. The port is
 * bound last, after the database, migrations and routes are ready, so no early
 * request hangs.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApiBuilder, HttpApiScalar } from "effect/http-api"
import { createServer } from "node:http"
import { EnrichApi } from "../api/Api.ts"
import { ApiKeyCache } from "./ApiKeyCache.ts"
import { AdminAuthLive, ApiKeyAuthLive } from "./Auth.ts"
import { NoQueryLive } from "./NoQuery.ts"
import { withErrorEnvelope } from "./ErrorEnvelope.ts"
import { HandlersLive } from "./Handlers.ts"
import { Metrics } from "./Metrics.ts"
import { RateLimiter } from "./RateLimit.ts"

export const ApiRoutes = Layer.mergeAll(
  HttpApiBuilder.layer(EnrichApi, { openapiPath: "/openapi.json" }).pipe(
    Layer.provide(HandlersLive),
    Layer.provide([ApiKeyAuthLive, AdminAuthLive, NoQueryLive]),
    // one cache for authentication and for the revocations made through this process
    Layer.provide(ApiKeyCache.layer)
  ),
  HttpApiScalar.layer(EnrichApi, { path: "/docs" })
)

/** Serves ApiRoutes on `port` (0 = any free port) once everything they need is built. */
export const serveApi = (options: { readonly port: number; readonly host?: string | undefined }) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const app = yield* HttpRouter.toHttpEffect(ApiRoutes)
      return HttpServer.serve(withErrorEnvelope(app)).pipe(
        HttpServer.withLogAddress,
        Layer.provide(NodeHttpServer.layerServer(createServer, { port: options.port, host: options.host ?? "0.0.0.0" }))
      )
    })
  ).pipe(
    Layer.provide(NodeHttpServer.layerHttpServices),
    // one registry for the handlers (/metrics) and the request envelope that records into it
    Layer.provide([Metrics.layer, RateLimiter.layer])
  )
