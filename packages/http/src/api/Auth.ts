/** Bearer security of the API: workspace API keys for /api, the operator token for /admin, the metrics token. */
import { Context } from "effect"
import { HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import type { KeyScopes } from "@enrich/domain/auth/ApiKeyScopes"
import * as Errors from "./Errors.ts"

/**
 * The workspace an API key belongs to, and the key's restrictions (DECISIONS.md 69: scopes, null for every
 * scope; a monthly credit limit; an expiry, ISO-8601), provided by ApiKeyAuth to every /api handler.
 */
export class CurrentWorkspace extends Context.Service<
  CurrentWorkspace,
  {
    readonly workspaceId: string
    readonly keyId: string
    readonly scopes: KeyScopes
    readonly creditLimit: number | null
    readonly expiresAt: string | null
  }
>()("@enrich/http/CurrentWorkspace") {}

/**
 * A workspace API key: 401 when missing, unknown, revoked or expired; 403 `FORBIDDEN` when the key lacks the
 * scope the endpoint needs (./Scopes.ts), so every /api endpoint declares both.
 */
export class ApiKeyAuth extends HttpApiMiddleware.Service<
  ApiKeyAuth,
  { provides: CurrentWorkspace; requires: never }
>()("@enrich/http/ApiKeyAuth", {
  requiredForClient: true,
  security: { bearer: HttpApiSecurity.bearer },
  error: [Errors.Unauthorized, Errors.Forbidden, Errors.RateLimited]
}) {}

export class AdminAuth extends HttpApiMiddleware.Service<AdminAuth, { provides: never; requires: never }>()(
  "@enrich/http/AdminAuth",
  {
    requiredForClient: true,
    security: { bearer: HttpApiSecurity.bearer },
    error: [Errors.Unauthorized, Errors.NotFound, Errors.RateLimited]
  }
) {}

/**
 * `/metrics` behind `ENRICH_METRICS_TOKEN` when it is set (`Authorization: Bearer <token>`), open
 * otherwise. Not a security scheme of the document: the endpoint is open by default.
 */
export class MetricsAuth extends HttpApiMiddleware.Service<MetricsAuth>()("@enrich/http/MetricsAuth", {
  error: [Errors.Unauthorized, Errors.RateLimited]
}) {}
