/**
 * Waterfall enrichments: an ordered list of steps — other catalog entries,
 * named by slug — that each Lead walks until one finds a result. The pure
 * rules live here: which definitions are valid against a catalog (steps
 * exist and are enabled, one subject, no repeats, no cycles) and in which
 * order they can be built; when a Lead's walk stops; what its attempts
 * conclude (found by a step, found by none, or failed — and how step failures
 * combine into one error); the compact record of the walk kept as the item's
 * raw answer; and the output schema a waterfall inherits from its steps.
 */
import type { Subject } from "./Enrichment.ts"

/** What one step did for one Lead, after its own retries. */
export interface StepAttempt {
  /** the step's catalog slug */
  readonly step: string
  readonly status: "found" | "not_found" | "failed"
  /** provider calls made for this step (1 unless a retryable failure was tried again) */
  readonly attempts: number
  /** the step's final error, when it failed */
  readonly error?: { readonly message: string; readonly retryable: boolean; readonly details?: unknown }
  /** the step's provider label and submission id, when it answered */
  readonly provider?: string
  readonly providerSubmissionId?: string | null
}

/** A Lead's walk stops at the first step that found a result; failures and misses move on. */
export const isFinished = (attempts: ReadonlyArray<StepAttempt>): boolean => attempts.some((a) => a.status === "found")

/** The first step not yet tried, unless the walk is finished. */
export const nextStep = (steps: ReadonlyArray<string>, attempts: ReadonlyArray<StepAttempt>): string | undefined =>
  isFinished(attempts) ? undefined : steps[attempts.length]

export type WaterfallConclusion =
  /** a step found a result: it answered, the item completes with found = true */
  | { readonly _tag: "Found"; readonly step: string; readonly index: number }
  /** every step answered and none found: the item completes with found = false */
  | { readonly _tag: "NotFound" }
  /** no step found and at least one failed: the item fails with every step's failure */
  | { readonly _tag: "Failed"; readonly message: string; readonly failures: ReadonlyArray<StepAttempt> }

/**
 * What a Lead's walk concludes. A hit wins over earlier failures (they are kept
 * in the raw record); without a hit, one failed step fails the item — a miss
 * by the steps that answered cannot stand for the step that could not — with
 * a message naming each failed step, its attempts and its error.
 */
export const conclude = (waterfall: string, attempts: ReadonlyArray<StepAttempt>): WaterfallConclusion => {
  const index = attempts.findIndex((a) => a.status === "found")
  if (index >= 0) return { _tag: "Found", step: attempts[index]!.step, index }
  const failures = attempts.filter((a) => a.status === "failed")
  if (failures.length === 0) return { _tag: "NotFound" }
  // a provider's message may already start with its slug: it is not repeated
  const text = (f: StepAttempt) => (f.error?.message ?? "failed").replace(new RegExp(`^${f.step}: `), "")
  const each = failures
    .map((f) => `${f.step}: ${text(f)} (${f.attempts} attempt${f.attempts === 1 ? "" : "s"})`)
    .join("; ")
  return {
    _tag: "Failed",
    message: `Waterfall ${waterfall}: no step found a result and ${failures.length} of ${attempts.length} failed — ${each}`,
    failures
  }
}

/** The compact record of a walk kept as the item's raw answer (`metadata.result`). */
export const walkRecord = (waterfall: string, attempts: ReadonlyArray<StepAttempt>, raw: unknown) => {
  const found = attempts.find((a) => a.status === "found")
  return {
    waterfall,
    answeredBy: found?.step ?? null,
    steps: attempts.map((a) => ({
      step: a.step,
      status: a.status,
      attempts: a.attempts,
      ...(a.error === undefined ? {} : { error: a.error.message }),
      ...(a.providerSubmissionId === undefined || a.providerSubmissionId === null
        ? {}
        : { providerSubmissionId: a.providerSubmissionId })
    })),
    raw
  }
}

// ---------------------------------------------------------------------------------------------
// Definitions against a catalog

/** A waterfall as configured: its slug, its declared subject (if any) and its steps' slugs. */
export interface WaterfallDefinition {
  readonly slug: string
  readonly subject: Subject | undefined
  readonly steps: ReadonlyArray<string>
}

/** What the catalog knows of an entry that is not a waterfall of this set. */
export interface StepFacts {
  readonly subject: Subject
  readonly enabled: boolean
}

/** A problem of one definition; `path` is relative to the definition (`steps[1]`, `subject`). */
export interface WaterfallProblem {
  readonly slug: string
  readonly path: string
  readonly message: string
}

export interface WaterfallPlan {
  /** the valid definitions, each after the waterfalls it uses (build them in this order) */
  readonly order: ReadonlyArray<string>
  /** each valid waterfall's subject (declared, or its first step's) */
  readonly subjects: ReadonlyMap<string, Subject>
  readonly problems: ReadonlyArray<WaterfallProblem>
}

/**
 * Checks a set of waterfall definitions against the other entries of the
 * catalog: every step names a known entry (another entry or a waterfall of the
 * set), is enabled, appears once, and has the waterfall's subject; no waterfall
 * reaches itself through its steps (each cycle is reported once, on the
 * waterfall where it was found). A waterfall that uses an invalid one is
 * invalid too. Returns the valid ones in build order.
 */
export const planWaterfalls = (
  definitions: ReadonlyArray<WaterfallDefinition>,
  others: ReadonlyMap<string, StepFacts>
): WaterfallPlan => {
  const bySlug = new Map(definitions.map((d) => [d.slug, d]))
  const problems: Array<WaterfallProblem> = []
  const invalid = new Set<string>()
  const fail = (slug: string, path: string, message: string) => {
    problems.push({ slug, path, message })
    invalid.add(slug)
  }

  // each definition on its own: known, distinct steps
  for (const d of definitions) {
    if (d.steps.length === 0) fail(d.slug, "steps", "a waterfall needs at least one step")
    const seen = new Set<string>()
    d.steps.forEach((step, i) => {
      if (seen.has(step)) fail(d.slug, `steps[${i}]`, `step "${step}" appears more than once`)
      seen.add(step)
      if (step === d.slug) return // reported as a cycle below
      if (!bySlug.has(step) && !others.has(step)) fail(d.slug, `steps[${i}]`, `unknown enrichment "${step}"`)
      else if (others.get(step)?.enabled === false) fail(d.slug, `steps[${i}]`, `enrichment "${step}" is disabled`)
    })
  }

  // cycles, by depth-first search over waterfall → waterfall steps
  const state = new Map<string, "visiting" | "done">()
  const order: Array<string> = []
  const visit = (slug: string, path: ReadonlyArray<string>): void => {
    const mark = state.get(slug)
    if (mark === "done") return
    if (mark === "visiting") {
      const cycle = [...path.slice(path.indexOf(slug)), slug]
      const at = path[path.length - 1]!
      const index = bySlug.get(at)!.steps.indexOf(slug)
      fail(at, `steps[${index}]`, `cycle: ${cycle.join(" → ")}`)
      for (const member of cycle) invalid.add(member)
      return
    }
    state.set(slug, "visiting")
    for (const step of bySlug.get(slug)!.steps) if (bySlug.has(step)) visit(step, [...path, slug])
    state.set(slug, "done")
    order.push(slug)
  }
  for (const d of definitions) visit(d.slug, [])

  // subjects, in build order (a waterfall step's subject is known by then); invalidity spreads to users
  const subjects = new Map<string, Subject>()
  const valid: Array<string> = []
  for (const slug of order) {
    const d = bySlug.get(slug)!
    if (d.steps.some((step) => invalid.has(step) && bySlug.has(step))) {
      if (!invalid.has(slug)) {
        const bad = d.steps.findIndex((step) => invalid.has(step) && bySlug.has(step))
        fail(slug, `steps[${bad}]`, `waterfall "${d.steps[bad]}" is itself invalid`)
      }
      continue
    }
    if (invalid.has(slug)) continue
    const subjectOf = (step: string) => others.get(step)?.subject ?? subjects.get(step)
    const subject = d.subject ?? subjectOf(d.steps[0]!)
    let ok = subject !== undefined
    d.steps.forEach((step, i) => {
      const s = subjectOf(step)
      if (s !== undefined && s !== subject) {
        fail(slug, `steps[${i}]`, `step "${step}" enriches ${s} Leads, the waterfall ${subject} Leads`)
        ok = false
      }
    })
    if (ok && subject !== undefined) {
      subjects.set(slug, subject)
      valid.push(slug)
    }
  }
  return { order: valid, subjects, problems }
}

/** The Lead fields a waterfall reads: every step's, each once, in step order. */
export const unionReads = (reads: ReadonlyArray<ReadonlyArray<string>>): ReadonlyArray<string> => [
  ...new Set(reads.flat())
]

type JsonSchema = Record<string, unknown>

/**
 * The output schema a waterfall inherits: its steps' output schemas, one of
 * which its result matches (the answering step's, or the last step's miss).
 * Identical schemas collapse to one; otherwise `anyOf`, with the steps'
 * `$defs` moved to the top (where their `#/$defs/…` references point). Two
 * steps defining one `$defs` name differently cannot be combined: `undefined`
 * (the operator then declares the waterfall's `outputSchema`).
 */
export const combineOutputSchemas = (schemas: ReadonlyArray<unknown>): unknown => {
  const distinct: Array<unknown> = []
  for (const s of schemas) if (!distinct.some((d) => JSON.stringify(d) === JSON.stringify(s))) distinct.push(s)
  if (distinct.length === 1) return distinct[0]
  const defs: Record<string, unknown> = {}
  const members: Array<unknown> = []
  for (const s of distinct) {
    if (typeof s !== "object" || s === null || Array.isArray(s)) {
      members.push(s)
      continue
    }
    const { $defs, ...rest } = s as JsonSchema
    for (const [name, def] of Object.entries(($defs ?? {}) as JsonSchema)) {
      if (name in defs && JSON.stringify(defs[name]) !== JSON.stringify(def)) return undefined
      defs[name] = def
    }
    members.push(rest)
  }
  return Object.keys(defs).length === 0 ? { anyOf: members } : { anyOf: members, $defs: defs }
}
