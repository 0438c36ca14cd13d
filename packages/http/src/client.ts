/**
 * The typed TypeScript client of the enrich API, derived from the same API
 * definition the server validates with (`HttpApiClient`). For services that
 * call enrich, and for the CLI.
 *
 * ```ts
 * const program = Effect.gen(function* () {
 *   const enrich = yield* EnrichClient
 *   const { enrichments } = yield* enrich.enrichments.catalog({ query: {} })
 * }).pipe(Effect.provide(EnrichClient.layer({ baseUrl: "http://127.0.0.1:8787", apiKey: "ek_…" })))
 * ```
 */
import { Context, Layer } from "effect"
import { FetchHttpClient, HttpClientRequest } from "effect/http"
import { HttpApiClient, HttpApiMiddleware } from "effect/http-api"
import { AdminAuth, ApiKeyAuth, EnrichApi } from "./api/Api.ts"

export interface EnrichClientOptions {
  readonly baseUrl: string
  /** a workspace API key, for /api */
  readonly apiKey?: string | undefined
  /** the operator token, for /admin */
  readonly adminToken?: string | undefined
}

export class EnrichClient extends Context.Service<EnrichClient, HttpApiClient.ForApi<typeof EnrichApi>>()(
  "@enrich/http/EnrichClient"
) {
  /** A client over `fetch`; each request carries the API key or the admin token its route needs. */
  static readonly layer = (options: EnrichClientOptions) =>
    Layer.effect(EnrichClient, HttpApiClient.make(EnrichApi, { baseUrl: options.baseUrl })).pipe(
      Layer.provide(
        HttpApiMiddleware.layerClient(ApiKeyAuth, ({ next, request }) =>
          next(options.apiKey === undefined ? request : HttpClientRequest.bearerToken(request, options.apiKey))
        )
      ),
      Layer.provide(
        HttpApiMiddleware.layerClient(AdminAuth, ({ next, request }) =>
          next(options.adminToken === undefined ? request : HttpClientRequest.bearerToken(request, options.adminToken))
        )
      ),
      Layer.provide(FetchHttpClient.layer)
    )
}
