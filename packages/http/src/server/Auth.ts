/**
 * Bearer authentication: workspace API keys for /api, the operator token for /admin, the metrics token
 * for /metrics. A request with a missing or wrong key or token counts against its address
 * (UnauthenticatedLimiter); an address over its limit is answered 429 before its key is looked up.
 */
import { Config, Effect, Layer, Option, Redacted } from "effect"
import { timingSafeEqual, createHash } from "node:crypto"
import { CommandMetadata } from "@enrich/domain/ports/EventStore"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { AdminAuth, ApiKeyAuth, CurrentWorkspace, MetricsAuth } from "../api/Api.ts"
import { ApiKeyCache } from "./ApiKeyCache.ts"
import { Metrics, unauthenticatedLimited } from "./Metrics.ts"
import { RateLimiter, UnauthenticatedLimiter } from "./RateLimit.ts"
import { apiError } from "../api/Errors.ts"

const unauthorized = (message: string) => apiError("UNAUTHORIZED", message)

const tooManyRequests = (message: string, retryAfter: number) =>
  HttpServerResponse.jsonUnsafe(apiError("RATE_LIMITED", `${message}; retry in ${retryAfter} s`, { retryAfter }), {
    status: 429,
    headers: { "retry-after": String(retryAfter) }
  })

/** The address the request came from (the connection's peer). */
const clientAddress = Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
  Option.getOrElse(request.remoteAddress, () => "unknown")
)

/** The limit before authentication, as the three authentications use it. */
const gate = Effect.gen(function* () {
  const limiter = yield* UnauthenticatedLimiter
  const metrics = yield* Metrics
  return {
    /** Seconds to wait when `address` may not try now. */
    blocked: (address: string) => {
      const verdict = limiter.check(address)
      return verdict.allowed ? undefined : verdict.retryAfter
    },
    refuse: (retryAfter: number) => {
      metrics.count(unauthenticatedLimited)
      return tooManyRequests("Too many requests without valid credentials from this address", retryAfter)
    },
    failed: (address: string) => limiter.failed(address)
  }
})

export const ApiKeyAuthLive = Layer.effect(
  ApiKeyAuth,
  Effect.gen(function* () {
    const keys = yield* ApiKeyCache
    const limiter = yield* RateLimiter
    const guard = yield* gate
    return ApiKeyAuth.of({
      bearer: (httpEffect, { credential }) =>
        Effect.gen(function* () {
          const address = yield* clientAddress
          const secret = Redacted.value(credential)
          const retryAfter = guard.blocked(address)
          let found: Option.Option<{ readonly workspaceId: string; readonly keyId: string }>
          if (retryAfter === undefined) {
            found = secret === "" ? Option.none() : yield* keys.authenticate(secret)
            if (Option.isNone(found)) {
              guard.failed(address)
              return yield* Effect.fail(
                unauthorized(
                  secret === ""
                    ? "Missing or malformed Authorization: Bearer <api key> header"
                    : "Unknown or revoked API key"
                )
              )
            }
          } else {
            // over the limit: only a key this process remembers as valid goes on (no lookup either way)
            found = secret === "" ? Option.none() : keys.remembered(secret)
            if (Option.isNone(found)) return guard.refuse(retryAfter)
          }
          const allowed = yield* limiter.take(found.value.keyId)
          if (!allowed.allowed) return tooManyRequests("Too many requests for this API key", allowed.retryAfter)
          const context = yield* CommandMetadata
          return yield* httpEffect.pipe(
            Effect.provideService(CurrentWorkspace, found.value),
            Effect.provideService(CommandMetadata, { ...context, actor: `api-key:${found.value.keyId}` })
          )
        })
    })
  })
)

const digest = (value: string) => createHash("sha256").update(value).digest()

const sameSecret = (given: string, expected: string) => given !== "" && timingSafeEqual(digest(given), digest(expected))

/** Enabled only when ENRICH_ADMIN_TOKEN is set; otherwise the admin surface answers 404. */
export const AdminAuthLive = Layer.effect(
  AdminAuth,
  Effect.gen(function* () {
    const token = yield* Config.option(Config.Redacted("ENRICH_ADMIN_TOKEN"))
    const guard = yield* gate
    return AdminAuth.of({
      bearer: (httpEffect, { credential }) =>
        Effect.gen(function* () {
          if (Option.isNone(token) || Redacted.value(token.value) === "") {
            return yield* Effect.fail(apiError("NOT_FOUND", "Not found"))
          }
          const address = yield* clientAddress
          // over the limit, even the right token waits: a guess must not learn whether it was right
          const retryAfter = guard.blocked(address)
          if (retryAfter !== undefined) return guard.refuse(retryAfter)
          if (!sameSecret(Redacted.value(credential), Redacted.value(token.value))) {
            guard.failed(address)
            return yield* Effect.fail(unauthorized("Missing or wrong admin token"))
          }
          const context = yield* CommandMetadata
          return yield* Effect.provideService(httpEffect, CommandMetadata, { ...context, actor: "admin" })
        })
    })
  })
)

/** `/metrics` needs `Authorization: Bearer <ENRICH_METRICS_TOKEN>` when that is set; it is open otherwise. */
export const MetricsAuthLive = Layer.effect(
  MetricsAuth,
  Effect.gen(function* () {
    const token = yield* Config.option(Config.Redacted("ENRICH_METRICS_TOKEN"))
    const expected = Option.filter(Option.map(token, Redacted.value), (t) => t !== "")
    const guard = yield* gate
    return MetricsAuth.of((httpEffect) =>
      Option.isNone(expected)
        ? httpEffect
        : Effect.gen(function* () {
            const request = yield* HttpServerRequest.HttpServerRequest
            const address = yield* clientAddress
            const retryAfter = guard.blocked(address)
            if (retryAfter !== undefined) return guard.refuse(retryAfter)
            const given = /^Bearer (.+)$/i.exec(request.headers["authorization"] ?? "")?.[1] ?? ""
            if (!sameSecret(given, expected.value)) {
              guard.failed(address)
              return yield* Effect.fail(unauthorized("Missing or wrong metrics token"))
            }
            return yield* httpEffect
          })
    )
  })
)
