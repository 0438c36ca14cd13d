/**
 * Bearer authentication: workspace API keys for /api, the operator token for /admin, the metrics token
 * for /metrics. A request with a missing, wrong or expired key or token counts against its address
 * (UnauthenticatedLimiter); an address over its limit is answered 429 before its key is looked up. A
 * restricted key is then held to its scopes (DECISIONS.md 69): a request outside them is 403 FORBIDDEN,
 * naming the scope it lacks.
 */
import { Clock, Config, Effect, Layer, Option, Redacted } from "effect"
import { timingSafeEqual, createHash } from "node:crypto"
import { type ApiScope, isExpired, missingForUnknownAction, missingScope } from "@enrich/domain/auth/ApiKeyScopes"
import { CommandMetadata } from "@enrich/domain/ports/EventStore"
import { ActingApiKey } from "@enrich/domain/ports/KeyBudgets"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { AdminAuth, ApiKeyAuth, CurrentWorkspace, MetricsAuth } from "../api/Api.ts"
import { actionOf, operationKind } from "../api/Scopes.ts"
import { ApiKeyCache, type AuthenticatedKey } from "./ApiKeyCache.ts"
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

/**
 * Whether the request asks only for a preview: `mode: "preview"` in its JSON body (a dispatch, a retry). The body
 * is read here only for a restricted key on such an operation (it is read once: the endpoint decodes the same
 * bytes); one that does not parse is no preview, and the endpoint refuses it.
 */
const requestMode = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const contentType = request.headers["content-type"] ?? "application/json"
  if (!/^application\/json\b/i.test(contentType.trim())) return "persisted" as const
  const body = yield* Effect.option(request.json)
  return Option.isSome(body) &&
    typeof body.value === "object" &&
    body.value !== null &&
    !Array.isArray(body.value) &&
    (body.value as { readonly mode?: unknown }).mode === "preview"
    ? ("preview" as const)
    : ("persisted" as const)
})

/** The scope `key` lacks for operation `operationId` of this request (ApiKeyScopes.ts, Scopes.ts); none when it may. */
const lackedScope = (key: AuthenticatedKey, operationId: string) =>
  Effect.gen(function* () {
    if (key.scopes === null) return undefined
    const kind = operationKind(operationId)
    if (kind === undefined) return missingForUnknownAction(key.scopes)
    const mode =
      kind === "StartRun" && !(key.scopes.includes("preview") && key.scopes.includes("dispatch"))
        ? yield* requestMode
        : "persisted"
    return missingScope(key.scopes, actionOf(kind, mode))
  })

const forbidden = (missingScope: ApiScope) =>
  apiError("FORBIDDEN", `This API key lacks the scope \`${missingScope}\` this request needs`, { missingScope })

/** A key found but expired is no key: refused like an unknown one (DECISIONS.md 69). */
const unexpired = (found: Option.Option<AuthenticatedKey>, now: number): Option.Option<AuthenticatedKey> =>
  Option.filter(found, (key) => !isExpired(key.expiresAt === null ? null : Date.parse(key.expiresAt), now))

export const ApiKeyAuthLive = Layer.effect(
  ApiKeyAuth,
  Effect.gen(function* () {
    const keys = yield* ApiKeyCache
    const limiter = yield* RateLimiter
    const guard = yield* gate
    return ApiKeyAuth.of({
      bearer: (httpEffect, { credential, endpoint, group }) =>
        Effect.gen(function* () {
          const address = yield* clientAddress
          const secret = Redacted.value(credential)
          const retryAfter = guard.blocked(address)
          let found: Option.Option<AuthenticatedKey>
          if (retryAfter === undefined) {
            const known = secret === "" ? Option.none() : yield* keys.authenticate(secret)
            // expiry is judged now, by the clock, whether the key was remembered or read
            found = unexpired(known, yield* Clock.currentTimeMillis)
            if (Option.isNone(found)) {
              guard.failed(address)
              return yield* Effect.fail(
                unauthorized(
                  secret === ""
                    ? "Missing or malformed Authorization: Bearer <api key> header"
                    : "Unknown, revoked or expired API key"
                )
              )
            }
          } else {
            // over the limit: only a key this process remembers as valid goes on (no lookup either way)
            found = secret === "" ? Option.none() : unexpired(keys.remembered(secret), yield* Clock.currentTimeMillis)
            if (Option.isNone(found)) return guard.refuse(retryAfter)
          }
          const key = found.value
          const allowed = yield* limiter.take(key.keyId)
          if (!allowed.allowed) return tooManyRequests("Too many requests for this API key", allowed.retryAfter)
          const lacked = yield* lackedScope(key, `${group.identifier}.${endpoint.identifier}`)
          if (lacked !== undefined) return yield* Effect.fail(forbidden(lacked))
          const context = yield* CommandMetadata
          return yield* httpEffect.pipe(
            Effect.provideService(CurrentWorkspace, key),
            Effect.provideService(ActingApiKey, { keyId: key.keyId, creditLimit: key.creditLimit }),
            Effect.provideService(CommandMetadata, { ...context, actor: `api-key:${key.keyId}` })
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
