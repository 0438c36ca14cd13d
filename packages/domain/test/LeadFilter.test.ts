import { describe, expect, it } from "vitest"
import {
  FilterInvalid,
  OPS_BY_KIND,
  type ParsedLeadFilter,
  parseLeadFilter,
  TEXT_FIELDS
} from "../src/leads/LeadFilter.ts"

const concrete = { concreteList: true }
const onAll = { concreteList: false }

const parsed = (input: unknown, options = concrete): ParsedLeadFilter => {
  const result = parseLeadFilter(input, options)
  if (result instanceof FilterInvalid) throw new Error(`expected a valid filter: ${result.message}`)
  return result
}

const invalid = (input: unknown, options = concrete): FilterInvalid => {
  const result = parseLeadFilter(input, options)
  if (!(result instanceof FilterInvalid)) throw new Error(`expected FILTER_INVALID for ${JSON.stringify(input)}`)
  return result
}

/** The paths the issues name. */
const paths = (input: unknown, options = concrete) => invalid(input, options).details.issues.map((i) => i.path)

const valueFor = (kind: keyof typeof OPS_BY_KIND, op: string): unknown => {
  if (op === "exists" || op === "not_exists") return undefined
  switch (kind) {
    case "type":
      return "person"
    case "text":
      return op === "in" || op === "nin" ? ["a", "b"] : "Ada"
    case "timestamp":
      return "2024-05-01T12:00:00Z"
    case "json":
      return op === "in" || op === "nin"
        ? [1, "one", true, { a: [1] }]
        : op === "contains"
          ? "acme"
          : op === "eq" || op === "neq"
            ? { nested: ["x", 1] }
            : 42.5
  }
}

const fieldsOf = {
  type: ["type"],
  text: TEXT_FIELDS,
  timestamp: ["createdAt"],
  json: ["attributes.score", "membership.attributes.stage_2"]
} as const

describe("LeadFilter (unit)", () => {
  it("accepts_every_op_of_every_field_kind_and_types_the_value", () => {
    for (const [kind, ops] of Object.entries(OPS_BY_KIND) as Array<[keyof typeof OPS_BY_KIND, ReadonlyArray<string>]>) {
      for (const field of fieldsOf[kind]) {
        for (const op of ops) {
          const value = valueFor(kind, op)
          const condition = value === undefined ? { field, op } : { field, op, value }
          const filter = parsed({ where: [condition] })
          expect(filter.where).toHaveLength(1)
          expect(filter.where[0]!.kind).toBe(kind)
          expect(filter.where[0]!.op).toBe(op)
        }
      }
    }
  })

  it("builds_the_typed_ast_with_eq_as_the_default_op", () => {
    expect(
      parsed({
        where: [
          { field: "name", value: "Ada" },
          { field: "createdAt", op: "gte", value: "2024-05-01T12:00:00.123456+02:00" },
          { field: "createdAt", op: "lt", value: "2024-05-02" },
          { field: "attributes.score", op: "gt", value: 10 },
          { field: "membership.attributes.stage", op: "in", value: ["won", 3] }
        ],
        any: [{ field: "type", value: "company" }],
        leadIds: ["l1", "l2"],
        limit: 10
      })
    ).toEqual({
      where: [
        { kind: "text", field: "name", op: "eq", value: "Ada" },
        { kind: "timestamp", field: "createdAt", op: "gte", value: "2024-05-01T10:00:00.123Z" },
        { kind: "timestamp", field: "createdAt", op: "lt", value: "2024-05-02T00:00:00.000Z" },
        { kind: "json", source: "lead", key: "score", op: "gt", value: 10 },
        { kind: "json", source: "membership", key: "stage", op: "in", value: ["won", 3] }
      ],
      any: [{ kind: "type", op: "eq", value: "company" }],
      leadIds: ["l1", "l2"],
      limit: 10
    })
  })

  it("an_empty_filter_is_valid_and_keeps_every_lead", () => {
    expect(parsed({})).toEqual({ where: [], any: undefined })
    expect(parsed({ where: [] })).toEqual({ where: [], any: undefined })
  })

  it("rejects_unknown_fields_and_ops_naming_the_path", () => {
    expect(
      paths({
        where: [
          { field: "name", value: "x" },
          { field: "salary", value: 1 }
        ]
      })
    ).toEqual(["filter.where[1].field"])
    expect(paths({ where: [{ field: "name", op: "like", value: "x" }] })).toEqual(["filter.where[0].op"])
    expect(paths({ where: [{ field: "name", op: "gt", value: "x" }] })).toEqual(["filter.where[0].op"])
    expect(paths({ where: [{ field: "type", op: "in", value: ["person"] }] })).toEqual(["filter.where[0].op"])
    expect(paths({ where: [{ field: "createdAt", op: "neq", value: "2024-01-01" }] })).toEqual(["filter.where[0].op"])
    expect(paths({ where: [{ field: "attributes.x", op: "starts_with", value: "a" }] })).toEqual(["filter.where[0].op"])
    expect(paths({ any: [{ field: "location.state", value: "CA" }] })).toEqual(["filter.any[0].field"])
  })

  it("rejects_unknown_keys_in_the_filter_and_its_conditions", () => {
    expect(paths({ where: [], conditions: [] })).toEqual(["filter.conditions"])
    expect(paths({ where: [{ field: "name", value: "x", negate: true }] })).toEqual(["filter.where[0].negate"])
    expect(paths({ where: [{ op: "eq", value: "x" }] })).toEqual(["filter.where[0].field"])
    expect(paths("name = 'x'")).toEqual(["filter"])
    expect(paths({ where: { field: "name" } })).toEqual(["filter.where"])
  })

  it("rejects_values_of_the_wrong_type", () => {
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [{ field: "type", value: "robot" }, "filter.where[0].value"],
      [{ field: "name", value: 3 }, "filter.where[0].value"],
      [{ field: "name" }, "filter.where[0].value"],
      [{ field: "name", value: "" }, "filter.where[0].value"],
      [{ field: "title", op: "in", value: "CTO" }, "filter.where[0].value"],
      [{ field: "title", op: "in", value: ["CTO", 7] }, "filter.where[0].value[1]"],
      [{ field: "title", op: "in", value: [] }, "filter.where[0].value"],
      [{ field: "email", op: "exists", value: true }, "filter.where[0].value"],
      [{ field: "createdAt", op: "gt", value: "yesterday" }, "filter.where[0].value"],
      [{ field: "createdAt", op: "gt", value: "2024-02-30" }, "filter.where[0].value"],
      [{ field: "createdAt", op: "gt", value: "2024-05-01T12:00:00" }, "filter.where[0].value"],
      [{ field: "createdAt", op: "gt", value: 1714564800000 }, "filter.where[0].value"],
      [{ field: "attributes.score", op: "gt", value: "10" }, "filter.where[0].value"],
      [{ field: "attributes.score", op: "contains", value: 10 }, "filter.where[0].value"],
      [{ field: "attributes.score", value: null }, "filter.where[0].value"],
      [{ field: "attributes.score", op: "nin", value: [1, null] }, "filter.where[0].value[1]"],
      [{ field: "attributes.score", op: "not_exists", value: null }, "filter.where[0].value"],
      [{ field: "name", value: "nul\u0000" }, "filter.where[0].value"],
      [{ field: "name", value: "lone \ud800" }, "filter.where[0].value"],
      [{ field: "name", value: "x".repeat(2049) }, "filter.where[0].value"],
      [{ field: "attributes.note", value: { deep: ["x".repeat(2049)] } }, "filter.where[0].value"]
    ]
    for (const [condition, path] of cases) {
      expect(paths({ where: [condition] }), JSON.stringify(condition).slice(0, 80)).toEqual([path])
    }
  })

  it("rejects_an_empty_any_and_bad_lead_ids_or_limits", () => {
    expect(paths({ any: [] })).toEqual(["filter.any"])
    expect(paths({ leadIds: [] })).toEqual(["filter.leadIds"])
    expect(paths({ leadIds: ["a", ""] })).toEqual(["filter.leadIds[1]"])
    expect(paths({ leadIds: Array.from({ length: 10_001 }, (_, i) => `l${i}`) })).toEqual(["filter.leadIds"])
    expect(parsed({ leadIds: Array.from({ length: 10_000 }, (_, i) => `l${i}`) }).leadIds).toHaveLength(10_000)
    for (const limit of [0, -1, 1.5, 1_000_001, "10"]) expect(paths({ limit })).toEqual(["filter.limit"])
    expect(parsed({ limit: 1_000_000 }).limit).toBe(1_000_000)
  })

  it("enforces_the_limits_on_conditions_and_values", () => {
    const condition = { field: "name", op: "exists" }
    expect(parsed({ where: Array.from({ length: 50 }, () => condition) }).where).toHaveLength(50)
    expect(paths({ where: Array.from({ length: 51 }, () => condition) })).toEqual(["filter.where"])
    expect(
      paths({ where: Array.from({ length: 30 }, () => condition), any: Array.from({ length: 21 }, () => condition) })
    ).toEqual(["filter"])
    const values = (n: number) => Array.from({ length: n }, (_, i) => `v${i}`)
    expect(parsed({ where: [{ field: "title", op: "in", value: values(1000) }] }).where).toHaveLength(1)
    expect(paths({ where: [{ field: "title", op: "nin", value: values(1001) }] })).toEqual(["filter.where[0].value"])
    expect(paths({ where: [{ field: "attributes.x", op: "in", value: values(1001) }] })).toEqual([
      "filter.where[0].value"
    ])
  })

  it("checks_attribute_keys", () => {
    expect(parsed({ where: [{ field: `attributes.a${"b".repeat(63)}`, op: "exists" }] }).where).toHaveLength(1)
    for (const field of [
      "attributes.",
      "attributes.Score",
      "attributes.1st",
      "attributes.a-b",
      "attributes.a.b",
      `attributes.a${"b".repeat(64)}`,
      "membership.attributes.Stage",
      "membership.score"
    ]) {
      expect(paths({ where: [{ field, op: "exists" }] }), field).toEqual(["filter.where[0].field"])
    }
  })

  it("refuses_membership_attributes_on_the_all_list", () => {
    const filter = {
      where: [{ field: "name", op: "exists" }],
      any: [{ field: "membership.attributes.stage", value: 1 }]
    }
    expect(parsed(filter).any).toHaveLength(1)
    const error = invalid(filter, onAll)
    expect(error.details.issues.map((i) => i.path)).toEqual(["filter.any[0].field"])
    expect(error.message).toContain("filter.any[0].field")
    expect(parsed({ where: [{ field: "attributes.stage", value: 1 }] }, onAll).where).toHaveLength(1)
  })

  it("reports_every_issue_with_a_total_and_leads_the_message_with_the_first", () => {
    const error = invalid({
      where: [
        { field: "nope", value: 1 },
        { field: "name", op: "zz" }
      ],
      any: [],
      limit: 0
    })
    expect(error.details.issues.map((i) => i.path)).toEqual([
      "filter.where[0].field",
      "filter.where[1].op",
      "filter.any",
      "filter.limit"
    ])
    expect(error.details.total).toBe(4)
    expect(error.message).toMatch(/^Invalid filter: filter\.where\[0\]\.field: unknown field/)
  })
})
