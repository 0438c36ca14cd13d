/**
 * The query rule of endpoints that declare no query: they take none. Any query
 * field is refused like an unknown field of a declared query (400
 * VALIDATION_FAILED naming `query.<field>`), so a typo'd or misplaced parameter
 * never goes unnoticed. One middleware per group rather than an empty query
 * schema per endpoint: every endpoint added to a group is covered, and the typed
 * client's calls stay free of a `query: {}` argument. Added before the group's
 * auth middleware, so an unauthenticated request is still 401 first, as it is
 * for endpoints with a query schema. The system group (`/healthz`, `/readyz`,
 * `/metrics`) does not use it: probes and scrapers may add cache-busting queries.
 */
import { HttpApiMiddleware } from "effect/http-api"
import * as Errors from "./Errors.ts"

export class NoQuery extends HttpApiMiddleware.Service<NoQuery>()("@enrich/http/NoQuery", {
  error: Errors.BadRequest
}) {}
