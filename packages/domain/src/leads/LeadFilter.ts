/**
 * The LeadFilter of `filtered_list` scopes (contract: "LeadFilter **beyond**"):
 * `{ where?, any?, leadIds?, limit? }` where every `where` condition and at least
 * one `any` condition must hold. Client input is checked by Schemas (unknown
 * keys, fields and ops, values of the wrong type, limits) and becomes a typed
 * AST: one discriminated condition per field kind, each value already typed.
 * The adapter turns that AST into SQL with bound values only.
 */
import { Result, Schema } from "effect"
import { Id, isStorableJson, isStorableText } from "../ClientText.ts"
import { LeadType } from "./Lead.ts"
import { pathIssues } from "../SchemaIssues.ts"

export const MAX_CONDITIONS = 50
export const MAX_VALUES = 1000
export const MAX_LEAD_IDS = 10_000
export const MAX_LIMIT = 1_000_000
export const MAX_TEXT_LENGTH = 2048
export const ATTRIBUTE_KEY = /^[a-z][a-z0-9_]{0,63}$/

/** Text fields, matched case-insensitively. `email` is any email contact of the Lead. */
export const TEXT_FIELDS = [
  "name",
  "title",
  "company.name",
  "industry",
  "location.city",
  "location.country",
  "email",
  "domain",
  "company.domain"
] as const
export type TextField = (typeof TEXT_FIELDS)[number]

const OPS = [
  "eq",
  "neq",
  "in",
  "nin",
  "contains",
  "starts_with",
  "exists",
  "not_exists",
  "gt",
  "gte",
  "lt",
  "lte"
] as const

export const FilterOp = Schema.Literals(OPS).annotate({ message: `unknown op; expected one of ${OPS.join(", ")}` })
export type FilterOp = typeof FilterOp.Type

/** The ops each field kind takes. */
export const OPS_BY_KIND = {
  type: ["eq", "neq"],
  text: ["eq", "neq", "in", "nin", "contains", "starts_with", "exists", "not_exists"],
  timestamp: ["eq", "gt", "gte", "lt", "lte"],
  json: ["eq", "neq", "in", "nin", "contains", "gt", "gte", "lt", "lte", "exists", "not_exists"]
} as const satisfies Record<string, ReadonlyArray<FilterOp>>

/** A JSON value from a filter (never `null`: `exists` / `not_exists` ask for presence). */
export type JsonValue = Exclude<Schema.Json, null>

export interface TypeCondition {
  readonly kind: "type"
  readonly op: "eq" | "neq"
  readonly value: LeadType
}

export type TextCondition = { readonly kind: "text"; readonly field: TextField } & (
  | { readonly op: "eq" | "neq" | "contains" | "starts_with"; readonly value: string }
  | { readonly op: "in" | "nin"; readonly value: ReadonlyArray<string> }
  | { readonly op: "exists" | "not_exists" }
)

export interface TimestampCondition {
  readonly kind: "timestamp"
  readonly field: "createdAt"
  readonly op: "eq" | "gt" | "gte" | "lt" | "lte"
  /** ISO-8601 UTC, millisecond precision */
  readonly value: string
}

/** `attributes.<key>` (source `lead`) or `membership.attributes.<key>` (source `membership`). */
export type JsonCondition = { readonly kind: "json"; readonly source: "lead" | "membership"; readonly key: string } & (
  | { readonly op: "eq" | "neq"; readonly value: JsonValue }
  | { readonly op: "in" | "nin"; readonly value: ReadonlyArray<JsonValue> }
  | { readonly op: "contains"; readonly value: string }
  | { readonly op: "gt" | "gte" | "lt" | "lte"; readonly value: number }
  | { readonly op: "exists" | "not_exists" }
)

export type TypedCondition = TypeCondition | TextCondition | TimestampCondition | JsonCondition

/** A validated LeadFilter: what the SQL adapter consumes. */
export interface ParsedLeadFilter {
  readonly where: ReadonlyArray<TypedCondition>
  /** undefined: no `any` clause; otherwise non-empty */
  readonly any: ReadonlyArray<TypedCondition> | undefined
  readonly leadIds?: ReadonlyArray<string> | undefined
  readonly limit?: number | undefined
}

export class FilterInvalid extends Schema.TaggedError<FilterInvalid>()("FilterInvalid", {
  message: Schema.String,
  details: Schema.Struct({
    issues: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String })),
    total: Schema.Int
  })
}) {}

// ---------------------------------------------------------------------------
// fields

type FieldRef =
  | { readonly kind: "type" }
  | { readonly kind: "text"; readonly field: TextField }
  | { readonly kind: "timestamp"; readonly field: "createdAt" }
  | { readonly kind: "json"; readonly source: "lead" | "membership"; readonly key: string }

const isTextField = (field: string): field is TextField => (TEXT_FIELDS as ReadonlyArray<string>).includes(field)

const fieldList = ["type", ...TEXT_FIELDS, "createdAt", "attributes.<key>", "membership.attributes.<key>"].join(", ")

/** The field a condition names, or why it names none. */
const classifyField = (field: string): FieldRef | string => {
  if (field === "type") return { kind: "type" }
  if (field === "createdAt") return { kind: "timestamp", field }
  if (isTextField(field)) return { kind: "text", field }
  const [source, key] = field.startsWith("attributes.")
    ? (["lead", field.slice("attributes.".length)] as const)
    : field.startsWith("membership.attributes.")
      ? (["membership", field.slice("membership.attributes.".length)] as const)
      : [undefined, undefined]
  if (source === undefined) return `unknown field; expected one of ${fieldList}`
  if (!ATTRIBUTE_KEY.test(key)) return `attribute keys must match ${ATTRIBUTE_KEY.source}`
  return { kind: "json", source, key }
}

export const FilterField = Schema.String.check(
  Schema.makeFilter<string>((field) => {
    const ref = classifyField(field)
    return typeof ref === "string" ? ref : undefined
  })
)

// ---------------------------------------------------------------------------
// values

/** A text value: 1..2048 characters, storable (no NUL, no lone surrogates). */
export const TextValue = Schema.String.check(isStorableText, Schema.isMinLength(1), Schema.isMaxLength(MAX_TEXT_LENGTH))
export const TextValues = Schema.Array(TextValue).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_VALUES))

const TIMESTAMP =
  /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(?:T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d))?$/

/**
 * Instants whose UTC ISO string PostgreSQL reads: years 0001..9999. (`0000-01-01` is 1 BC, written
 * `0000-…` by JavaScript, and `9999-12-31T23:00-05:00` is in year 10000, written `+010000-…`.)
 */
const MIN_MILLIS = new Date(0).setUTCFullYear(1, 0, 1)
const MAX_MILLIS = new Date(0).setUTCFullYear(10_000, 0, 1) - 1

/**
 * An ISO-8601 date (`2024-05-01`, UTC midnight) or date-time with a zone, as UTC with millisecond precision;
 * undefined when it is no such thing or falls outside the years 0001..9999 in UTC.
 */
export const toUtcTimestamp = (s: string): string | undefined => {
  const match = TIMESTAMP.exec(s)
  if (match === null) return undefined
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  if (date.getUTCDate() !== day) return undefined // 2024-02-30
  const millis = Date.parse(s)
  if (Number.isNaN(millis) || millis < MIN_MILLIS || millis > MAX_MILLIS) return undefined
  return new Date(millis).toISOString()
}

export const TimestampValue = Schema.String.check(
  Schema.makeFilter<string>((s) =>
    toUtcTimestamp(s) === undefined
      ? "must be an ISO-8601 date (2024-05-01) or date-time with a zone (2024-05-01T12:00:00Z)"
      : undefined
  )
)

const stringsUpTo = (value: unknown, max: number): boolean =>
  typeof value === "string"
    ? value.length <= max
    : Array.isArray(value)
      ? value.every((v) => stringsUpTo(v, max))
      : value !== null && typeof value === "object"
        ? Object.values(value).every((v) => stringsUpTo(v, max))
        : true

/** Any JSON value but `null`, storable, its strings at most 2048 characters. */
export const JsonFilterValue = Schema.Json.pipe(
  Schema.refine((v): v is JsonValue => v !== null, { message: "must not be null; use exists / not_exists" })
).check(
  isStorableJson,
  Schema.makeFilter<JsonValue>((v) =>
    stringsUpTo(v, MAX_TEXT_LENGTH) ? undefined : `strings must be at most ${MAX_TEXT_LENGTH} characters`
  )
)
export const JsonFilterValues = Schema.Array(JsonFilterValue).check(
  Schema.isMinLength(1),
  Schema.isMaxLength(MAX_VALUES)
)

// ---------------------------------------------------------------------------
// conditions

/** A condition as clients write it. */
export const RawCondition = Schema.Struct({
  field: FilterField,
  op: Schema.optionalKey(FilterOp),
  value: Schema.optionalKey(Schema.Unknown)
})
export type RawCondition = typeof RawCondition.Type

type Checked = Result.Result<TypedCondition, ReadonlyArray<Schema.FilterIssue>>

const decodeValue = <S extends Schema.Decoder<unknown>>(
  schema: S,
  value: unknown,
  make: (value: S["Type"]) => TypedCondition
): Checked => {
  const decoded = Schema.decodeUnknownResult(schema)(value)
  return Result.isSuccess(decoded)
    ? Result.succeed(make(decoded.success))
    : Result.fail([{ path: ["value"], issue: decoded.failure.issue }])
}

const noValue = (op: FilterOp, value: unknown, condition: TypedCondition): Checked =>
  value === undefined ? Result.succeed(condition) : Result.fail([{ path: ["value"], issue: `${op} takes no value` }])

const unsupported = (op: FilterOp, kind: keyof typeof OPS_BY_KIND, field: string): Checked =>
  Result.fail([
    {
      path: ["op"],
      issue: `${op} does not apply to ${field}; use one of ${OPS_BY_KIND[kind].join(", ")}`
    }
  ])

/**
 * A condition's typed form, or its issues. `concreteList`: the scope names a
 * real List, so membership attributes exist (never on `all`).
 */
export const checkCondition = (condition: RawCondition, concreteList: boolean): Checked => {
  const ref = classifyField(condition.field)
  if (typeof ref === "string") return Result.fail([{ path: ["field"], issue: ref }])
  const op = condition.op ?? "eq"
  const value = condition.value
  switch (ref.kind) {
    case "type":
      switch (op) {
        case "eq":
        case "neq":
          return decodeValue(LeadType, value, (v) => ({ kind: "type", op, value: v }))
        default:
          return unsupported(op, "type", condition.field)
      }
    case "text": {
      const field = ref.field
      switch (op) {
        case "eq":
        case "neq":
        case "contains":
        case "starts_with":
          return decodeValue(TextValue, value, (v) => ({ kind: "text", field, op, value: v }))
        case "in":
        case "nin":
          return decodeValue(TextValues, value, (v) => ({ kind: "text", field, op, value: v }))
        case "exists":
        case "not_exists":
          return noValue(op, value, { kind: "text", field, op })
        default:
          return unsupported(op, "text", field)
      }
    }
    case "timestamp":
      switch (op) {
        case "eq":
        case "gt":
        case "gte":
        case "lt":
        case "lte":
          return decodeValue(TimestampValue, value, (v) => ({
            kind: "timestamp",
            field: "createdAt",
            op,
            value: toUtcTimestamp(v)!
          }))
        default:
          return unsupported(op, "timestamp", ref.field)
      }
    case "json": {
      if (ref.source === "membership" && !concreteList) {
        return Result.fail([
          { path: ["field"], issue: "membership attributes need a concrete List; the `all` list has no memberships" }
        ])
      }
      const base = { kind: "json", source: ref.source, key: ref.key } as const
      switch (op) {
        case "eq":
        case "neq":
          return decodeValue(JsonFilterValue, value, (v) => ({ ...base, op, value: v }))
        case "in":
        case "nin":
          return decodeValue(JsonFilterValues, value, (v) => ({ ...base, op, value: v }))
        case "contains":
          return decodeValue(TextValue, value, (v) => ({ ...base, op, value: v }))
        case "gt":
        case "gte":
        case "lt":
        case "lte":
          return decodeValue(Schema.Finite, value, (v) => ({ ...base, op, value: v }))
        case "exists":
        case "not_exists":
          return noValue(op, value, { ...base, op })
        default:
          return unsupported(op, "json", condition.field)
      }
    }
  }
}

const conditionSchema = (concreteList: boolean) =>
  RawCondition.check(
    Schema.makeFilter<RawCondition>((condition) => {
      const checked = checkCondition(condition, concreteList)
      return Result.isFailure(checked) ? [...checked.failure] : undefined
    })
  )

const leadFilterSchema = (concreteList: boolean) => {
  const Conditions = Schema.Array(conditionSchema(concreteList)).check(Schema.isMaxLength(MAX_CONDITIONS))
  return Schema.Struct({
    where: Schema.optionalKey(Conditions),
    any: Schema.optionalKey(Conditions.check(Schema.isMinLength(1))),
    leadIds: Schema.optionalKey(Schema.Array(Id).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_LEAD_IDS))),
    limit: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: MAX_LIMIT })))
  }).check(
    Schema.makeFilter((filter) =>
      (filter.where?.length ?? 0) + (filter.any?.length ?? 0) > MAX_CONDITIONS
        ? `at most ${MAX_CONDITIONS} conditions in where and any together`
        : undefined
    )
  )
}

/** A condition of a concrete List's filter: `{ field, op? (default eq), value? }`. */
export const Condition = conditionSchema(true)

/** The LeadFilter of a concrete List (`filtered_list` with a List id other than `all`). */
export const LeadFilter = leadFilterSchema(true)
export type LeadFilter = typeof LeadFilter.Type

const LeadFilterOfAll = leadFilterSchema(false)

const decodeOptions = { onExcessProperty: "error", errors: "all" } as const
const decodeConcrete = Schema.decodeUnknownResult(LeadFilter, decodeOptions)
const decodeAll = Schema.decodeUnknownResult(LeadFilterOfAll, decodeOptions)

const typed = (conditions: ReadonlyArray<RawCondition>, concreteList: boolean): ReadonlyArray<TypedCondition> =>
  conditions.map((condition) => Result.getOrThrow(checkCondition(condition, concreteList)))

/**
 * Validates a client's filter. `concreteList`: the scope's List is a real List
 * (false for `all`, where membership attribute conditions are refused). Issues
 * name their paths from `filter` (`filter.where[1].op`): the first 100 and a total.
 */
export const parseLeadFilter = (
  input: unknown,
  options: { readonly concreteList: boolean }
): ParsedLeadFilter | FilterInvalid => {
  const decoded = (options.concreteList ? decodeConcrete : decodeAll)(input)
  if (Result.isFailure(decoded)) {
    const issues = pathIssues(decoded.failure.issue, "filter")
    const first = issues[0]
    return new FilterInvalid({
      message: first === undefined ? "Invalid filter" : `Invalid filter: ${first.path}: ${first.message}`,
      details: { issues: issues.slice(0, 100), total: issues.length }
    })
  }
  const filter = decoded.success
  return {
    where: typed(filter.where ?? [], options.concreteList),
    any: filter.any === undefined ? undefined : typed(filter.any, options.concreteList),
    ...(filter.leadIds === undefined ? {} : { leadIds: filter.leadIds }),
    ...(filter.limit === undefined ? {} : { limit: filter.limit })
  }
}
