/**
 * The configuration of an operator-configured HTTP enrichment: ONE catalog
 * entry of `"kind": "http"` as written in a catalog file
 * (`{ "enrichments": [ { "kind": "http", … } ] }`). It holds the contract
 * fields (slug, subject, reads, input, output, cost, …) and the call: per Lead
 * or batched into a vendor's bulk API, the request template (./Template.ts),
 * the response mapping, auth from an environment secret, rate limit, timeout
 * and retries. Decoding is strict: an unknown key, a wrong type or an
 * inconsistent setting is an error naming its path. See docs/PROVIDERS.md.
 */
import { Effect, Result, Schema, SchemaIssue } from "effect"
import { AttributeKey, CostModel, OutputTarget, Subject } from "@enrich/domain/catalog/Enrichment"
import { isLeadPath, leadPaths } from "@enrich/domain/leads/LeadPath"
import { checkTemplate, isJsonPointer, type TemplateIssue, urlPlaceholders } from "./Template.ts"

const NonEmpty = Schema.String.check(Schema.isMinLength(1))
const Slug = Schema.String.check(
  Schema.isPattern(/^[a-z][a-z0-9_]{0,63}$/, { message: "must match ^[a-z][a-z0-9_]{0,63}$" })
)
const LeadPathString = Schema.String.check(
  Schema.makeFilter((s: string) => isLeadPath(s) || `unknown Lead path; one of ${leadPaths.join(", ")}`)
)
const JsonPointer = Schema.String.check(
  Schema.makeFilter((s: string) => isJsonPointer(s) || "must be a JSON Pointer: empty or starting with /")
)
const FieldName = Schema.String.check(
  Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, { message: "must match ^[A-Za-z_][A-Za-z0-9_]{0,63}$" })
)
const HeaderName = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { message: "must be an HTTP header name" })
)
const EnvName = Schema.String.check(
  Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "must be an environment variable name" })
)
const PositiveInt = (max: number) => Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: max }))
const NonNegativeInt = (max: number) => Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: max }))
/**
 * An absolute http(s) URL whose scheme, host and port are fixed: a `{lead.…}` or `{input.…}` placeholder may
 * stand in the path or the query only. A Lead's field choosing the host would choose where the vendor's
 * secret header goes (regression_a_templated_host_chose_where_the_vendors_secret_went).
 */
const HttpUrl = Schema.String.check(
  Schema.makeFilter((s: string) => {
    const scheme = s.indexOf("://")
    const pathAt = scheme < 0 ? -1 : s.slice(scheme + 3).search(/[/?#]/)
    const origin = scheme < 0 ? s : pathAt < 0 ? s : s.slice(0, scheme + 3 + pathAt)
    if (/\{(lead|input)\./.test(origin)) {
      return "the scheme, host and port must be fixed: a {lead.…} or {input.…} placeholder may stand in the path or the query only"
    }
    try {
      const url = new URL(s.replace(/\{(lead|input)\.[^{}]+\}/g, "x"))
      return url.protocol === "http:" || url.protocol === "https:" || "must be an http(s) URL"
    } catch {
      return "must be an absolute http(s) URL"
    }
  })
)

/** One run input the enrichment accepts (a small typed declaration; the contract's inputSchema is generated from it). */
export const InputField = Schema.Struct({
  type: Schema.Literals(["string", "integer", "number", "boolean"]),
  description: Schema.optionalKey(Schema.String),
  required: Schema.optionalKey(Schema.Boolean),
  default: Schema.optionalKey(Schema.Union([Schema.String, Schema.Finite, Schema.Boolean])),
  enum: Schema.optionalKey(Schema.Array(Schema.Union([Schema.String, Schema.Finite])).check(Schema.isMinLength(1))),
  minimum: Schema.optionalKey(Schema.Finite),
  maximum: Schema.optionalKey(Schema.Finite),
  maxLength: Schema.optionalKey(PositiveInt(100_000))
})
export type InputField = typeof InputField.Type

export const OutputType = Schema.Literals(["string", "number", "integer", "boolean", "object", "array", "any"])
export type OutputType = typeof OutputType.Type

/** An output field: a JSON Pointer into the record's data, or `{ path, type?, description? }`. */
export const OutputField = Schema.Union([
  JsonPointer,
  Schema.Struct({
    path: JsonPointer,
    type: Schema.optionalKey(OutputType),
    description: Schema.optionalKey(Schema.String)
  })
])
export type OutputField = typeof OutputField.Type

/** Where the vendor's submission / request id is: a response header, a pointer in the body, or in the Lead's record. */
export const SubmissionIdSource = Schema.Union([
  Schema.Struct({ header: HeaderName }),
  Schema.Struct({ body: JsonPointer }),
  Schema.Struct({ record: JsonPointer })
])

export const ResponseMapping = Schema.Struct({
  /** per-Lead mode: where the record is (default: the whole body); batch: where the array of records is */
  records: Schema.optionalKey(JsonPointer),
  /** batch: how records map back to Leads — by position (default) or by a key echoed from `{"$index": …}` */
  match: Schema.optionalKey(
    Schema.Union([
      Schema.Struct({ by: Schema.Literal("position") }),
      Schema.Struct({ by: Schema.Literal("key"), key: JsonPointer })
    ])
  ),
  /** a per-record status code inside the record (e.g. PDL's `/status`) */
  status: Schema.optionalKey(JsonPointer),
  /** a per-record error message inside the record (e.g. `/error/message`), quoted in the item's error */
  error: Schema.optionalKey(JsonPointer),
  /** where the data is inside the record (default: the record itself); output paths are relative to it */
  data: Schema.optionalKey(JsonPointer),
  /** found = this value (relative to data) is present and not null; default: data is not null nor empty */
  found: Schema.optionalKey(JsonPointer),
  /** statuses meaning "no match" (HTTP status per Lead, or the record's status): default [404] */
  notFoundStatuses: Schema.optionalKey(Schema.Array(PositiveInt(599))),
  /** output field → where its value is (relative to data) */
  output: Schema.Record(FieldName, OutputField),
  /** where the vendor's submission id is; the first that has a value wins */
  submissionId: Schema.optionalKey(Schema.Array(SubmissionIdSource))
})
export type ResponseMapping = typeof ResponseMapping.Type

const Fields = Schema.Struct({
  kind: Schema.Literal("http"),
  slug: Slug,
  name: NonEmpty,
  description: Schema.String,
  subject: Subject,
  version: PositiveInt(1_000_000),
  enabled: Schema.optionalKey(Schema.Boolean),
  visibility: Schema.optionalKey(Schema.Literals(["public", "hidden", "internal"])),
  reads: Schema.Array(LeadPathString).check(Schema.isMinLength(1)),
  input: Schema.optionalKey(Schema.Record(FieldName, InputField)),
  defaultOutput: Schema.Struct({ target: OutputTarget, attributeKey: AttributeKey }),
  outputOverridePolicy: Schema.Struct({
    targets: Schema.Array(OutputTarget).check(Schema.isMinLength(1)),
    attributeKey: Schema.Boolean
  }),
  costModel: CostModel,
  mode: Schema.Literals(["per_lead", "batch"]),
  /** batch: the most Leads in one bulk request */
  maxBatchSize: Schema.optionalKey(PositiveInt(10_000)),
  /** batch: how long the first Lead waits for others to join its bulk request (default 10 ms) */
  batchWindowMs: Schema.optionalKey(NonNegativeInt(10_000)),
  /** how many Leads of one executor batch are called at once (default: maxBatchSize in batch mode) */
  concurrency: Schema.optionalKey(PositiveInt(10_000)),
  /** skip the call (found: false, nothing charged under chargeOn "found") when none of these Lead fields has a value */
  requireAnyOf: Schema.optionalKey(Schema.Array(LeadPathString).check(Schema.isMinLength(1))),
  request: Schema.Struct({
    method: Schema.Literals(["GET", "POST", "PUT", "PATCH"]),
    url: HttpUrl,
    headers: Schema.optionalKey(Schema.Record(HeaderName, Schema.String)),
    query: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
    body: Schema.optionalKey(Schema.Unknown)
  }),
  response: ResponseMapping,
  auth: Schema.optionalKey(
    Schema.Struct({ header: HeaderName, secretEnv: EnvName, prefix: Schema.optionalKey(Schema.String) })
  ),
  rateLimit: Schema.Struct({
    requestsPerSecond: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(10_000)),
    /** bucket capacity: requests that may go at once after a quiet spell (default 1) */
    burst: Schema.optionalKey(PositiveInt(10_000)),
    /** the longest a vendor may make us wait (Retry-After, a rate-limit reset) before calls fail instead (default 120000) */
    maxWaitMs: Schema.optionalKey(NonNegativeInt(3_600_000))
  }),
  /** deadline of one exchange, from the request to the last byte of the answer */
  timeoutMs: PositiveInt(600_000),
  /** the largest answer read, in bytes (default 1 MiB): a larger one stops being read and fails (not retried) */
  maxResponseBytes: Schema.optionalKey(PositiveInt(1_073_741_824)),
  retry: Schema.optionalKey(Schema.Struct({ maxAttempts: PositiveInt(20), backoffMs: NonNegativeInt(600_000) }))
})

type Issue = { readonly path: ReadonlyArray<PropertyKey>; readonly issue: string }

/** The rules that span several fields. */
const consistency = (c: typeof Fields.Type): ReadonlyArray<Issue> => {
  const issues: Array<Issue> = []
  const inputs = Object.keys(c.input ?? {})
  const rules = { mode: c.mode, reads: c.reads, inputs }
  const fromTemplate = (found: ReadonlyArray<TemplateIssue>) =>
    issues.push(...found.map((i) => ({ path: i.path, issue: i.message })))
  if (c.mode === "batch" && c.maxBatchSize === undefined)
    issues.push({ path: ["maxBatchSize"], issue: "is required in batch mode" })
  if (c.mode === "per_lead") {
    for (const key of ["maxBatchSize", "batchWindowMs"] as const)
      if (c[key] !== undefined) issues.push({ path: [key], issue: "only applies in batch mode" })
    if (c.response.match !== undefined)
      issues.push({ path: ["response", "match"], issue: "only applies in batch mode" })
  }
  const body = checkTemplate(c.request.body, rules, ["request", "body"])
  fromTemplate(body.issues)
  if (c.mode === "batch" && body.eachCount !== 1)
    issues.push({
      path: ["request", "body"],
      issue: `a batch body needs exactly one {"$each": …} (the per-Lead part); found ${body.eachCount}`
    })
  if (c.request.body !== undefined && c.request.method === "GET")
    issues.push({ path: ["request", "body"], issue: "a GET request has no body" })
  for (const [name, value] of Object.entries(c.request.query ?? {})) {
    const query = checkTemplate(value, rules, ["request", "query", name])
    fromTemplate(query.issues)
    if (query.eachCount > 0)
      issues.push({ path: ["request", "query", name], issue: "$each is only allowed in the body" })
  }
  for (const p of urlPlaceholders(c.request.url)) {
    if (p.kind === "input" && !inputs.includes(p.name))
      issues.push({ path: ["request", "url"], issue: `{input.${p.name}}: ${p.name} is not declared in input` })
    if (p.kind === "lead" && !c.reads.includes(p.name))
      issues.push({
        path: ["request", "url"],
        issue: `{lead.${p.name}}: ${p.name} is not one of the enrichment's reads`
      })
    if (p.kind === "lead" && c.mode === "batch")
      issues.push({
        path: ["request", "url"],
        issue: `{lead.${p.name}}: a bulk request's URL cannot hold a Lead field`
      })
  }
  for (const [i, path] of (c.requireAnyOf ?? []).entries())
    if (!c.reads.includes(path))
      issues.push({ path: ["requireAnyOf", i], issue: `${path} is not one of the enrichment's reads` })
  if (c.auth !== undefined) {
    const header = c.auth.header.toLowerCase()
    if (Object.keys(c.request.headers ?? {}).some((h) => h.toLowerCase() === header))
      issues.push({ path: ["request", "headers"], issue: `${c.auth.header} is set by auth; do not repeat it here` })
  }
  if (!c.outputOverridePolicy.targets.includes(c.defaultOutput.target))
    issues.push({ path: ["defaultOutput", "target"], issue: "must be one of outputOverridePolicy.targets" })
  if ("found" in c.response.output)
    issues.push({ path: ["response", "output", "found"], issue: "found is reserved: every result has it" })
  for (const [name, field] of Object.entries(c.input ?? {})) {
    const at = (key: string) => ["input", name, key]
    if (field.default !== undefined) {
      const problem = valueProblem(field, field.default)
      if (problem !== undefined) issues.push({ path: at("default"), issue: problem })
      if (field.required === true) issues.push({ path: at("default"), issue: "a required input has no default" })
    }
    if (field.type !== "string" && field.maxLength !== undefined)
      issues.push({ path: at("maxLength"), issue: "only applies to strings" })
    if ((field.type === "string" || field.type === "boolean") && (field.minimum ?? field.maximum) !== undefined)
      issues.push({ path: at(field.minimum === undefined ? "maximum" : "minimum"), issue: "only applies to numbers" })
    if (field.enum !== undefined) {
      if (field.type === "boolean") issues.push({ path: at("enum"), issue: "does not apply to booleans" })
      for (const [i, v] of field.enum.entries()) {
        const { enum: _values, ...withoutEnum } = field
        const problem = valueProblem(withoutEnum, v)
        if (problem !== undefined) issues.push({ path: ["input", name, "enum", i], issue: problem })
      }
    }
  }
  return issues
}

/** Why `value` does not fit an input declaration, if it does not. */
const valueProblem = (field: InputField, value: unknown): string | undefined => {
  const typeOk =
    field.type === "string"
      ? typeof value === "string"
      : field.type === "boolean"
        ? typeof value === "boolean"
        : field.type === "integer"
          ? Number.isInteger(value)
          : typeof value === "number" && Number.isFinite(value)
  if (!typeOk) return `must be ${field.type === "integer" ? "an integer" : `a ${field.type}`}`
  if (field.enum !== undefined && !field.enum.includes(value as string | number))
    return `must be one of ${field.enum.map((v) => JSON.stringify(v)).join(", ")}`
  if (typeof value === "number" && field.minimum !== undefined && value < field.minimum)
    return `must be ≥ ${field.minimum}`
  if (typeof value === "number" && field.maximum !== undefined && value > field.maximum)
    return `must be ≤ ${field.maximum}`
  if (typeof value === "string" && field.maxLength !== undefined && value.length > field.maxLength)
    return `must be at most ${field.maxLength} characters`
  return undefined
}

/** One HTTP catalog entry, decoded and checked. */
export const HttpProviderConfig = Fields.check(
  Schema.makeFilter((c: typeof Fields.Type) => {
    const issues = consistency(c)
    return issues.length === 0 ? undefined : issues
  })
)
export type HttpProviderConfig = typeof HttpProviderConfig.Type

/** A configuration that does not decode, or cannot be loaded (a missing secret): every issue with its path. */
export class HttpProviderConfigError extends Schema.TaggedError<HttpProviderConfigError>()("HttpProviderConfigError", {
  message: Schema.String,
  issues: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String }))
}) {}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()
const decodeOptions = { onExcessProperty: "error", errors: "all" } as const
const decodeConfig = Schema.decodeUnknownResult(HttpProviderConfig, decodeOptions)

/** `request.body.requests.$each.params[0]` */
export const renderPath = (path: ReadonlyArray<unknown>): string =>
  path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join("")
    .replace(/^\[/, "[")

const describe = (source: string | undefined, slug: unknown) =>
  source ?? (typeof slug === "string" ? `HTTP enrichment ${slug}` : "HTTP enrichment")

/**
 * Decodes one catalog entry of kind "http". `source` names it in messages
 * (e.g. `catalog/pdl.json enrichments[0]`). Every problem is reported with its
 * path; the message quotes the first ones.
 */
export const decodeHttpProviderConfig = (
  input: unknown,
  options?: { readonly source?: string | undefined }
): Effect.Effect<HttpProviderConfig, HttpProviderConfigError> => {
  const decoded = decodeConfig(input)
  if (Result.isSuccess(decoded)) return Effect.succeed(decoded.success)
  const issues = formatter(decoded.failure.issue).issues.map((issue) => ({
    path: renderPath(issue.path ?? []),
    message: issue.message
  }))
  const slug = typeof input === "object" && input !== null ? (input as { slug?: unknown }).slug : undefined
  const shown = issues
    .slice(0, 5)
    .map((i) => `${i.path === "" ? "(root)" : i.path}: ${i.message}`)
    .join("; ")
  return Effect.fail(
    new HttpProviderConfigError({
      message: `Invalid ${describe(options?.source, slug)}: ${shown}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ""}`,
      issues
    })
  )
}

// --- the run input -------------------------------------------------------------

/** One declared input as a Schema whose checks also become its JSON Schema (enum, minimum, maximum, maxLength). */
const inputFieldSchema = (field: InputField): Schema.Codec<unknown> => {
  // the default shows in the JSON Schema; the decoder applies it (inputSchemaOf)
  const annotations = {
    ...(field.description === undefined ? {} : { description: field.description }),
    ...(field.default === undefined ? {} : { default: field.default as never })
  }
  if (field.type === "boolean") return Schema.Boolean.annotate(annotations)
  if (field.enum !== undefined) return Schema.Literals(field.enum).annotate(annotations)
  if (field.type === "string") {
    const s = Schema.String.annotate(annotations)
    return field.maxLength === undefined ? s : s.check(Schema.isMaxLength(field.maxLength))
  }
  const n = (field.type === "integer" ? Schema.Int : Schema.Finite).annotate(annotations)
  const bounds = [
    ...(field.minimum === undefined ? [] : [Schema.isGreaterThanOrEqualTo(field.minimum)]),
    ...(field.maximum === undefined ? [] : [Schema.isLessThanOrEqualTo(field.maximum)])
  ]
  return bounds.length === 0 ? n : n.check(...(bounds as [(typeof bounds)[0], ...typeof bounds]))
}

/**
 * The Schema of the run input an HTTP enrichment accepts: one key per declared
 * field (optional unless `required`; a `default` is applied at dispatch).
 */
export const inputSchemaOf = (config: HttpProviderConfig): Schema.Decoder<Record<string, unknown>> => {
  const fields: Record<string, Schema.Top> = {}
  for (const [name, field] of Object.entries(config.input ?? {})) {
    const schema = inputFieldSchema(field)
    fields[name] =
      field.required === true
        ? schema
        : field.default !== undefined
          ? schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(field.default)))
          : Schema.optionalKey(schema)
  }
  return Schema.Struct(fields) as unknown as Schema.Decoder<Record<string, unknown>>
}
