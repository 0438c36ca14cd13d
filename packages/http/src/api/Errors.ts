/**
 * Error bodies of the API: `{ code, message, error, details? }` (`error` repeats
 * `message`, as the hosted platform's clients read it), one schema per status,
 * each with the codes it may carry. Every failure of every endpoint is one of these.
 */
import { Schema } from "effect"
import { HttpApiSchema } from "effect/http-api"
import { ApiScope } from "@enrich/domain/auth/ApiKeyScopes"

const base = {
  message: Schema.String,
  error: Schema.String,
  details: Schema.optionalKey(Schema.Unknown)
}

export const BadRequestCode = Schema.Literals([
  "VALIDATION_FAILED",
  "ENRICHMENT_NOT_FOUND",
  "INPUT_INVALID",
  "LIST_NOT_FOUND",
  "LEADS_NOT_FOUND",
  "FILTER_INVALID",
  "OUTPUT_TARGET_UNSUPPORTED",
  "SUBJECT_MISMATCH",
  "EMPTY_LEAD_SCOPE",
  "LEAD_TYPE_MISMATCH",
  "LIST_PROTECTED",
  "WEBHOOK_URL_REFUSED",
  "NOTHING_TO_RETRY"
])
export type BadRequestCode = typeof BadRequestCode.Type

export const BadRequest = Schema.Struct({ code: BadRequestCode, ...base }).pipe(HttpApiSchema.status(400))
export const Unauthorized = Schema.Struct({ code: Schema.Literal("UNAUTHORIZED"), ...base }).pipe(
  HttpApiSchema.status(401)
)
/**
 * 402: the workspace's balance cannot pay the reservation, or the API key's monthly credit limit cannot
 * (`keyRemaining`: what the key may still use this month; only then).
 */
export const InsufficientCredits = Schema.Struct({
  code: Schema.Literal("INSUFFICIENT_CREDITS"),
  ...base,
  required: Schema.Int,
  balance: Schema.Int,
  keyRemaining: Schema.optionalKey(Schema.Int)
}).pipe(HttpApiSchema.status(402))
/** 403: the API key lacks the scope this request needs (`missingScope`). Declared on every `/api` endpoint. */
export const Forbidden = Schema.Struct({
  code: Schema.Literal("FORBIDDEN"),
  ...base,
  missingScope: ApiScope
}).pipe(HttpApiSchema.status(403))
export const NotFound = Schema.Struct({ code: Schema.Literal("NOT_FOUND"), ...base }).pipe(HttpApiSchema.status(404))
/**
 * 429, with a `Retry-After` header (seconds) and the same number in `retryAfter`: too many requests
 * (`RATE_LIMITED`), or too many open event streams for this API key (`TOO_MANY_STREAMS`).
 */
export const RateLimited = Schema.Struct({
  code: Schema.Literals(["RATE_LIMITED", "TOO_MANY_STREAMS"]),
  ...base,
  retryAfter: Schema.Int
}).pipe(HttpApiSchema.status(429))
export const Conflict = Schema.Struct({
  code: Schema.Literals([
    "IDEMPOTENCY_KEY_IN_USE",
    "RUN_NOT_CANCELLABLE",
    "BALANCE_WOULD_BE_NEGATIVE",
    "IDENTITY_CONFLICT",
    "RUN_ALREADY_SETTLED",
    "WEBHOOK_DISABLED",
    "WEBHOOK_LIMIT_REACHED",
    "RUN_NOT_TERMINAL"
  ]),
  ...base,
  reason: Schema.optionalKey(Schema.String),
  /** on BALANCE_WOULD_BE_NEGATIVE: the balance the adjustment may draw on */
  balance: Schema.optionalKey(Schema.Int)
}).pipe(HttpApiSchema.status(409))
/** 413: a body over 1 MiB (any endpoint: the error envelope), or a CSV import over its limits (declared there). */
export const PayloadTooLarge = Schema.Struct({ code: Schema.Literal("PAYLOAD_TOO_LARGE"), ...base }).pipe(
  HttpApiSchema.status(413)
)
/** 415: a body of a content type the endpoint does not take (any endpoint with a body: the error envelope). */
export const UnsupportedMediaType = Schema.Struct({ code: Schema.Literal("UNSUPPORTED_MEDIA_TYPE"), ...base }).pipe(
  HttpApiSchema.status(415)
)
export const Unprocessable = Schema.Struct({ code: Schema.Literal("IDEMPOTENCY_KEY_REUSED"), ...base }).pipe(
  HttpApiSchema.status(422)
)
/**
 * 503, with a `Retry-After` header: this process serves as many event streams as it may (`SERVER_BUSY`), or
 * the database failed in a way that may pass and the request changed nothing (`STORE_UNAVAILABLE`, answered by
 * the error envelope on any endpoint).
 */
export const ServiceUnavailable = Schema.Struct({
  code: Schema.Literals(["SERVER_BUSY", "STORE_UNAVAILABLE"]),
  ...base,
  retryAfter: Schema.Int
}).pipe(HttpApiSchema.status(503))
export const DispatchFailed = Schema.Struct({
  code: Schema.Literal("DISPATCH_FAILED"),
  ...base,
  enrichmentRunId: Schema.String,
  triggerRunId: Schema.NullOr(Schema.String)
}).pipe(HttpApiSchema.status(502))

type Body<C extends string> = {
  readonly code: C
  readonly message: string
  readonly error: string
  readonly details?: unknown
}

/** Builds an error body; `error` always equals `message`. */
export const apiError = <C extends string, X extends object = Record<never, never>>(
  code: C,
  message: string,
  extra?: X & { readonly details?: unknown }
): Body<C> & X => ({ code, message, error: message, ...(extra ?? ({} as X)) })
