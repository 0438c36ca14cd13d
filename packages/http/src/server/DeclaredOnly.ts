/**
 * The server side of DeclaredOnly: an endpoint without a query schema refuses every query field, one
 * without a payload schema every body but an empty one or `{}`.
 */
import { Effect, Layer, Schema } from "effect"
import { HttpServerRequest } from "effect/http"
import { DeclaredOnly } from "../api/DeclaredOnly.ts"
import { apiError } from "../api/Errors.ts"
import { validationDetails } from "./ErrorEnvelope.ts"

/**
 * No field at all: each one given is an issue at its path, with the message of an unknown field of a
 * declared query or body. (`Schema.Struct({})` would not do: an empty struct accepts any object.)
 */
const decodeEmpty = Schema.decodeUnknownEffect(
  Schema.Record(Schema.String, Schema.Never.annotate({ message: "Expected no excess property" })),
  { errors: "all" }
)

const refused = (details: {
  readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }>
  readonly total: number
}) => {
  const first = details.issues[0]
  const message = first === undefined ? "Invalid request" : `Invalid request: ${first.path}: ${first.message}`
  return Effect.fail(apiError("VALIDATION_FAILED", message, { details }))
}

const noFields = (kind: "Query" | "Payload", value: unknown) =>
  decodeEmpty(value).pipe(
    Effect.matchEffect({
      onSuccess: () => Effect.void,
      onFailure: (error) => refused(validationDetails(kind, error))
    })
  )

const noBodyIssue = (message: string) => refused({ issues: [{ path: "body", message }], total: 1 } as const)

/** A body on an endpoint that takes none: nothing, whitespace or `{}` pass; the rest is refused. */
const noBody = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const length = request.headers["content-length"]
  if (request.headers["transfer-encoding"] === undefined && (length === undefined || length === "0")) return
  // past the body limit the error envelope answers 413, as it does for a declared body
  const text = yield* Effect.orDie(request.text)
  if (text.trim() === "") return
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return yield* noBodyIssue("This endpoint takes no body (an empty one or {} at most)")
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return yield* noBodyIssue("This endpoint takes no body (an empty one or {} at most)")
  }
  return yield* noFields("Payload", value)
})

export const DeclaredOnlyLive = Layer.succeed(
  DeclaredOnly,
  DeclaredOnly.of((httpEffect, { endpoint }) => {
    const query =
      endpoint.query !== undefined
        ? Effect.void
        : Effect.flatMap(HttpServerRequest.ParsedSearchParams, (params) =>
            Object.keys(params).length === 0 ? Effect.void : noFields("Query", params)
          )
    const body = endpoint.payload.size > 0 ? Effect.void : noBody
    return Effect.andThen(Effect.andThen(query, body), httpEffect)
  })
)
