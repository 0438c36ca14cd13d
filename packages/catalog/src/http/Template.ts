/**
 * The request template language of configured HTTP providers, and the JSON
 * Pointers (RFC 6901) their response mappings use. Pure data in, data out: no
 * expression is ever evaluated.
 *
 * A template is JSON. Every value is literal except an object with a `$` key,
 * which is a placeholder (the only keys it may have are listed):
 * - `{ "$lead": "<Lead path>", "default"?: v }`: the Lead's value at that path
 *   (one of the enrichment's `reads`); a list of paths takes the first that has
 *   a value (`["company.domain", "company.name"]`); in batch mode only inside `$each`;
 * - `{ "$input": "<name>", "default"?: v }`: the run input's value (declared in `input`);
 * - `{ "$each": <template> }` (batch mode, exactly once): an array with the
 *   template rendered for each Lead of the bulk request, in order;
 * - `{ "$index": "number" | "string" }` (inside `$each`): the Lead's position in
 *   the bulk request (0-based), to match a keyed bulk answer back;
 * - `{ "$literal": v }`: `v` as is (to send an object that has `$` keys).
 *
 * A placeholder without a value (a missing or empty Lead field, an input not
 * given) and without `default` leaves its key out of the enclosing object (an
 * array gets `null`), since vendors tend to reject `null` parameters.
 *
 * URLs may hold `{lead.<path>}` (per-Lead mode) and `{input.<name>}`,
 * replaced by the percent-encoded value (empty when missing).
 */

/** A problem in a template, at a path inside it. */
export interface TemplateIssue {
  readonly path: ReadonlyArray<string | number>
  readonly message: string
}

export interface TemplateRules {
  readonly mode: "per_lead" | "batch"
  readonly reads: ReadonlyArray<string>
  readonly inputs: ReadonlyArray<string>
}

const directives = ["$lead", "$input", "$each", "$index", "$literal"] as const
const allowedKeys: Record<(typeof directives)[number], ReadonlyArray<string>> = {
  $lead: ["$lead", "default"],
  $input: ["$input", "default"],
  $each: ["$each"],
  $index: ["$index"],
  $literal: ["$literal"]
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const directiveOf = (value: Record<string, unknown>): (typeof directives)[number] | "unknown" | undefined => {
  const dollars = Object.keys(value).filter((k) => k.startsWith("$"))
  if (dollars.length === 0) return undefined
  if (dollars.length > 1) return "unknown"
  const found = directives.find((d) => d === dollars[0])
  return found ?? "unknown"
}

/**
 * Checks a template against the provider's mode, reads and inputs. Returns
 * every issue and how many `$each` it holds (batch bodies need exactly one).
 */
export const checkTemplate = (
  template: unknown,
  rules: TemplateRules,
  at: ReadonlyArray<string | number> = []
): { readonly issues: ReadonlyArray<TemplateIssue>; readonly eachCount: number } => {
  const issues: Array<TemplateIssue> = []
  let eachCount = 0
  const walk = (value: unknown, path: ReadonlyArray<string | number>, insideEach: boolean): void => {
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) walk(v, [...path, i], insideEach)
      return
    }
    if (!isObject(value)) return
    const directive = directiveOf(value)
    if (directive === undefined) {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k], insideEach)
      return
    }
    if (directive === "unknown") {
      const keys = Object.keys(value).filter((k) => k.startsWith("$"))
      issues.push({
        path,
        message: `unknown placeholder ${keys.join(", ")}: use $lead, $input, $each, $index, or $literal (to send $ keys as they are)`
      })
      return
    }
    const extra = Object.keys(value).filter((k) => !allowedKeys[directive].includes(k))
    if (extra.length > 0) issues.push({ path, message: `${directive} does not take ${extra.join(", ")}` })
    const arg = value[directive]
    switch (directive) {
      case "$lead": {
        const paths = typeof arg === "string" ? [arg] : arg
        if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === "string")) {
          issues.push({ path: [...path, "$lead"], message: "must be a Lead path or a non-empty list of Lead paths" })
          return
        }
        for (const p of paths as ReadonlyArray<string>)
          if (!rules.reads.includes(p))
            issues.push({ path: [...path, "$lead"], message: `${p} is not one of the enrichment's reads` })
        if (rules.mode === "batch" && !insideEach)
          issues.push({
            path: [...path, "$lead"],
            message: "in batch mode a Lead field is only available inside $each"
          })
        return
      }
      case "$input":
        if (typeof arg !== "string") issues.push({ path: [...path, "$input"], message: "must be an input name" })
        else if (!rules.inputs.includes(arg))
          issues.push({ path: [...path, "$input"], message: `${arg} is not declared in input` })
        return
      case "$index":
        if (arg !== "number" && arg !== "string")
          issues.push({ path: [...path, "$index"], message: 'must be "number" or "string"' })
        else if (!insideEach) issues.push({ path, message: "$index is only available inside $each" })
        return
      case "$each":
        eachCount++
        if (rules.mode !== "batch") issues.push({ path, message: "$each is only available in batch mode" })
        else if (insideEach) issues.push({ path, message: "$each cannot be nested" })
        walk(arg, [...path, "$each"], true)
        return
      case "$literal":
        return
    }
  }
  walk(template, at, false)
  return { issues, eachCount }
}

/** What a template is rendered with: the run input, and the Lead (per-Lead) or the bulk request's Leads (batch). */
export interface RenderContext {
  readonly input: Readonly<Record<string, unknown>>
  readonly lead?: Readonly<Record<string, unknown>> | undefined
  readonly each?: ReadonlyArray<Readonly<Record<string, unknown>>> | undefined
  readonly index?: number | undefined
}

const present = (value: unknown) => value !== undefined && value !== null

/** Renders a checked template; `undefined` means "no value" (the key is left out). */
export const renderTemplate = (template: unknown, context: RenderContext): unknown => {
  if (Array.isArray(template)) return template.map((t) => renderTemplate(t, context) ?? null)
  if (!isObject(template)) return template
  const directive = directiveOf(template)
  switch (directive) {
    case undefined: {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(template)) {
        const rendered = renderTemplate(v, context)
        if (rendered !== undefined) out[k] = rendered
      }
      return out
    }
    case "$lead": {
      const arg = template["$lead"]
      const paths = (typeof arg === "string" ? [arg] : arg) as ReadonlyArray<string>
      const value = paths.map((p) => context.lead?.[p]).find(present)
      return present(value) ? value : template["default"]
    }
    case "$input": {
      const value = context.input[template["$input"] as string]
      return present(value) ? value : template["default"]
    }
    case "$index":
      return template["$index"] === "string" ? String(context.index ?? 0) : (context.index ?? 0)
    case "$each":
      return (context.each ?? []).map(
        (lead, index) => renderTemplate(template["$each"], { input: context.input, lead, index }) ?? null
      )
    case "$literal":
      return template["$literal"]
    default:
      return undefined
  }
}

const urlPlaceholder = /\{(lead|input)\.([^{}]+)\}/g

/** The `{lead.<path>}` and `{input.<name>}` placeholders of a URL. */
export const urlPlaceholders = (
  url: string
): ReadonlyArray<{ readonly kind: "lead" | "input"; readonly name: string }> =>
  [...url.matchAll(urlPlaceholder)].map((m) => ({ kind: m[1] as "lead" | "input", name: m[2]! }))

const scalarText = (value: unknown): string =>
  value === undefined || value === null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value)

/** The URL with its placeholders replaced by percent-encoded values. */
export const renderUrl = (url: string, context: RenderContext): string =>
  url.replace(urlPlaceholder, (_, kind: string, name: string) =>
    encodeURIComponent(scalarText(kind === "lead" ? context.lead?.[name] : context.input[name]))
  )

/** A query parameter's text, or `undefined` to leave it out. */
export const queryText = (value: unknown): string | undefined =>
  value === undefined || value === null ? undefined : scalarText(value)

// --- JSON Pointer (RFC 6901) --------------------------------------------------

/** Whether `pointer` is a JSON Pointer: empty (the whole document) or `/`-separated tokens. */
export const isJsonPointer = (pointer: string): boolean => pointer === "" || pointer.startsWith("/")

const tokens = (pointer: string): ReadonlyArray<string> =>
  pointer === ""
    ? []
    : pointer
        .slice(1)
        .split("/")
        .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"))

/** The value at `pointer` in `document`, `undefined` when absent. */
export const atPointer = (document: unknown, pointer: string): unknown => {
  let current: unknown = document
  for (const token of tokens(pointer)) {
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(token)) return undefined
      current = current[Number(token)]
    } else if (isObject(current)) {
      current = Object.hasOwn(current, token) ? current[token] : undefined
    } else {
      return undefined
    }
    if (current === undefined) return undefined
  }
  return current
}
