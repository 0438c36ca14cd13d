/**
 * A parsed LeadFilter as one boolean SQL fragment over `l` (leads) and `m`
 * (list_memberships; absent for `all`, whose filters never name membership
 * attributes). Every client value is a bound parameter; the only literal SQL
 * chosen by the filter comes from the fixed operator table below.
 *
 * Each condition is a definite boolean: a positive test (eq, in, contains,
 * starts_with, exists, gt…) counts NULL (a missing value) as false, and the
 * negated ops (neq, nin, not_exists) are its exact complement, so a Lead
 * without a title matches `title neq "CEO"`.
 */
import type { SqlClient, Statement } from "effect/sql"
import { textArray } from "./TextArray.ts"
import type {
  JsonCondition,
  ParsedLeadFilter,
  TextCondition,
  TextField,
  TimestampCondition,
  TypeCondition,
  TypedCondition
} from "@enrich/domain/leads/LeadFilter"

type Sql = SqlClient.SqlClient
type Fragment = Statement.Fragment

const comparison = { eq: "=", gt: ">", gte: ">=", lt: "<", lte: "<=" } as const

const isNegated = (op: TypedCondition["op"]) => op === "neq" || op === "nin" || op === "not_exists"

/** The condition from its positive test: NULL is false; negated ops take the complement. */
const decide = (sql: Sql, test: Fragment, negated: boolean): Fragment =>
  negated ? sql`(NOT coalesce(${test}, false))` : sql`(coalesce(${test}, false))`

const typeCondition = (sql: Sql, c: TypeCondition): Fragment => decide(sql, sql`l.type = ${c.value}`, isNegated(c.op))

/** A single-valued text field. `name`: the full name, else first and last joined by a space. */
const textColumn = (sql: Sql, field: Exclude<TextField, "email">): Fragment => {
  switch (field) {
    case "name":
      return sql`coalesce(nullif(l.name->>'full', ''),
        nullif(concat_ws(' ', nullif(l.name->>'first', ''), nullif(l.name->>'last', '')), ''))`
    case "title":
      return sql`l.title`
    case "company.name":
      return sql`(l.company->>'name')`
    case "industry":
      return sql`l.industry`
    case "location.city":
      return sql`(l.location->>'city')`
    case "location.country":
      return sql`(l.location->>'country')`
    case "domain":
      return sql`l.domain`
    case "company.domain":
      return sql`(l.company->>'domain')`
  }
}

/** The positive test of a text condition on `x`, case-insensitive; `%` and `_` are plain characters. */
const textTest = (sql: Sql, x: Fragment, c: TextCondition): Fragment => {
  switch (c.op) {
    case "eq":
    case "neq":
      return sql`lower(${x}) = lower(${c.value}::text)`
    case "in":
    case "nin":
      return sql`lower(${x}) IN (SELECT lower(t.v) FROM jsonb_array_elements_text(${JSON.stringify(c.value)}::jsonb) AS t(v))`
    case "contains":
      return sql`strpos(lower(${x}), lower(${c.value}::text)) > 0`
    case "starts_with":
      return sql`starts_with(lower(${x}), lower(${c.value}::text))`
    case "exists":
    case "not_exists":
      return sql`${x} <> ''`
  }
}

/** `email` holds when any email contact passes (type email, or untyped with an `@`, as identity reads them). */
const textCondition = (sql: Sql, c: TextCondition): Fragment => {
  const test =
    c.field === "email"
      ? sql`EXISTS (SELECT 1 FROM jsonb_array_elements(l.contacts) AS e(contact)
          WHERE (e.contact->>'type' = 'email' OR (e.contact->>'type' IS NULL AND strpos(e.contact->>'value', '@') > 0))
            AND ${textTest(sql, sql`(e.contact->>'value')`, c)})`
      : textTest(sql, textColumn(sql, c.field), c)
  return decide(sql, test, isNegated(c.op))
}

/** At the millisecond precision the API shows `createdAt` with. */
const timestampCondition = (sql: Sql, c: TimestampCondition): Fragment =>
  decide(
    sql,
    sql`date_trunc('milliseconds', l.created_at) ${sql.literal(comparison[c.op])} ${c.value}::timestamptz`,
    false
  )

/** The positive test on a stored JSON value `a`: JSON equality (1 = 1.0, "1" ≠ 1), text and numeric ops by JSON type. */
const jsonTest = (sql: Sql, a: Fragment, c: JsonCondition): Fragment => {
  switch (c.op) {
    case "eq":
    case "neq":
      return sql`${a} = ${JSON.stringify(c.value)}::jsonb`
    case "in":
    case "nin":
      return sql`${a} IN (SELECT t.v FROM jsonb_array_elements(${JSON.stringify(c.value)}::jsonb) AS t(v))`
    case "contains":
      return sql`CASE WHEN jsonb_typeof(${a}) = 'string'
        THEN strpos(lower(${a} #>> '{}'), lower(${c.value}::text)) > 0 END`
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      // CASE, not AND: the cast must never see a non-number
      return sql`CASE WHEN jsonb_typeof(${a}) = 'number'
        THEN (${a})::numeric ${sql.literal(comparison[c.op])} ${c.value}::numeric END`
    case "exists":
    case "not_exists":
      return sql`${a} NOT IN ('null'::jsonb, '""'::jsonb)`
  }
}

const jsonCondition = (sql: Sql, c: JsonCondition): Fragment => {
  const a = c.source === "lead" ? sql`(l.attributes -> ${c.key}::text)` : sql`(m.attributes -> ${c.key}::text)`
  return decide(sql, jsonTest(sql, a, c), isNegated(c.op))
}

const condition = (sql: Sql, c: TypedCondition): Fragment => {
  switch (c.kind) {
    case "type":
      return typeCondition(sql, c)
    case "text":
      return textCondition(sql, c)
    case "timestamp":
      return timestampCondition(sql, c)
    case "json":
      return jsonCondition(sql, c)
  }
}

/**
 * The filter's conditions over `l` and `m`: every `where`, at least one `any`,
 * and `leadIds` when given. `limit` is the caller's (ORDER BY l.id LIMIT n).
 */
export const leadFilterSql = (sql: Sql, filter: ParsedLeadFilter): Fragment => {
  const clauses = filter.where.map((c) => condition(sql, c))
  if (filter.any !== undefined) {
    // an empty `any` is refused by the parser; were one to come, nothing would hold
    clauses.push(filter.any.length === 0 ? sql`FALSE` : sql`(${sql.or(filter.any.map((c) => condition(sql, c)))})`)
  }
  if (filter.leadIds !== undefined) {
    clauses.push(sql`(l.id = ANY(${textArray(filter.leadIds)}::text[]))`)
  }
  return sql`(${sql.and(clauses)})`
}
