/**
 * An endpoint takes only what it declares:
 *
 * - **no query schema, no query.** Any query field is refused like an unknown field of a declared
 *   query (400 VALIDATION_FAILED naming `query.<field>`), so a typo'd or misplaced parameter never
 *   goes unnoticed;
 * - **no payload schema, no body.** An empty body, or the empty JSON object `{}` (what many HTTP
 *   clients send with every POST), is accepted; anything else is 400 VALIDATION_FAILED naming
 *   `body.<field>` (or `body` for what is not an object), so a field sent to an endpoint that
 *   ignores it (`POST /admin/api-keys/{id}/revoke` with `{"reason": …}`) is never silently
 *   dropped.
 *
 * One middleware per group rather than an empty schema per endpoint: every endpoint added to a group
 * is covered, and the typed client's calls stay free of `query: {}` / `payload: {}` arguments. Added
 * before the group's auth middleware, so an unauthenticated request is still 401 first, as it is for
 * endpoints with schemas. The system group (`/healthz`, `/readyz`, `/metrics`) does not use it:
 * probes and scrapers may add cache-busting queries.
 */
import { HttpApiMiddleware } from "effect/http-api"
import * as Errors from "./Errors.ts"

export class DeclaredOnly extends HttpApiMiddleware.Service<DeclaredOnly>()("@enrich/http/DeclaredOnly", {
  error: Errors.BadRequest
}) {}
