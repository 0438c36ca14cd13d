/**
 * An operator-configured HTTP enrichment as a catalog entry: `makeHttpEntry`
 * turns a decoded `HttpProviderConfig` into a `CatalogEntry` whose `execute`
 * calls the vendor with Effect's HttpClient.
 *
 * - Every request of a provider waits for its process-wide rate limiter
 *   (./RateLimiter.ts), which the vendor can pause (429 + Retry-After,
 *   X-RateLimit-Remaining: 0 + X-RateLimit-Reset).
 * - Each exchange has a deadline (`timeoutMs`), body included, and a size cap
 *   (`maxResponseBytes`): the body is streamed and reading stops (the
 *   connection is closed) once the cap is passed — a non-retryable error.
 *   Bytes are decoded as UTF-8 with replacement (never an exception).
 * - Everything the entry returns is storable (domain ClientText): `result`,
 *   `raw`, the error's message and details have no U+0000, no lone surrogate,
 *   and are bounded (`storableJson` / `storableText`).
 * - Failures are classified: 429, 5xx, a timeout, a connection error →
 *   retryable `ProviderError`; other 4xx → not retryable (status and a body
 *   excerpt); malformed JSON or an answer that does not fit the mapping → not
 *   retryable, with the reason; a not-found status → a completed outcome with
 *   `found: false`. Retries are the executor's (the entry exposes its `retry`).
 * - Batch mode: concurrent `execute` calls coalesce (Effect's RequestResolver)
 *   into bulk requests of up to `maxBatchSize` Leads of one workspace sharing the same run
 *   input; each Lead gets its own outcome from its record; a failed bulk
 *   request fails each of its Leads with the same error. The entry's
 *   `concurrency` hint lets the executor start enough calls to fill a batch.
 */
import { Clock, Config, Effect, Exit, Option, Redacted, Request, RequestResolver, Result, Schema, Stream } from "effect"
import {
  FetchHttpClient,
  HttpClient,
  type HttpClientError,
  HttpClientRequest,
  type HttpClientResponse
} from "effect/http"
import { storableJson, storableText } from "@enrich/domain/ClientText"
import type { EnrichmentContract } from "@enrich/domain/catalog/Enrichment"
import { leadSnapshot } from "@enrich/domain/leads/LeadPath"
import {
  type CatalogEntry,
  type EnrichmentOutcome,
  type ProviderCall,
  ProviderError
} from "@enrich/domain/ports/Catalog"
import { canonicalJson } from "@enrich/domain/runs/Idempotency"
import {
  type HttpProviderConfig,
  HttpProviderConfigError,
  inputSchemaOf,
  type OutputField,
  type OutputType
} from "./HttpProviderConfig.ts"
import { sharedRateLimiter, vendorWait } from "./RateLimiter.ts"
import { atPointer, queryText, renderTemplate, renderUrl } from "./Template.ts"

/** Defaults of optional settings (documented in docs/PROVIDERS.md). */
export const httpProviderDefaults = {
  burst: 1,
  maxWaitMs: 120_000,
  batchWindowMs: 10,
  maxResponseBytes: 1_048_576,
  notFoundStatuses: [404] as ReadonlyArray<number>
}

const jsonSchema = (schema: Schema.Top) => {
  const document = Schema.toJsonSchemaDocument(schema)
  return Object.keys(document.definitions).length === 0
    ? document.schema
    : { ...document.schema, $defs: document.definitions }
}

const outputTypeSchema: Record<OutputType, Schema.Top> = {
  string: Schema.String,
  number: Schema.Finite,
  integer: Schema.Int,
  boolean: Schema.Boolean,
  object: Schema.Record(Schema.String, Schema.Unknown),
  array: Schema.Array(Schema.Unknown),
  any: Schema.Unknown
}

const fieldOf = (field: OutputField) =>
  typeof field === "string"
    ? { path: field, type: "any" as const, description: undefined }
    : { type: "any" as const, ...field }

/** The Schema of a configured enrichment's result: `found` and one nullable key per output field. */
export const outputSchemaOf = (config: HttpProviderConfig): Schema.Top => {
  const fields: Record<string, Schema.Top> = { found: Schema.Boolean }
  for (const [name, raw] of Object.entries(config.response.output)) {
    const field = fieldOf(raw)
    const base = Schema.NullOr(outputTypeSchema[field.type] as Schema.Codec<unknown>)
    fields[name] = field.description === undefined ? base : base.annotate({ description: field.description })
  }
  return Schema.Struct(fields)
}

/** The catalog contract of a configured enrichment. */
export const contractOf = (config: HttpProviderConfig): EnrichmentContract => ({
  id: config.slug,
  slug: config.slug,
  name: config.name,
  description: config.description,
  subject: config.subject,
  version: config.version,
  enabled: config.enabled ?? true,
  visibility: config.visibility ?? "public",
  reads: config.reads,
  // the decoder refuses unknown keys: the published schema says so too
  inputSchema: { ...(jsonSchema(inputSchemaOf(config)) as object), additionalProperties: false },
  outputSchema: jsonSchema(outputSchemaOf(config)),
  defaultOutput: config.defaultOutput,
  defaultOutputAttributeKey: config.defaultOutput.attributeKey,
  outputOverridePolicy: config.outputOverridePolicy,
  costModel: config.costModel,
  toolBinding: { type: "http", taskId: `http.${config.slug}` }
})

const typeMatches = (type: OutputType, value: unknown): boolean => {
  switch (type) {
    case "any":
      return true
    case "string":
      return typeof value === "string"
    case "number":
      return typeof value === "number"
    case "integer":
      return Number.isInteger(value)
    case "boolean":
      return typeof value === "boolean"
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value)
    case "array":
      return Array.isArray(value)
  }
}

const nonEmpty = (value: unknown) =>
  value !== undefined &&
  value !== null &&
  value !== "" &&
  !(Array.isArray(value) && value.length === 0) &&
  !(typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0)

/**
 * A short, single-line excerpt of a response body for an error message:
 * storable (no U+0000, no lone surrogate) and cut at a code point boundary.
 */
export const excerpt = (text: string, max = 200): string => storableText(text.replace(/\s+/g, " ").trim(), max)

/** What came back from the vendor. */
interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  /** the body decoded as UTF-8 (invalid bytes → U+FFFD); empty when `tooLarge` */
  readonly text: string
  /** the body passed `maxResponseBytes`: reading stopped there */
  readonly tooLarge: boolean
}

/** Message and submission id caps, as the executor stores them. */
const maxMessageChars = 2_000
const maxSubmissionIdChars = 500

export interface HttpEntryOptions {
  /** the HTTP client to call vendors with (default: the one in context, else fetch) */
  readonly client?: HttpClient.HttpClient | undefined
}

/**
 * Builds the catalog entry of a decoded HTTP provider configuration. Reads the
 * auth secret from the environment (through `Config`): a missing or empty
 * variable fails with an `HttpProviderConfigError` naming it.
 */
export const makeHttpEntry = (
  config: HttpProviderConfig,
  options?: HttpEntryOptions
): Effect.Effect<CatalogEntry, HttpProviderConfigError> =>
  Effect.gen(function* () {
    const slug = config.slug
    const auth = config.auth
    const secret =
      auth === undefined
        ? undefined
        : yield* Config.option(Config.Redacted(auth.secretEnv)).pipe(
            Effect.map(Option.filter((value) => Redacted.value(value) !== "")),
            Effect.flatMap(
              Option.match({
                onNone: () =>
                  Effect.fail(
                    new HttpProviderConfigError({
                      message: `HTTP enrichment ${slug}: the environment variable ${auth.secretEnv} (auth.secretEnv) is not set`,
                      issues: [{ path: "auth.secretEnv", message: `${auth.secretEnv} is not set in the environment` }]
                    })
                  ),
                onSome: (value) => Effect.succeed(value)
              })
            ),
            Effect.catchTag("ConfigError", (error) =>
              Effect.fail(
                new HttpProviderConfigError({
                  message: `HTTP enrichment ${slug}: cannot read ${auth.secretEnv}: ${error.message}`,
                  issues: [{ path: "auth.secretEnv", message: error.message }]
                })
              )
            )
          )
    const client: HttpClient.HttpClient =
      options?.client ??
      Option.getOrUndefined(yield* Effect.serviceOption(HttpClient.HttpClient)) ??
      (yield* Effect.service(HttpClient.HttpClient).pipe(Effect.provide(FetchHttpClient.layer)))
    const limiter = sharedRateLimiter(slug, {
      requestsPerSecond: config.rateLimit.requestsPerSecond,
      burst: config.rateLimit.burst ?? httpProviderDefaults.burst
    })
    const maxWaitMs = config.rateLimit.maxWaitMs ?? httpProviderDefaults.maxWaitMs
    const notFound = config.response.notFoundStatuses ?? httpProviderDefaults.notFoundStatuses
    // dispatch refused unknown keys already; here (a waterfall may hand its own input on) they are ignored
    const decodeInput = Schema.decodeUnknownResult(inputSchemaOf(config), { errors: "all" })
    const outputFields = Object.entries(config.response.output).map(([name, raw]) => ({ name, ...fieldOf(raw) }))
    const maxResponseBytes = config.maxResponseBytes ?? httpProviderDefaults.maxResponseBytes

    // what a vendor says may hold U+0000 or lone surrogates (JSON escapes, a parser's message quoting the body):
    // every error leaves storable
    const fail = (message: string, retryable: boolean, details: Record<string, unknown>, retryAfterMs?: number) =>
      new ProviderError({
        message: storableText(`${slug}: ${message}`, maxMessageChars),
        retryable,
        details: storableJson(details),
        ...(retryAfterMs === undefined ? {} : { retryAfterMs })
      })

    // --- one HTTP exchange: rate limit, deadline, pause on the vendor's word, status classification ----------

    const headersOf = (hasBody: boolean) => ({
      accept: "application/json",
      ...(hasBody ? { "content-type": "application/json" } : {}),
      ...(config.request.headers ?? {}),
      ...(auth !== undefined && secret !== undefined
        ? { [auth.header]: `${auth.prefix ?? ""}${Redacted.value(secret)}` }
        : {})
    })

    const describeTransport = (error: HttpClientError.HttpClientError) => {
      const cause = (error.reason as { readonly cause?: unknown }).cause
      const inner =
        cause instanceof Error ? ((cause.cause as { code?: string } | undefined)?.code ?? cause.message) : undefined
      return inner ?? error.reason.description ?? error.reason._tag
    }

    /** The vendor asks for a longer pause than the operator allows: fail now (and not as retryable). */
    const tooLongWait = (waitMs: number) =>
      fail(
        `rate limited: the vendor asks to wait ${Math.ceil(waitMs / 1000)} s, more than rateLimit.maxWaitMs (${maxWaitMs} ms)`,
        false,
        { kind: "rate_limited", waitMs }
      )

    const connectionFailed = (error: HttpClientError.HttpClientError) =>
      fail(`connection failed: ${describeTransport(error)}`, true, { kind: "connection" })

    /**
     * The body, streamed: at most `maxResponseBytes` are kept; past them reading stops (ending the stream
     * aborts the request: the connection is closed, the rest never read). UTF-8 with replacement.
     */
    const readBody = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<Answer, ProviderError> =>
      Effect.suspend(() => {
        const decoder = new TextDecoder("utf-8", { fatal: false })
        const parts: Array<string> = []
        let size = 0
        let tooLarge = false
        const declared = Number(response.headers["content-length"])
        const answer = (): Answer => ({
          status: response.status,
          headers: response.headers,
          text: tooLarge ? "" : parts.join("") + decoder.decode(),
          tooLarge
        })
        return response.stream.pipe(
          Stream.runForEachWhile((chunk) =>
            Effect.sync(() => {
              size += chunk.byteLength
              if (size > maxResponseBytes || declared > maxResponseBytes) {
                tooLarge = true
                return false
              }
              parts.push(decoder.decode(chunk, { stream: true }))
              return true
            })
          ),
          Effect.map(answer),
          Effect.catchTag("HttpClientError", (error) =>
            // no body at all (204, 304): an empty one
            error.reason._tag === "EmptyBodyError" ? Effect.sync(answer) : Effect.fail(connectionFailed(error))
          )
        )
      })

    const exchange = (request: HttpClientRequest.HttpClientRequest): Effect.Effect<Answer, ProviderError> =>
      Effect.gen(function* () {
        yield* limiter.acquire(maxWaitMs).pipe(Effect.mapError((wait) => tooLongWait(wait.waitMs)))
        // the deadline covers the whole exchange: a vendor that answers at once and then trickles its body times out
        const answer = yield* client.execute(request).pipe(
          Effect.mapError(connectionFailed),
          Effect.flatMap(readBody),
          Effect.timeoutOrElse({
            duration: config.timeoutMs,
            orElse: () => Effect.fail(fail(`timed out after ${config.timeoutMs} ms`, true, { kind: "timeout" }))
          }),
          Effect.provideService(HttpClient.TracerPropagationEnabled, false),
          // a redirect is answered, not followed: the request (and its secret header) goes nowhere but the
          // configured host (a fetch-based client; the others do not follow redirects by default either)
          Effect.provideService(FetchHttpClient.RequestInit, { redirect: "manual" })
        )
        const now = yield* Clock.currentTimeMillis
        const wait = vendorWait(answer.status, answer.headers, now)
        if (wait !== undefined && wait > 0) yield* limiter.pauseUntil(now + wait)
        if (answer.tooLarge) {
          // whatever its status: a vendor that sends this much is not answering what was asked
          return yield* fail(`the HTTP ${answer.status} response was larger than ${maxResponseBytes} bytes`, false, {
            kind: "too_large",
            status: answer.status,
            limit: maxResponseBytes
          })
        }
        if (answer.status === 429) {
          if (wait !== undefined && wait > maxWaitMs) return yield* tooLongWait(wait)
          return yield* fail(
            `rate limited (HTTP 429)${wait === undefined ? "" : `; the vendor asks to wait ${wait} ms`}`,
            true,
            { kind: "status", status: 429, excerpt: excerpt(answer.text) },
            wait
          )
        }
        if (answer.status >= 500) {
          return yield* fail(`HTTP ${answer.status}: ${excerpt(answer.text)}`, true, {
            kind: "status",
            status: answer.status,
            excerpt: excerpt(answer.text)
          })
        }
        return answer
      })

    const clientError = (answer: Answer) =>
      answer.status >= 300 && answer.status < 400
        ? fail(
            `HTTP ${answer.status}: a redirect${answer.headers["location"] === undefined ? "" : ` to ${excerpt(answer.headers["location"], 500)}`}, not followed (the vendor's URL must be the final one)`,
            false,
            { kind: "redirect", status: answer.status, location: answer.headers["location"] ?? null }
          )
        : fail(`HTTP ${answer.status}: ${excerpt(answer.text)}`, false, {
            kind: "status",
            status: answer.status,
            excerpt: excerpt(answer.text)
          })

    const parseJson = (answer: Answer): Result.Result<unknown, ProviderError> => {
      if (answer.text.trim() === "") return Result.succeed(null)
      try {
        return Result.succeed(JSON.parse(answer.text))
      } catch (error) {
        return Result.fail(
          fail(
            `malformed JSON in the HTTP ${answer.status} response: ${error instanceof Error ? error.message : String(error)}`,
            false,
            { kind: "malformed", status: answer.status, excerpt: excerpt(answer.text) }
          )
        )
      }
    }

    const mappingError = (message: string, details: Record<string, unknown> = {}) =>
      fail(`response does not match the mapping: ${message}`, false, { kind: "mapping", ...details })

    // --- one Lead's record → its outcome --------------------------------------------------------------------

    const submissionIdOf = (answer: Answer, body: unknown, record: unknown): string | null => {
      for (const source of config.response.submissionId ?? []) {
        const value =
          "header" in source
            ? answer.headers[source.header.toLowerCase()]
            : "body" in source
              ? atPointer(body, source.body)
              : atPointer(record, source.record)
        if (typeof value === "string" && value !== "") return storableText(value, maxSubmissionIdChars)
        if (typeof value === "number") return String(value)
      }
      return null
    }

    const notFoundResult = () => Object.fromEntries([["found", false], ...outputFields.map((f) => [f.name, null])])

    const outcomeOf = (
      record: unknown,
      context: { readonly answer: Answer; readonly body: unknown; readonly where: string }
    ): Exit.Exit<EnrichmentOutcome, ProviderError> => {
      const submission = submissionIdOf(context.answer, context.body, record)
      const notFoundOutcome = (): Exit.Exit<EnrichmentOutcome, ProviderError> =>
        Exit.succeed({
          result: notFoundResult(),
          raw: storableJson(record ?? null),
          found: false,
          provider: slug,
          providerSubmissionId: submission
        })
      if (record === undefined || record === null) return notFoundOutcome()
      if (config.response.status !== undefined) {
        const status = atPointer(record, config.response.status)
        if (typeof status !== "number")
          return Exit.fail(
            mappingError(`${context.where}: no numeric status at ${config.response.status}`, { got: typeof status })
          )
        if (notFound.includes(status)) return notFoundOutcome()
        if (status < 200 || status >= 300) {
          const said = config.response.error === undefined ? undefined : atPointer(record, config.response.error)
          const text = excerpt(typeof said === "string" ? said : JSON.stringify(said ?? record))
          return Exit.fail(
            fail(`${context.where} has status ${status}: ${text}`, status === 429 || status >= 500, {
              kind: "record_status",
              status,
              excerpt: text
            })
          )
        }
      }
      const data = atPointer(record, config.response.data ?? "")
      const found =
        config.response.found === undefined ? nonEmpty(data) : nonEmpty(atPointer(data, config.response.found))
      if (!found) return notFoundOutcome()
      const result: Record<string, unknown> = { found: true }
      for (const field of outputFields) {
        const value = atPointer(data, field.path)
        if (value !== undefined && value !== null && !typeMatches(field.type, value)) {
          const got = Array.isArray(value) ? "array" : typeof value
          return Exit.fail(
            mappingError(
              `${context.where}: output ${field.name} at ${field.path === "" ? "(data)" : field.path} is ${got === "object" ? "an object" : `a ${got}`}, expected ${field.type === "integer" ? "an integer" : `a ${field.type}`}`
            )
          )
        }
        result[field.name] = value ?? null
      }
      // the vendor's strings may hold U+0000 or lone surrogates ("\u0000", "\ud83d" in its JSON): made storable
      return Exit.succeed({
        result: storableJson(result),
        raw: storableJson(record),
        found: true,
        provider: slug,
        providerSubmissionId: submission
      })
    }

    // --- the request ------------------------------------------------------------------------------------

    const buildRequest = (context: Parameters<typeof renderTemplate>[1]) => {
      const body = config.request.body === undefined ? undefined : renderTemplate(config.request.body, context)
      const query = Object.entries(config.request.query ?? {}).flatMap(([name, template]) => {
        const text = queryText(renderTemplate(template, context))
        return text === undefined ? [] : [[name, text] as const]
      })
      let request = HttpClientRequest.make(config.request.method)(renderUrl(config.request.url, context)).pipe(
        HttpClientRequest.setHeaders(headersOf(body !== undefined))
      )
      if (query.length > 0) request = HttpClientRequest.appendUrlParams(request, query)
      if (body !== undefined) request = HttpClientRequest.bodyText(request, JSON.stringify(body), "application/json")
      return request
    }

    const perLead = (lead: Record<string, unknown>, input: Record<string, unknown>) =>
      Effect.gen(function* () {
        const answer = yield* exchange(buildRequest({ input, lead }))
        if (notFound.includes(answer.status)) {
          const body = Result.getOrElse(parseJson(answer), () => null as unknown)
          return yield* outcomeOf(null, { answer, body, where: "the record" })
        }
        if (answer.status < 200 || answer.status >= 300) return yield* clientError(answer)
        const body = yield* Effect.fromResult(parseJson(answer))
        const record = atPointer(body, config.response.records ?? "")
        return yield* outcomeOf(record, { answer, body, where: "the record" })
      })

    /** One bulk request for `leads` (same input): an outcome per Lead, or one error for all. */
    const bulk = (leads: ReadonlyArray<Record<string, unknown>>, input: Record<string, unknown>) =>
      Effect.gen(function* () {
        const answer = yield* exchange(buildRequest({ input, each: leads }))
        if (answer.status < 200 || answer.status >= 300) return yield* clientError(answer)
        const body = yield* Effect.fromResult(parseJson(answer))
        const pointer = config.response.records ?? ""
        const records = atPointer(body, pointer)
        if (!Array.isArray(records)) {
          const got = records === undefined ? "nothing" : Array.isArray(records) ? "an array" : typeof records
          return yield* mappingError(
            `expected an array of records at ${pointer === "" ? "the top level" : pointer}, got ${got}`
          )
        }
        const match = config.response.match ?? { by: "position" as const }
        if (match.by === "position") {
          if (records.length !== leads.length)
            return yield* mappingError(`${records.length} records for ${leads.length} Leads (matched by position)`)
          return records.map((record, i) =>
            outcomeOf(record, { answer, body, where: `record ${i} of the bulk answer` })
          )
        }
        const byKey = new Map<string, { record: unknown; index: number }>()
        records.forEach((record, index) => {
          const key = atPointer(record, match.key)
          if (typeof key === "string" || typeof key === "number") byKey.set(String(key), { record, index })
        })
        return leads.map((_, i) => {
          const hit = byKey.get(String(i))
          return outcomeOf(hit?.record ?? null, {
            answer,
            body,
            where: `record ${hit?.index ?? "?"} (key ${i}) of the bulk answer`
          })
        })
      })

    class LeadCall extends Request.Class<
      { readonly lead: Record<string, unknown>; readonly input: Record<string, unknown>; readonly group: string },
      EnrichmentOutcome,
      ProviderError
    > {}

    const resolver =
      config.mode === "batch"
        ? RequestResolver.makeGrouped<LeadCall, string>({
            key: (entry) => entry.request.group,
            resolver: (entries) =>
              Effect.gen(function* () {
                const outcomes = yield* Effect.result(
                  bulk(
                    entries.map((e) => e.request.lead),
                    entries[0].request.input
                  )
                )
                for (const [i, entry] of entries.entries()) {
                  entry.completeUnsafe(Result.isFailure(outcomes) ? Exit.fail(outcomes.failure) : outcomes.success[i]!)
                }
              })
          }).pipe(
            // a bulk request collects Leads for batchWindowMs, and longer while the rate limit holds it back: Leads
            // that come meanwhile (retries after a failed bulk request too) join it instead of making small ones
            RequestResolver.setDelayEffect(
              Effect.andThen(
                Effect.sleep(config.batchWindowMs ?? httpProviderDefaults.batchWindowMs),
                limiter.awaitReady(maxWaitMs)
              )
            ),
            RequestResolver.batchN(config.maxBatchSize ?? 1)
          )
        : undefined

    const execute = Effect.fn("HttpProvider.execute")(
      function* (snapshot: Record<string, unknown>, rawInput: unknown, call?: ProviderCall) {
        const decoded = decodeInput(rawInput ?? {})
        if (Result.isFailure(decoded)) {
          return yield* fail(`invalid run input: ${decoded.failure.message}`, false, { kind: "input" })
        }
        const input = decoded.success
        if (config.requireAnyOf !== undefined && !config.requireAnyOf.some((path) => nonEmpty(snapshot[path]))) {
          // nothing to identify the Lead with: no call, no charge under chargeOn "found"
          return {
            result: notFoundResult(),
            raw: null,
            found: false,
            provider: slug,
            providerSubmissionId: null
          } satisfies EnrichmentOutcome
        }
        if (resolver === undefined) return yield* perLead(snapshot, input)
        // one bulk request per workspace and input: a tenant's Leads never share a request (its failure, an error
        // echoing it) with another tenant's
        const group = `${call?.workspaceId ?? ""}\u0000${canonicalJson(input)}`
        return yield* Effect.request(new LeadCall({ lead: snapshot, input, group }), resolver)
      },
      Effect.annotateSpans({ provider: slug })
    )

    const concurrency = config.concurrency ?? (config.mode === "batch" ? config.maxBatchSize : undefined)
    return {
      contract: contractOf(config),
      snapshot: (lead) => leadSnapshot(lead, config.reads),
      execute,
      input: inputSchemaOf(config),
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(config.retry === undefined ? {} : { retry: config.retry })
    } satisfies CatalogEntry
  })
