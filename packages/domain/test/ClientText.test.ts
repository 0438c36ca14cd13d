import { describe, expect, it, vi } from "vitest"
import fc from "fast-check"
import { Schema } from "effect"
import {
  findUnstorable,
  isStorable,
  JsonObject,
  storableJson,
  storableJsonMaxDepth,
  storableText
} from "../src/ClientText.ts"

/** Any UTF-16 code unit, lone surrogates and U+0000 included, often the hostile ones. */
const codeUnit = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom("\u0000", "\ud83d", "\ude00", "\ud83d\ude00", "a", "é", "\ufffd")
)
/** Any text at all: whole code points (U+0000 … U+10FFFF) or arbitrary UTF-16 units. */
const anyText = fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: codeUnit }))
const anyKey = fc.oneof(fc.string({ unit: "binary", maxLength: 6 }), fc.string({ unit: codeUnit, maxLength: 6 }))

const utf8Bytes = (s: string) => Buffer.byteLength(s, "utf8")
/** The emoji 😀 (two UTF-16 units) placed so that its first half is unit `at` (0-based). */
const emojiAt = (at: number) => `${"a".repeat(at)}\ud83d\ude00tail`

describe("Storable text and JSON (unit)", () => {
  it("regression_a_client_json_nested_100000_deep_overflowed_the_stack_and_answered_500", () => {
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = [deep]
    const value = { k: deep }
    // the walk stops at the limit: the path of the first array past it, not a RangeError
    const path = findUnstorable(value)
    expect(path?.length).toBe(storableJsonMaxDepth)
    expect(path?.[0]).toBe("k")
    const decoded = Schema.decodeUnknownExit(JsonObject)(value)
    expect(decoded._tag).toBe("Failure")
    expect(String(decoded)).toMatch(/nests arrays and objects deeper than 64 levels/)
    // as deep as allowed is accepted
    let allowed: unknown = 1
    for (let i = 0; i < storableJsonMaxDepth - 1; i++) allowed = [allowed]
    expect(findUnstorable({ k: allowed })).toBeUndefined()
    expect(Schema.decodeUnknownExit(JsonObject)({ k: allowed })._tag).toBe("Success")
  })

  it("storable_text_removes_nul_and_replaces_lone_surrogates", () => {
    expect(storableText("a\u0000b")).toBe("ab")
    expect(storableText("x\ud83dy")).toBe("x\ufffdy")
    expect(storableText("\ude00")).toBe("\ufffd")
    expect(storableText("ok \ud83d\ude00")).toBe("ok \ud83d\ude00")
  })

  it("storable_text_cuts_at_a_code_point_boundary_and_marks_the_cut", () => {
    // the 200th unit (index 199) is the first half of the pair: the cut goes before the pair
    expect(storableText(emojiAt(199), 200)).toBe(`${"a".repeat(199)}…`)
    // the pair fits whole
    expect(storableText(emojiAt(198), 200)).toBe(`${"a".repeat(198)}\ud83d\ude00…`)
    expect(storableText("abc", 3)).toBe("abc")
    expect(storableText("abcd", 3)).toBe("abc…")
    expect(storableText("abcd", 0)).toBe("…")
    // the cap applies to the cleaned text: NULs removed first
    expect(storableText("ab\u0000\u0000", 2)).toBe("ab")
  })

  it("storable_text_output_is_well_formed_nul_free_and_within_the_cap (property)", () => {
    fc.assert(
      fc.property(anyText, fc.option(fc.nat(300), { nil: undefined }), (s, max) => {
        const out = storableText(s, max)
        expect(out.isWellFormed()).toBe(true)
        expect(out.includes("\u0000")).toBe(false)
        if (max !== undefined) expect(out.length).toBeLessThanOrEqual(max + 1)
        // what is kept is a prefix of the cleaned text
        const clean = s.replaceAll("\u0000", "").toWellFormed()
        if (max === undefined || clean.length <= max) expect(out).toBe(clean)
        else {
          expect(out.endsWith("…")).toBe(true)
          expect(clean.startsWith(out.slice(0, -1))).toBe(true)
          // at most one unit less than the cap: the first half of a pair left out
          expect(out.length).toBeGreaterThanOrEqual(max)
        }
      }),
      { numRuns: 2_000 }
    )
  })

  it("storable_text_leaves_a_storable_string_within_the_cap_unchanged (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.nat(300), (raw, max) => {
        const s = raw.replaceAll("\u0000", "")
        expect(storableText(s)).toBe(s)
        if (s.length <= max) expect(storableText(s, max)).toBe(s)
      }),
      { numRuns: 1_000 }
    )
  })

  it("storable_json_cleans_strings_and_keys_and_follows_json_stringify_for_the_rest", () => {
    const date = new Date("2024-01-02T03:04:05.000Z")
    const value = {
      "k\u0000ey": "v\u0000\ud83d",
      list: [undefined, () => 1, Symbol("s"), Number.NaN, Number.POSITIVE_INFINITY, -0, 1n, "ok"],
      gone: undefined,
      fn: () => 2,
      date,
      boxed: [new String("s"), new Number(2), new Boolean(false)],
      custom: { toJSON: () => ({ was: "custom\udc00" }) }
    }
    expect(storableJson(value)).toEqual({
      key: "v\ufffd",
      list: [null, null, null, null, null, 0, "1", "ok"],
      date: "2024-01-02T03:04:05.000Z",
      boxed: ["s", 2, false],
      custom: { was: "custom\ufffd" }
    })
    expect(storableJson(undefined)).toBeNull()
    expect(storableJson("\u0000")).toBe("")
  })

  it("storable_json_keeps_a_json_parse_proto_key_as_data", () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": "\\u0000yes"}}')
    const copy = storableJson(parsed) as Record<string, unknown>
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype)
    expect(Object.hasOwn(copy, "__proto__")).toBe(true)
    expect(JSON.stringify(copy)).toBe('{"__proto__":{"polluted":"yes"}}')
  })

  it("storable_json_replaces_cycles_and_caps_depth_without_throwing", () => {
    const cyclic: Record<string, unknown> = { name: "root" }
    cyclic["self"] = cyclic
    cyclic["list"] = [cyclic, { back: cyclic }]
    expect(storableJson(cyclic)).toEqual({ name: "root", self: "[cycle]", list: ["[cycle]", { back: "[cycle]" }] })
    // a shared (not cyclic) reference is JSON: kept at both places
    const shared = { x: 1 }
    expect(storableJson({ a: shared, b: shared })).toEqual({ a: { x: 1 }, b: { x: 1 } })

    let deep: unknown = "bottom"
    for (let i = 0; i < 200; i++) deep = { d: deep }
    const json = JSON.stringify(storableJson(deep))
    expect(json.match(/\{/g)?.length).toBe(64)
    expect(json).toContain('"[too deep]"')
  })

  it("storable_json_cuts_long_strings_and_replaces_values_larger_than_max_bytes", () => {
    expect(storableJson({ s: `${"a".repeat(20)}\ud83d\ude00` }, { maxStringChars: 21 })).toEqual({
      s: `${"a".repeat(20)}…`
    })
    expect((storableJson({ s: "x".repeat(20_000) }) as { s: string }).s.length).toBe(10_001)

    // 3-byte characters: the UTF-8 size counts, not the number of units
    const big = { text: "€".repeat(9_000), more: Array.from({ length: 200 }, (_, i) => ({ i, v: "€".repeat(200) })) }
    const bytes = utf8Bytes(JSON.stringify(big))
    const out = storableJson(big, { maxBytes: 64 * 1024 }) as { truncated: boolean; bytes: number; excerpt: string }
    expect(out.truncated).toBe(true)
    expect(out.bytes).toBe(bytes)
    expect(out.excerpt.length).toBeLessThanOrEqual(1_001)
    expect(JSON.stringify(big).startsWith(out.excerpt.slice(0, -1))).toBe(true)
    expect(findUnstorable(out)).toBeUndefined()
    // just under the limit: kept whole
    expect(storableJson(big, { maxBytes: bytes })).toEqual(big)
  })

  it("storable_json_does_not_serialise_an_ordinary_small_value", () => {
    const spy = vi.spyOn(JSON, "stringify")
    try {
      const record = { id: "p1", title: "CTO", company: { name: "Acme", size: 120, tags: ["b2b", "saas"] }, ok: true }
      const started = performance.now()
      for (let i = 0; i < 20_000; i++) storableJson(record)
      const elapsed = performance.now() - started
      expect(spy).not.toHaveBeenCalled()
      // about 1 µs each on a laptop; generous for a loaded CI machine
      expect(elapsed).toBeLessThan(5_000)
    } finally {
      spy.mockRestore()
    }
  })

  it("storable_json_of_any_json_value_is_storable_and_serialisable (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: codeUnit }), fc.jsonValue({ stringUnit: "binary" }), (a, b) => {
        for (const x of [a, b]) {
          const out = storableJson(x)
          expect(findUnstorable(out)).toBeUndefined()
          expect(() => JSON.stringify(out)).not.toThrow()
        }
      }),
      { numRuns: 500 }
    )
  })

  it("storable_json_of_anything_is_storable_and_serialisable (property)", () => {
    const anything = fc.anything({
      key: anyKey,
      stringUnit: codeUnit,
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true
    })
    fc.assert(
      fc.property(anything, (x) => {
        const out = storableJson(x)
        expect(findUnstorable(out)).toBeUndefined()
        expect(() => JSON.stringify(out)).not.toThrow()
      }),
      { numRuns: 500 }
    )
  })

  it("storable_json_leaves_a_storable_json_value_as_json_would (property)", () => {
    const storableString = fc.string({ unit: "binary", maxLength: 40 }).map((s) => s.replaceAll("\u0000", ""))
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: "grapheme" }), fc.array(storableString), (x, strings) => {
        for (const v of [x, strings]) {
          expect(findUnstorable(v)).toBeUndefined()
          expect(JSON.stringify(storableJson(v))).toBe(JSON.stringify(v))
        }
      }),
      { numRuns: 500 }
    )
  })

  it("storable_json_is_never_larger_than_max_bytes_unless_replaced_by_its_summary (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: codeUnit }), fc.integer({ min: 2, max: 400 }), (x, maxBytes) => {
        const out = storableJson(x, { maxBytes })
        const whole = storableJson(x, { maxBytes: Number.POSITIVE_INFINITY })
        const size = utf8Bytes(JSON.stringify(whole))
        if (size <= maxBytes) expect(out).toEqual(whole)
        else {
          expect(out).toEqual({ truncated: true, bytes: size, excerpt: storableText(JSON.stringify(whole), 1_000) })
        }
        expect(isStorable(JSON.stringify(out))).toBe(true)
      }),
      { numRuns: 1_000 }
    )
  })
})
