/** The server side of NoQuery: an endpoint without a query schema refuses every query field. */
import { Effect, Layer, Schema } from "effect"
import { HttpServerRequest } from "effect/http"
import { NoQuery } from "../api/NoQuery.ts"
import { apiError } from "../api/Errors.ts"
import { validationDetails } from "./ErrorEnvelope.ts"

/**
 * No field at all: each one given is an issue at its path, with the message of an unknown field of a
 * declared query. (`Schema.Struct({})` would not do: an empty struct accepts any object.)
 */
const decodeEmpty = Schema.decodeUnknownEffect(
  Schema.Record(Schema.String, Schema.Never.annotate({ message: "Expected no excess property" })),
  { errors: "all" }
)

export const NoQueryLive = Layer.succeed(
  NoQuery,
  NoQuery.of((httpEffect, { endpoint }) =>
    endpoint.query !== undefined
      ? httpEffect
      : Effect.flatMap(HttpServerRequest.ParsedSearchParams, (query) =>
          Object.keys(query).length === 0
            ? httpEffect
            : decodeEmpty(query).pipe(
                Effect.matchEffect({
                  onSuccess: () => httpEffect,
                  onFailure: (error) => {
                    const details = validationDetails("Query", error)
                    const first = details.issues[0]
                    const message =
                      first === undefined ? "Invalid request" : `Invalid request: ${first.path}: ${first.message}`
                    return Effect.fail(apiError("VALIDATION_FAILED", message, { details }))
                  }
                })
              )
        )
  )
)
