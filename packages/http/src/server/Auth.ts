/** Bearer authentication: workspace API keys for /api, the operator token for /admin. */
import { Config, Effect, Layer, Option, Redacted } from "effect"
import { timingSafeEqual, createHash } from "node:crypto"
import { CommandMetadata } from "@enrich/domain/ports/EventStore"
import { HttpServerResponse } from "effect/http"
import { AdminAuth, ApiKeyAuth, CurrentWorkspace } from "../api/Api.ts"
import { ApiKeyCache } from "./ApiKeyCache.ts"
import { RateLimiter } from "./RateLimit.ts"
import { apiError } from "../api/Errors.ts"

const unauthorized = (message: string) => apiError("UNAUTHORIZED", message)

export const ApiKeyAuthLive = Layer.effect(
  ApiKeyAuth,
  Effect.gen(function* () {
    const keys = yield* ApiKeyCache
    const limiter = yield* RateLimiter
    return ApiKeyAuth.of({
      bearer: (httpEffect, { credential }) =>
        Effect.gen(function* () {
          const secret = Redacted.value(credential)
          if (secret === "")
            return yield* Effect.fail(unauthorized("Missing or malformed Authorization: Bearer <api key> header"))
          const found = yield* keys.authenticate(secret)
          if (Option.isNone(found)) return yield* Effect.fail(unauthorized("Unknown or revoked API key"))
          const allowed = yield* limiter.take(found.value.keyId)
          if (!allowed.allowed) {
            const message = `Too many requests for this API key; retry in ${allowed.retryAfter} s`
            return HttpServerResponse.jsonUnsafe(
              apiError("RATE_LIMITED", message, { retryAfter: allowed.retryAfter }),
              {
                status: 429,
                headers: { "retry-after": String(allowed.retryAfter) }
              }
            )
          }
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

/** Enabled only when ENRICH_ADMIN_TOKEN is set; otherwise the admin surface answers 404. */
export const AdminAuthLive = Layer.effect(
  AdminAuth,
  Effect.gen(function* () {
    const token = yield* Config.option(Config.Redacted("ENRICH_ADMIN_TOKEN"))
    return AdminAuth.of({
      bearer: (httpEffect, { credential }) => {
        if (Option.isNone(token) || Redacted.value(token.value) === "") {
          return Effect.fail(apiError("NOT_FOUND", "Not found"))
        }
        const given = Redacted.value(credential)
        return given !== "" && timingSafeEqual(digest(given), digest(Redacted.value(token.value)))
          ? Effect.gen(function* () {
              const context = yield* CommandMetadata
              return yield* Effect.provideService(httpEffect, CommandMetadata, { ...context, actor: "admin" })
            })
          : Effect.fail(unauthorized("Missing or wrong admin token"))
      }
    })
  })
)
