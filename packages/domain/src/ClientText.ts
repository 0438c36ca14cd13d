/**
 * Text that clients send. PostgreSQL `text` and `jsonb` cannot hold U+0000, and
 * `jsonb` refuses lone UTF-16 surrogates (text would silently turn them into
 * U+FFFD), so such strings are refused at the edge with the path that carries
 * them, instead of failing deep in a statement or being altered.
 */
import { Schema } from "effect"

const message = "must be well-formed Unicode without NUL characters (U+0000)"

/** Storable in PostgreSQL text and jsonb: well-formed UTF-16 (no lone surrogates) and no U+0000. */
export const isStorable = (s: string): boolean => s.isWellFormed() && !s.includes("\u0000")

/**
 * The deepest nesting of arrays and objects kept in stored JSON: a client's deeper JSON is refused, a
 * vendor's is cut there (storableJson). PostgreSQL's jsonb reads deeper, but every walk of the value
 * (ours, its) recurses, and no Lead attribute or input needs more.
 */
export const storableJsonMaxDepth = 64

const tooDeep = `nests arrays and objects deeper than ${storableJsonMaxDepth} levels`

/** The first problem of a client's JSON: a string (value or key) that is not storable, or nesting too deep. */
const problemIn = (
  value: unknown,
  path: ReadonlyArray<PropertyKey>,
  depth: number
): { readonly path: ReadonlyArray<PropertyKey>; readonly message: string } | undefined => {
  if (typeof value === "string") return isStorable(value) ? undefined : { path, message }
  if (value === null || typeof value !== "object") return undefined
  if (depth >= storableJsonMaxDepth) return { path, message: tooDeep }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = problemIn(value[i], [...path, i], depth + 1)
      if (found !== undefined) return found
    }
    return undefined
  }
  for (const [key, inner] of Object.entries(value)) {
    if (!isStorable(key)) return { path: [...path, key], message }
    const found = problemIn(inner, [...path, key], depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * The path of the first string (value or key) that is not storable, or of the first array or object
 * nested past `storableJsonMaxDepth`, if any. Bounded by that depth, however deep `value` is.
 */
export const findUnstorable = (
  value: unknown,
  path: ReadonlyArray<PropertyKey> = []
): ReadonlyArray<PropertyKey> | undefined => problemIn(value, path, 0)?.path

export const isStorableText = Schema.makeFilter<string>((s) => (isStorable(s) ? undefined : message), {
  expected: "well-formed Unicode text without NUL characters"
})

export const isStorableJson = Schema.makeFilter<unknown>((value) => {
  const found = problemIn(value, [], 0)
  return found === undefined
    ? undefined
    : found.path.length === 0
      ? found.message
      : { path: [...found.path], issue: found.message }
})

/** Any client string. */
export const Text = Schema.String.check(isStorableText)

/** A client string of at most `max` characters. */
export const TextUpTo = (max: number) => Schema.String.check(isStorableText, Schema.isMaxLength(max))

/** A client id: 1..200 characters. */
export const Id = Schema.String.check(isStorableText, Schema.isMinLength(1), Schema.isMaxLength(200))

/** A JSON object from a client (attributes, inputs, filters). */
export const JsonObject = Schema.Record(Schema.String, Schema.Unknown).check(isStorableJson)

// --- making text storable (for what comes from outside: vendors, errors) -----------------------------

const ELLIPSIS = "…"

/**
 * `s` made storable: U+0000 removed, lone surrogates replaced by U+FFFD; with
 * `maxChars`, cut to at most that many UTF-16 units at a code point boundary
 * (never between the two halves of a pair), "…" appended when it was cut (so
 * the result has at most `maxChars + 1` units). A storable string within the
 * cap is returned as it is.
 */
export const storableText = (s: string, maxChars?: number): string => {
  const clean = isStorable(s) ? s : s.replaceAll("\u0000", "").toWellFormed()
  if (maxChars === undefined || clean.length <= maxChars) return clean
  let end = Math.max(0, Math.floor(maxChars)) || 0
  // the unit before the cut is the first half of a pair (the text is well-formed): cut before the pair
  const last = clean.charCodeAt(end - 1)
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end--
  return `${clean.slice(0, end)}${ELLIPSIS}`
}

export interface StorableJsonOptions {
  /** strings (values and keys) longer than this are cut (default 10 000) */
  readonly maxStringChars?: number | undefined
  /** a value whose JSON is larger than this many UTF-8 bytes is replaced by a summary (default 256 KiB) */
  readonly maxBytes?: number | undefined
}

const defaultMaxStringChars = 10_000
const defaultMaxBytes = 256 * 1024
const excerptChars = 1_000

interface Walk {
  readonly maxStringChars: number
  readonly ancestors: Set<object>
  /** an upper bound of the UTF-8 size of the copy's JSON, counted as it is built */
  high: number
}

const textIn = (walk: Walk, s: string): string => {
  const text = storableText(s, walk.maxStringChars)
  // a JSON string takes at most 6 bytes a UTF-16 unit (\u001f), and its quotes
  walk.high += 6 * text.length + 2
  return text
}

/** `value` as JSON.stringify would see it, made storable; undefined when JSON has no place for it. */
const copyOf = (walk: Walk, value: unknown, key: string | number, depth: number): unknown => {
  switch (typeof value) {
    case "string":
      return textIn(walk, value)
    case "number":
      if (!Number.isFinite(value)) {
        walk.high += 4
        return null
      }
      // "0" … "-1.2345678901234567e-308"
      walk.high += 24
      return value === 0 ? 0 : value
    case "boolean":
      walk.high += 5
      return value
    case "bigint":
      // JSON.stringify throws on a bigint: its decimal digits instead
      return textIn(walk, value.toString())
    case "undefined":
    case "function":
    case "symbol":
      return undefined
  }
  if (value === null) {
    walk.high += 4
    return null
  }
  let object = value as object
  const toJSON = (object as { readonly toJSON?: unknown }).toJSON
  if (typeof toJSON === "function") {
    let replaced: unknown
    try {
      replaced = toJSON.call(object, String(key))
    } catch {
      replaced = null
    }
    if (replaced === null || typeof replaced !== "object") return copyOf(walk, replaced, key, depth)
    object = replaced
  }
  if (object instanceof Number || object instanceof String || object instanceof Boolean)
    return copyOf(walk, object.valueOf(), key, depth)
  if (walk.ancestors.has(object)) return textIn(walk, "[cycle]")
  if (depth >= storableJsonMaxDepth) return textIn(walk, "[too deep]")
  walk.ancestors.add(object)
  try {
    if (Array.isArray(object)) {
      const copy: Array<unknown> = new Array(object.length)
      walk.high += 2 + Math.max(0, object.length - 1)
      for (let i = 0; i < object.length; i++) {
        const inner = copyOf(walk, object[i], i, depth + 1)
        if (inner === undefined) {
          walk.high += 4
          copy[i] = null
        } else copy[i] = inner
      }
      return copy
    }
    const copy: Record<string, unknown> = {}
    walk.high += 2
    let count = 0
    for (const name of Object.keys(object)) {
      const inner = copyOf(walk, (object as Record<string, unknown>)[name], name, depth + 1)
      if (inner === undefined) continue
      const storedName = textIn(walk, name)
      // ":" and "," around each member
      walk.high += count === 0 ? 1 : 2
      count++
      // a "__proto__" key of JSON.parse is an own property; plain assignment would set the prototype
      if (storedName === "__proto__")
        Object.defineProperty(copy, storedName, { value: inner, enumerable: true, writable: true, configurable: true })
      else copy[storedName] = inner
    }
    return copy
  } finally {
    walk.ancestors.delete(object)
  }
}

/** The UTF-8 size of a well-formed string. */
const utf8Bytes = (s: string): number => {
  let bytes = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      bytes += 4
      i++
    } else bytes += 3
  }
  return bytes
}

/**
 * A copy of a JSON-like value that PostgreSQL jsonb accepts and that stays
 * bounded:
 *
 * - every string, values and object keys, is `storableText`, cut at
 *   `maxStringChars` (default 10 000);
 * - what JSON has no form for goes as JSON.stringify would have it: `toJSON`
 *   is applied, an `undefined` / function / symbol member is left out (in an
 *   array it is `null`), NaN and ±Infinity are `null`, boxed primitives are
 *   unwrapped; and where JSON.stringify would throw, it does not: a bigint
 *   becomes its decimal digits, a cyclic reference the string "[cycle]";
 *   a top-level value without a JSON form is `null`;
 * - an array or object nested deeper than 64 levels is the string "[too deep]";
 * - when the JSON of the copy is larger than `maxBytes` UTF-8 bytes (default
 *   256 KiB), the whole value is replaced by `{ truncated: true, bytes, excerpt }`:
 *   that size, and the first ~1 000 characters of that JSON.
 *
 * One walk; the JSON is only serialised when the size the walk bounds may pass
 * `maxBytes`.
 */
export const storableJson = (value: unknown, options?: StorableJsonOptions): unknown => {
  const walk: Walk = {
    maxStringChars: options?.maxStringChars ?? defaultMaxStringChars,
    ancestors: new Set(),
    high: 0
  }
  const maxBytes = options?.maxBytes ?? defaultMaxBytes
  const copy = copyOf(walk, value, "", 0) ?? null
  if (walk.high <= maxBytes) return copy
  const json = JSON.stringify(copy)
  const bytes = utf8Bytes(json)
  if (bytes <= maxBytes) return copy
  return { truncated: true, bytes, excerpt: storableText(json, excerptChars) }
}
