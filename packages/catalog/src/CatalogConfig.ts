/**
 * The operator's catalog configuration: the built-in enrichments plus the
 * entries of the JSON files named by `ENRICH_CATALOG_FILES` (comma-separated
 * paths; unset or empty = built-ins only). A file is
 * `{ "enrichments": [entry, …] }`; an entry is
 * - `{ "kind": "http", … }` — a data vendor over HTTP (http/),
 * - `{ "kind": "waterfall", … }` — an ordered list of other entries (Waterfall.ts),
 * - `{ "kind": "builtin", "slug", "enabled"?, "visibility"? }` — turns a built-in
 *   off (`enabled: false`: not listed, not dispatchable, not a waterfall step) or
 *   hides it (`visibility: "hidden"`: not listed, not dispatchable, still usable as a step).
 *
 * Loading is all-or-nothing and strict: unknown keys, a bad value, a slug
 * defined twice (against the built-ins or across files), a waterfall step that
 * names no entry, a cycle of waterfalls, a missing file or bad JSON each stop
 * the process at start with a `CatalogConfigError` naming every problem by file
 * and path (`catalog.json: enrichments[2].steps[0]: unknown enrichment "x"`).
 * `ConfiguredCatalogLive` is the `Catalog` every process uses (API, runner,
 * Trigger.dev task), so they all see one catalog.
 */
import { Config, Effect, Layer, Result, Schema } from "effect"
import { readFile } from "node:fs/promises"
import { planWaterfalls, type StepFacts } from "@enrich/domain/catalog/Waterfall"
import { Catalog, type CatalogEntry, makeCatalog } from "@enrich/domain/ports/Catalog"
import { pathIssues } from "@enrich/domain/SchemaIssues"
import { builtinEntries, makeBuiltinEntries } from "./Catalog.ts"
import { MailDomainsFromConfig } from "./builtin/mailDomain.ts"
import { defaultRetryPolicy, type RetryPolicy, RetryPolicyConfig } from "@enrich/domain/catalog/ProviderRetry"
import { makeHttpEntry } from "./http/HttpProvider.ts"
import { decodeHttpProviderConfig, type HttpProviderConfig } from "./http/HttpProviderConfig.ts"
import { makeWaterfallEntry, Slug, stepsOf, WaterfallConfig } from "./Waterfall.ts"

/** One problem of the configuration: the file, the path in it (`enrichments[1].slug`), what is wrong. */
export interface CatalogConfigIssue {
  readonly file: string
  readonly path: string
  readonly message: string
}

export class CatalogConfigError extends Schema.TaggedError<CatalogConfigError>()("CatalogConfigError", {
  message: Schema.String,
  issues: Schema.Array(Schema.Struct({ file: Schema.String, path: Schema.String, message: Schema.String }))
}) {}

const configError = (issues: ReadonlyArray<CatalogConfigIssue>) =>
  new CatalogConfigError({
    message: [
      `Invalid catalog configuration (ENRICH_CATALOG_FILES): ${issues.length} problem${issues.length === 1 ? "" : "s"}`,
      ...issues.map((i) => `  ${i.file}: ${i.path === "" ? "" : `${i.path}: `}${i.message}`)
    ].join("\n"),
    issues
  })

/** A `{"kind": "builtin", …}` entry: a built-in turned off or hidden. */
export const BuiltinOverrideConfig = Schema.Struct({
  kind: Schema.Literal("builtin"),
  slug: Slug,
  enabled: Schema.optionalKey(Schema.Boolean),
  visibility: Schema.optionalKey(Schema.Literals(["public", "hidden", "internal"]))
})
export type BuiltinOverrideConfig = typeof BuiltinOverrideConfig.Type

/** A catalog file's top level (its entries are decoded by kind). */
const CatalogFile = Schema.Struct({ enrichments: Schema.Array(Schema.Unknown) })

const kinds = ["http", "waterfall", "builtin"] as const

const decodeOptions = { onExcessProperty: "error", errors: "all" } as const
/** Schema issues as configuration issues, their paths under `prefix`. */
const issuesOf = (file: string, prefix: string, error: Schema.SchemaError): Array<CatalogConfigIssue> =>
  pathIssues(error.issue, prefix).map((issue) => ({
    file,
    path: issue.path.replace(/^\./, ""),
    message: issue.message
  }))

/** An entry of a file, decoded, with where it came from. */
type Located<A> = { readonly file: string; readonly path: string; readonly index: number; readonly config: A }

interface Decoded {
  readonly overrides: Array<Located<BuiltinOverrideConfig>>
  readonly http: Array<Located<HttpProviderConfig>>
  readonly waterfalls: Array<Located<WaterfallConfig>>
}

/** Decodes one file's text; every problem of it, or its entries. */
const decodeFile = Effect.fnUntraced(function* (file: string, text: string | Error) {
  const failed = (issues: Array<CatalogConfigIssue>): Result.Result<Decoded, Array<CatalogConfigIssue>> =>
    Result.fail(issues)
  if (text instanceof Error) return failed([{ file, path: "", message: `cannot read the file: ${text.message}` }])
  const json = yield* Effect.result(Effect.try(() => JSON.parse(text) as unknown))
  if (Result.isFailure(json)) {
    const cause = json.failure.cause
    return failed([
      { file, path: "", message: `not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}` }
    ])
  }
  const top = Schema.decodeUnknownResult(CatalogFile, decodeOptions)(json.success)
  if (Result.isFailure(top)) return failed(issuesOf(file, "", top.failure))
  const issues: Array<CatalogConfigIssue> = []
  const decoded: Decoded = { overrides: [], http: [], waterfalls: [] }
  for (const [i, raw] of top.success.enrichments.entries()) {
    const path = `enrichments[${i}]`
    const kind =
      typeof raw === "object" && raw !== null && !Array.isArray(raw) ? (raw as { kind?: unknown }).kind : undefined
    if (kind === "waterfall") {
      const w = Schema.decodeUnknownResult(WaterfallConfig, decodeOptions)(raw)
      if (Result.isFailure(w)) issues.push(...issuesOf(file, path, w.failure))
      else decoded.waterfalls.push({ file, path, index: i, config: w.success })
    } else if (kind === "builtin") {
      const b = Schema.decodeUnknownResult(BuiltinOverrideConfig, decodeOptions)(raw)
      if (Result.isFailure(b)) issues.push(...issuesOf(file, path, b.failure))
      else decoded.overrides.push({ file, path, index: i, config: b.success })
    } else if (kind === "http") {
      const h = yield* Effect.result(decodeHttpProviderConfig(raw, { source: `${file} ${path}` }))
      if (Result.isFailure(h)) issues.push(...h.failure.issues.map((issue) => httpIssue(file, path, issue)))
      else decoded.http.push({ file, path, index: i, config: h.success })
    } else {
      issues.push({
        file,
        path: `${path}.kind`,
        message: `expected one of ${kinds.map((k) => `"${k}"`).join(", ")}, got ${JSON.stringify(kind) ?? "nothing"}`
      })
    }
  }
  return issues.length > 0 ? failed(issues) : Result.succeed(decoded)
})

/** An issue of the http decoder (its path is relative to the entry) as a configuration issue. */
const httpIssue = (file: string, at: string, issue: { readonly path: string; readonly message: string }) => ({
  file,
  path: issue.path === "" ? at : issue.path.startsWith("[") ? `${at}${issue.path}` : `${at}.${issue.path}`,
  message: issue.message
})

export interface LoadOptions {
  /** the retry policy of waterfall steps without their own (default: the executor's defaults) */
  readonly retry?: RetryPolicy
  /** entries defined in code, added to the built-ins before the files (their slugs are reserved too) */
  readonly extraEntries?: ReadonlyArray<CatalogEntry>
  /** the built-in entries (default: `builtinEntries`, without DNS) */
  readonly builtins?: ReadonlyArray<CatalogEntry>
}

/**
 * The catalog's entries: the built-ins (as the files' `builtin` entries leave
 * them), then each file's entries in order. Fails with every problem found.
 */
export const loadCatalogEntries = (
  files: ReadonlyArray<string>,
  options: LoadOptions = {}
): Effect.Effect<ReadonlyArray<CatalogEntry>, CatalogConfigError> =>
  Effect.gen(function* () {
    const builtins = options.builtins ?? builtinEntries
    const fixed = [...builtins, ...(options.extraEntries ?? [])]
    if (files.length === 0) return fixed
    const texts = yield* Effect.forEach(files, (file) =>
      Effect.promise(() =>
        readFile(file, "utf8").catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))
      )
    )
    const issues: Array<CatalogConfigIssue> = []
    const all: Decoded = { overrides: [], http: [], waterfalls: [] }
    for (const [i, file] of files.entries()) {
      const decoded = yield* decodeFile(file, texts[i]!)
      if (Result.isFailure(decoded)) issues.push(...decoded.failure)
      else {
        all.overrides.push(...decoded.success.overrides)
        all.http.push(...decoded.success.http)
        all.waterfalls.push(...decoded.success.waterfalls)
      }
    }
    // a file that does not decode stops here: what follows would report its consequences, not its cause
    if (issues.length > 0) return yield* configError(issues)

    // slugs: one definition each, across built-ins, code and every file
    const definedBy = new Map<string, string>(
      fixed.map((e) => [
        e.contract.slug,
        builtins.includes(e) ? "the built-in catalog" : "an enrichment defined in code"
      ])
    )
    const claim = (at: Located<{ readonly slug: string }>) => {
      const previous = definedBy.get(at.config.slug)
      if (previous !== undefined) {
        issues.push({
          file: at.file,
          path: `${at.path}.slug`,
          message: `slug "${at.config.slug}" is already defined by ${previous}`
        })
        return false
      }
      definedBy.set(at.config.slug, `${at.file} ${at.path}`)
      return true
    }
    // claimed in the files' order, so a duplicate is reported where it comes second
    const rank = (at: Located<unknown>) => files.indexOf(at.file) * 1_000_000 + at.index
    const claimed = new Set(
      [...all.http, ...all.waterfalls]
        .sort((a, b) => rank(a) - rank(b))
        .filter(claim)
        .map((at) => at.config)
    )
    const http = all.http.filter((h) => claimed.has(h.config))
    const waterfalls = all.waterfalls.filter((w) => claimed.has(w.config))

    // built-in overrides: a built-in, at most once
    const overridden = new Map<string, Located<BuiltinOverrideConfig>>()
    for (const o of all.overrides) {
      if (!builtins.some((e) => e.contract.slug === o.config.slug)) {
        issues.push({ file: o.file, path: `${o.path}.slug`, message: `no built-in enrichment "${o.config.slug}"` })
      } else if (overridden.has(o.config.slug)) {
        const first = overridden.get(o.config.slug)!
        issues.push({
          file: o.file,
          path: `${o.path}.slug`,
          message: `built-in "${o.config.slug}" is already configured by ${first.file} ${first.path}`
        })
      } else overridden.set(o.config.slug, o)
    }
    const base = fixed.map((entry): CatalogEntry => {
      const o = overridden.get(entry.contract.slug)?.config
      if (o === undefined || !builtins.includes(entry)) return entry
      return {
        ...entry,
        contract: {
          ...entry.contract,
          enabled: o.enabled ?? entry.contract.enabled,
          visibility: o.visibility ?? entry.contract.visibility
        }
      }
    })

    // http entries
    const bySlug = new Map(base.map((e) => [e.contract.slug, e]))
    const httpEntries: Array<CatalogEntry> = []
    for (const h of http) {
      const made = yield* Effect.result(makeHttpEntry(h.config))
      if (Result.isFailure(made)) issues.push(...made.failure.issues.map((issue) => httpIssue(h.file, h.path, issue)))
      else {
        httpEntries.push(made.success)
        bySlug.set(h.config.slug, made.success)
      }
    }

    // waterfalls: checked together (cycles), built in dependency order
    const facts = new Map<string, StepFacts>([
      // an http entry that could not be built (its problem is reported) still exists as a step
      ...http.map((h) => [h.config.slug, { subject: h.config.subject, enabled: h.config.enabled ?? true }] as const),
      ...[...bySlug].map(([slug, e]) => [slug, { subject: e.contract.subject, enabled: e.contract.enabled }] as const)
    ])
    const located = new Map(waterfalls.map((w) => [w.config.slug, w]))
    const plan = planWaterfalls(
      waterfalls.map((w) => ({
        slug: w.config.slug,
        subject: w.config.subject,
        steps: stepsOf(w.config).map((s) => s.slug)
      })),
      facts
    )
    for (const p of plan.problems) {
      const at = located.get(p.slug)!
      issues.push({ file: at.file, path: `${at.path}.${p.path}`, message: p.message })
    }
    const built = new Map<string, CatalogEntry>()
    for (const slug of plan.order) {
      const at = located.get(slug)!
      if (stepsOf(at.config).some((step) => !bySlug.has(step.slug))) continue // a step failed to load: reported
      const made = makeWaterfallEntry(at.config, bySlug, options.retry ?? defaultRetryPolicy)
      if (Result.isFailure(made)) {
        for (const p of made.failure) issues.push({ file: at.file, path: `${at.path}.${p.path}`, message: p.message })
      } else {
        built.set(slug, made.success)
        bySlug.set(slug, made.success)
      }
    }
    if (issues.length > 0) return yield* configError(issues)
    // configured entries in the files' order
    const configured = [
      ...http.map((h, i) => ({ rank: rank(h), entry: httpEntries[i]! })),
      ...waterfalls.map((w) => ({ rank: rank(w), entry: built.get(w.config.slug)! }))
    ].sort((a, b) => a.rank - b.rank)
    return [...base, ...configured.map((c) => c.entry)]
  })

/** `ENRICH_CATALOG_FILES` as a list of paths: comma-separated, blanks ignored. */
export const parseCatalogFiles = (value: string): ReadonlyArray<string> =>
  value
    .split(",")
    .map((f) => f.trim())
    .filter((f) => f !== "")

/** The catalog entries of this process's configuration (built-ins asking the DNS of `ENRICH_DNS_SERVERS`). */
export const configuredCatalogEntries = Effect.gen(function* () {
  const files = parseCatalogFiles(yield* Config.String("ENRICH_CATALOG_FILES").pipe(Config.withDefault("")))
  const retry = yield* RetryPolicyConfig
  const builtins = makeBuiltinEntries(yield* MailDomainsFromConfig)
  const entries = yield* loadCatalogEntries(files, { retry, builtins })
  if (files.length > 0) {
    yield* Effect.logInfo("catalog configured").pipe(
      Effect.annotateLogs({ files, enrichments: entries.length - builtins.length })
    )
  }
  return entries
})

/** The `Catalog`: built-ins plus `ENRICH_CATALOG_FILES`. A bad configuration fails the layer (the process stops). */
export const ConfiguredCatalogLive = Layer.effect(Catalog, Effect.map(configuredCatalogEntries, makeCatalog))
