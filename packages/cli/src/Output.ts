/**
 * What the CLI prints and how it exits: results as JSON on stdout (`--format json|pretty`),
 * failures as the API's error JSON on stderr, and one exit code per kind of failure.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success |
 * | 1 | unexpected failure (a bug: the message says where) |
 * | 2 | usage or validation: bad flags, bad JSON, a 400 / 413 of the API |
 * | 3 | not found (404) |
 * | 4 | refused by the state of things: insufficient credits (402), conflict (409), idempotency key reused (422) |
 * | 5 | server or network: 5xx, rate limited (429), connection refused, database unreachable |
 * | 6 | unauthorized: missing or invalid `ENRICH_API_KEY` / `ENRICH_ADMIN_TOKEN` (401), or a key without the scope the command needs (403) |
 * | 7 | `audit verify` found a violation |
 */
import { Effect, Predicate, Runtime, Schema } from "effect"
import { GlobalFlag, Flag } from "effect/cli"
import * as HttpClientError from "effect/http/HttpClientError"

export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  notFound: 3,
  refused: 4,
  unavailable: 5,
  unauthorized: 6,
  auditFailed: 7
} as const

/**
 * Set by a command that runs until it is stopped (`events tail --follow`): SIGINT or SIGTERM
 * then end the process with exit 0 (main.ts) rather than the 130 of an interrupted program.
 */
export const untilStopped = { active: false }

/** The API's error body, or one of the same shape made by the CLI. */
export interface ErrorBody {
  readonly code: string
  readonly message: string
  readonly error: string
  readonly details?: unknown
  readonly [extra: string]: unknown
}

/** A failure already described: its body goes to stderr, the process exits with `exitCode`. */
export class CliFailure extends Schema.TaggedError<CliFailure>()("CliFailure", {
  body: Schema.Unknown,
  exitCode: Schema.Int
}) {
  override readonly [Runtime.errorExitCode]: number = this.exitCode
  override readonly [Runtime.errorReported]: boolean = true
}

/** A failure of plain I/O (a file, a socket) inside a promise. */
export class IoFailure extends Schema.TaggedError<IoFailure>()("IoFailure", { cause: Schema.Defect() }) {}

export const errorBody = (code: string, message: string, extra: Record<string, unknown> = {}): ErrorBody => ({
  code,
  message,
  error: message,
  ...extra
})

const byCode: Record<string, number> = {
  UNAUTHORIZED: ExitCode.unauthorized,
  // the key lacks the scope the command needs (a restricted key, DECISIONS.md 69)
  FORBIDDEN: ExitCode.unauthorized,
  NOT_FOUND: ExitCode.notFound,
  INSUFFICIENT_CREDITS: ExitCode.refused,
  IDEMPOTENCY_KEY_IN_USE: ExitCode.refused,
  IDEMPOTENCY_KEY_REUSED: ExitCode.refused,
  RUN_NOT_CANCELLABLE: ExitCode.refused,
  BALANCE_WOULD_BE_NEGATIVE: ExitCode.refused,
  IDENTITY_CONFLICT: ExitCode.refused,
  RUN_ALREADY_SETTLED: ExitCode.refused,
  WEBHOOK_DISABLED: ExitCode.refused,
  RATE_LIMITED: ExitCode.unavailable,
  DISPATCH_FAILED: ExitCode.unavailable,
  NETWORK_ERROR: ExitCode.unavailable,
  SERVER_ERROR: ExitCode.unavailable,
  DATABASE_ERROR: ExitCode.unavailable,
  AUDIT_FAILED: ExitCode.auditFailed
}

/** The exit code of an API error code (its HTTP status when the code is unknown). */
export const exitCodeOf = (code: string, status?: number): number => {
  const known = byCode[code]
  if (known !== undefined) return known
  if (status !== undefined) {
    if (status === 401 || status === 403) return ExitCode.unauthorized
    if (status === 404) return ExitCode.notFound
    if (status === 402 || status === 409 || status === 422) return ExitCode.refused
    if (status >= 500 || status === 429) return ExitCode.unavailable
  }
  return ExitCode.usage
}

export const fail = (body: ErrorBody, status?: number) =>
  Effect.fail(new CliFailure({ body, exitCode: exitCodeOf(body.code, status) }))

export const usage = (message: string, details?: unknown) =>
  fail(errorBody("VALIDATION_FAILED", message, details === undefined ? {} : { details }))

const isErrorBody = (u: unknown): u is ErrorBody =>
  Predicate.isObject(u) && Predicate.isString((u as { code?: unknown }).code)

/** A failure of the typed client (or of raw HTTP) as a CliFailure with the API's error JSON. */
export const fromClientError = (error: unknown): Effect.Effect<never, CliFailure> => {
  if (error instanceof CliFailure) return Effect.fail(error)
  if (HttpClientError.isHttpClientError(error)) {
    const reason = error.reason
    if ("response" in reason) {
      const response = reason.response
      return response.json.pipe(
        Effect.orElseSucceed(() => undefined),
        Effect.flatMap((body) =>
          isErrorBody(body)
            ? fail(body, response.status)
            : fail(errorBody("SERVER_ERROR", `HTTP ${response.status} from the API`), response.status)
        )
      )
    }
    return fail(errorBody("NETWORK_ERROR", `cannot reach the API: ${reason.message}`))
  }
  if (isErrorBody(error)) return fail(error)
  if (Schema.isSchemaError(error)) {
    return usage(`invalid request: ${error.message}`)
  }
  return Effect.fail(
    new CliFailure({
      body: errorBody("UNEXPECTED", error instanceof Error ? error.message : String(error)),
      exitCode: ExitCode.unexpected
    })
  )
}

// --- output ---------------------------------------------------------------------

export const Format = GlobalFlag.Setting("format")({
  flag: Flag.Literals("format", ["json", "pretty", "csv", "jsonl"]).pipe(
    Flag.withDescription(
      "Output: json (default), pretty (indented JSON); csv and jsonl for `enrichment results` and `webhook deliveries`"
    ),
    Flag.withDefault("json" as const)
  )
})

/** Writes to stdout, waiting when the pipe is full (a large export stays flat in memory). */
export const writeOut = (text: string): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (process.stdout.write(text)) resume(Effect.void)
    else process.stdout.once("drain", () => resume(Effect.void))
  })

export const writeErr = (text: string): Effect.Effect<void> => Effect.sync(() => void process.stderr.write(text))

/** Prints a result as JSON on stdout. */
export const print = Effect.fnUntraced(function* (value: unknown) {
  const format = yield* Format
  yield* writeOut(`${format === "pretty" ? JSON.stringify(value, null, 2) : JSON.stringify(value)}\n`)
})

/** Reports a failure on stderr (the error JSON) and leaves the exit code to the runtime. */
export const report = (failure: CliFailure) => writeErr(`${JSON.stringify(failure.body)}\n`)
