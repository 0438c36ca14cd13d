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

/** The path of the first string (value or key) that is not storable, if any. */
export const findUnstorable = (
  value: unknown,
  path: ReadonlyArray<PropertyKey> = []
): ReadonlyArray<PropertyKey> | undefined => {
  if (typeof value === "string") return isStorable(value) ? undefined : path
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorable(value[i], [...path, i])
      if (found !== undefined) return found
    }
    return undefined
  }
  if (value !== null && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) {
      if (!isStorable(key)) return [...path, key]
      const found = findUnstorable(inner, [...path, key])
      if (found !== undefined) return found
    }
  }
  return undefined
}

export const isStorableText = Schema.makeFilter<string>((s) => (isStorable(s) ? undefined : message), {
  expected: "well-formed Unicode text without NUL characters"
})

export const isStorableJson = Schema.makeFilter<unknown>((value) => {
  const path = findUnstorable(value)
  return path === undefined ? undefined : path.length === 0 ? message : { path: [...path], issue: message }
})

/** Any client string. */
export const Text = Schema.String.check(isStorableText)

/** A client string of at most `max` characters. */
export const TextUpTo = (max: number) => Schema.String.check(isStorableText, Schema.isMaxLength(max))

/** A client id: 1..200 characters. */
export const Id = Schema.String.check(isStorableText, Schema.isMinLength(1), Schema.isMaxLength(200))

/** A JSON object from a client (attributes, inputs, filters). */
export const JsonObject = Schema.Record(Schema.String, Schema.Unknown).check(isStorableJson)
