/**
 * The outermost layer of every response: an `X-Request-Id`, the 1 MiB body
 * limit, and the error envelope for what no endpoint handled — malformed or
 * invalid requests become 400 VALIDATION_FAILED naming the offending paths,
 * unknown routes 404 NOT_FOUND, oversized bodies 413 PAYLOAD_TOO_LARGE; a store
 * failure that may pass (a deadlock victim, a lost connection) and was not
 * retried away is a 503 STORE_UNAVAILABLE with `Retry-After: 1` (the request
 * changed nothing: its transaction rolled back); any other failure is a 500
 * INTERNAL that carries the request id and no stack.
 */
import { ByteSize, Cause, Effect, type Schema, SchemaIssue } from "effect"
import { HttpIncomingMessage, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiError } from "effect/http-api"
import { randomUUID } from "node:crypto"
import { CommandMetadata } from "@enrich/domain/ports/EventStore"
import { isTransient } from "@enrich/adapters/postgres/Transient"
import { apiError } from "../api/Errors.ts"
import { Metrics, routeOf } from "./Metrics.ts"

export const maxBodySize = ByteSize.mebibytes(1)

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const where: Record<string, string> = {
  Payload: "body",
  Query: "query",
  Params: "path",
  Headers: "headers"
}

/** The first 100 offending paths, e.g. `body.scope.leadIds[3]`, each with its message. */
export const validationDetails = (kind: string, error: Schema.SchemaError) => {
  const issues = formatter(error.issue).issues
  const prefix = where[kind] ?? kind.toLowerCase()
  const rendered = issues.map((issue) => ({
    path: [prefix, ...(issue.path ?? []).map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))]
      .join("")
      .replace(/^(\w+)\./, "$1."),
    message: issue.message
  }))
  return { issues: rendered.slice(0, 100), total: rendered.length }
}

/** A body that does not parse, at path `body`, with the parser's words (where it stopped), cut short. */
const notJson = (cause: unknown) => {
  const said = cause instanceof Error ? cause.message.slice(0, 200) : undefined
  const message = said === undefined ? "not valid JSON" : `not valid JSON: ${said}`
  return apiError("VALIDATION_FAILED", `Invalid request: body: ${message}`, {
    details: { issues: [{ path: "body", message }], total: 1 }
  })
}

const json = (status: number, body: unknown) => HttpServerResponse.jsonUnsafe(body, { status })

const toResponse = (cause: Cause.Cause<unknown>, requestId: string) =>
  Effect.gen(function* () {
    for (const reason of cause.reasons) {
      const error = Cause.isFailReason(reason) ? reason.error : Cause.isDieReason(reason) ? reason.defect : undefined
      if (HttpApiError.HttpApiSchemaError.is(error) && error.kind !== "Body" && error.kind !== "ResponseHeaders") {
        const details = validationDetails(error.kind, error.cause)
        const first = details.issues[0]
        const message = first === undefined ? "Invalid request" : `Invalid request: ${first.path}: ${first.message}`
        return json(400, apiError("VALIDATION_FAILED", message, { details }))
      }
      if (HttpServerError.isHttpServerError(error)) {
        const inner = error.reason
        if (inner._tag === "RouteNotFound") return json(404, apiError("NOT_FOUND", "No such route"))
        if (inner._tag === "RequestParseError") {
          return inner.reason === "BodyTooLarge"
            ? json(413, apiError("PAYLOAD_TOO_LARGE", `Request bodies are limited to ${ByteSize.format(maxBodySize)}`))
            : json(400, notJson(inner.cause))
        }
      }
    }
    if (Cause.hasInterruptsOnly(cause)) return HttpServerResponse.empty({ status: 499 })
    // a store failure that may pass (the processes' one judgement, Transient.ts: a port's StoreFailure, or a
    // SqlError a read model still turns into a defect; not a statement past its timeout)
    if (isTransient(cause)) {
      yield* Effect.logWarning("a store failed transiently; answered 503", cause).pipe(
        Effect.annotateLogs({ requestId })
      )
      return HttpServerResponse.setHeader(
        json(
          503,
          apiError(
            "STORE_UNAVAILABLE",
            `The database is briefly unavailable; retry after 1 second (request id ${requestId})`,
            {
              retryAfter: 1,
              requestId
            }
          )
        ),
        "retry-after",
        "1"
      )
    }
    yield* Effect.logError("unhandled failure", cause).pipe(Effect.annotateLogs({ requestId }))
    return json(500, apiError("INTERNAL", `Internal error; quote request id ${requestId}`, { requestId }))
  })

/**
 * What the HttpApi answers by itself in plain text or with no body: a content type no payload of the
 * endpoint takes (415, text) and a streamed body over its limit (413, empty). Answered with the
 * envelope's JSON instead, as every other refusal is.
 */
const inEnvelope = (
  request: HttpServerRequest.HttpServerRequest,
  response: HttpServerResponse.HttpServerResponse
): HttpServerResponse.HttpServerResponse => {
  if (response.status === 415) {
    const given = (request.headers["content-type"] ?? "").slice(0, 100)
    const message = `${given === "" ? "a body without a content type" : given} is not taken here; send application/json (text/csv: POST /api/lists/import)`
    return json(
      415,
      apiError("UNSUPPORTED_MEDIA_TYPE", `Invalid request: headers.content-type: ${message}`, {
        details: { issues: [{ path: "headers.content-type", message }], total: 1 }
      })
    )
  }
  if (response.status === 413 && response.body._tag === "Empty") {
    return HttpServerResponse.setHeaders(
      json(413, apiError("PAYLOAD_TOO_LARGE", `Request bodies are limited to ${ByteSize.format(maxBodySize)}`)),
      response.headers
    )
  }
  return response
}

export const withErrorEnvelope = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R | HttpServerRequest.HttpServerRequest | Metrics> =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const metrics = yield* Metrics
    const started = performance.now()
    const given = request.headers["x-request-id"]
    const requestId = given !== undefined && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID()
    const response = yield* app.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, maxBodySize),
      Effect.provideService(CommandMetadata, { requestId }),
      Effect.map((response) => inEnvelope(request, response)),
      Effect.catchCause((cause) => toResponse(cause, requestId)),
      Effect.annotateLogs({ requestId })
    )
    const seconds = (performance.now() - started) / 1000
    const route = routeOf(request.url)
    metrics.recordRequest({ method: request.method, route, status: response.status, seconds })
    yield* Effect.logInfo("request").pipe(
      Effect.annotateLogs({
        requestId,
        method: request.method,
        route,
        status: response.status,
        ms: Math.round(seconds * 1000)
      })
    )
    return HttpServerResponse.setHeader(response, "x-request-id", requestId)
  })
