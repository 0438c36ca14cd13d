/**
 * The waterfall kind of configured enrichment: an ordered list of other
 * catalog entries (built-in, http, or waterfalls themselves) that each Lead
 * walks until one finds a result. Its snapshot keeps each step's snapshot
 * under the step's slug (the union of what the steps read); its execute calls
 * the steps in order — each with the executor's bounded retry (Retry.ts) —
 * stops at the first that finds, and answers with that step's result and its
 * slug as `provider`. The rules of the walk (when to stop, how failures
 * combine) are the domain's (`@enrich/domain/catalog/Waterfall`).
 */
import { Effect, Result, Schema } from "effect"
import {
  AttributeKey,
  CostModel,
  type EnrichmentContract,
  OutputTarget,
  Subject
} from "@enrich/domain/catalog/Enrichment"
import {
  combineOutputSchemas,
  conclude,
  nextStep,
  planWaterfalls,
  type StepAttempt,
  type StepFacts,
  unionReads,
  type WaterfallProblem,
  walkRecord
} from "@enrich/domain/catalog/Waterfall"
import {
  type CatalogEntry,
  decodeEntryInput,
  type EnrichmentOutcome,
  type ProviderCall,
  ProviderError
} from "@enrich/domain/ports/Catalog"
import { noInputSchema } from "./Catalog.ts"
import { callWithRetry, defaultRetryPolicy, type RetryPolicy } from "@enrich/domain/catalog/ProviderRetry"

/** A catalog slug: also the default attribute key, so the same pattern. */
export const Slug = AttributeKey

const JsonObject = Schema.Record(Schema.String, Schema.Unknown)

/** A step: a slug, or `{ enrichment, input? }` to give the step a fixed input. */
export const WaterfallStepConfig = Schema.Union([
  Slug,
  Schema.Struct({ enrichment: Slug, input: Schema.optionalKey(JsonObject) })
])
export type WaterfallStepConfig = typeof WaterfallStepConfig.Type

/** A `{"kind": "waterfall", …}` entry of a catalog file. */
export const WaterfallConfig = Schema.Struct({
  kind: Schema.Literal("waterfall"),
  slug: Slug,
  name: Schema.String.check(Schema.isMinLength(1)),
  description: Schema.optionalKey(Schema.String),
  /** default: the first step's subject; every step must have it */
  subject: Schema.optionalKey(Subject),
  version: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  enabled: Schema.optionalKey(Schema.Boolean),
  visibility: Schema.optionalKey(Schema.Literals(["public", "hidden", "internal"])),
  steps: Schema.Array(WaterfallStepConfig).check(Schema.isMinLength(1)),
  costModel: CostModel,
  defaultOutput: Schema.optionalKey(Schema.Struct({ target: OutputTarget, attributeKey: AttributeKey })),
  outputOverridePolicy: Schema.optionalKey(
    Schema.Struct({ targets: Schema.Array(OutputTarget).check(Schema.isMinLength(1)), attributeKey: Schema.Boolean })
  ),
  /** default: the steps' output schemas (one, or `anyOf`) */
  outputSchema: Schema.optionalKey(JsonObject)
})
export type WaterfallConfig = typeof WaterfallConfig.Type

/** A step's slug and the fixed input it is called with (`{}` unless configured). */
export const stepsOf = (config: WaterfallConfig): ReadonlyArray<{ readonly slug: string; readonly input: unknown }> =>
  config.steps.map((s) =>
    typeof s === "string" ? { slug: s, input: {} } : { slug: s.enrichment, input: s.input ?? {} }
  )

/** A waterfall takes no input of its own (a step's fixed input is configured on the step). */

/** A step's fixed input, decoded as a dispatch decodes a run's input (the step's own decoder, defaults applied). */
const decodeStepInput = (
  entry: CatalogEntry,
  input: unknown,
  path: string,
  slug: string
): Result.Result<unknown, ReadonlyArray<WaterfallProblem>> =>
  Result.mapError(decodeEntryInput(entry, input, path), (refusal) =>
    refusal._tag === "NoInputTaken"
      ? [
          {
            slug,
            path,
            message: `enrichment "${entry.contract.slug}" takes no input; unexpected: ${refusal.keys.join(", ")}`
          }
        ]
      : refusal.issues.map((issue) => ({ slug, ...issue }))
  )

const factsOf = (entries: ReadonlyMap<string, CatalogEntry>): ReadonlyMap<string, StepFacts> =>
  new Map([...entries].map(([slug, e]) => [slug, { subject: e.contract.subject, enabled: e.contract.enabled }]))

/**
 * A waterfall's catalog entry over `entriesBySlug` (which must hold every step,
 * hidden and internal ones included). Refused, with the problems, when a step
 * is unknown, disabled, repeated, of another subject or the waterfall itself,
 * or when the steps' output schemas cannot be combined and none is declared.
 */
export const makeWaterfallEntry = (
  config: WaterfallConfig,
  entriesBySlug: ReadonlyMap<string, CatalogEntry>,
  policy: RetryPolicy = defaultRetryPolicy
): Result.Result<CatalogEntry, ReadonlyArray<WaterfallProblem>> => {
  const steps = stepsOf(config)
  const others = new Map(factsOf(entriesBySlug))
  others.delete(config.slug)
  const plan = planWaterfalls([{ slug: config.slug, subject: config.subject, steps: steps.map((s) => s.slug) }], others)
  const subject = plan.subjects.get(config.slug)
  if (plan.problems.length > 0 || subject === undefined) return Result.fail(plan.problems)
  const inputProblems: Array<WaterfallProblem> = []
  const stepEntries = steps.map((s, i) => {
    const entry = entriesBySlug.get(s.slug)!
    const path = typeof config.steps[i] === "string" ? `steps[${i}]` : `steps[${i}].input`
    const input = decodeStepInput(entry, s.input, path, config.slug)
    if (Result.isFailure(input)) inputProblems.push(...input.failure)
    // a step's own retry policy (an http provider's) wins over the executor's
    return { ...s, entry, input: Result.getOrUndefined(input), retry: entry.retry ?? policy }
  })
  if (inputProblems.length > 0) return Result.fail(inputProblems)
  const outputSchema =
    config.outputSchema ?? combineOutputSchemas(stepEntries.map((s) => s.entry.contract.outputSchema))
  if (outputSchema === undefined) {
    return Result.fail([
      {
        slug: config.slug,
        path: "outputSchema",
        message: "the steps' output schemas define one $defs name differently: declare the waterfall's outputSchema"
      }
    ])
  }
  const defaultOutput = config.defaultOutput ?? { target: "lead_attribute" as const, attributeKey: config.slug }
  const contract: EnrichmentContract = {
    id: config.slug,
    slug: config.slug,
    name: config.name,
    description:
      config.description ??
      `Tries ${steps.map((s) => s.slug).join(", then ")}, and stops at the first that finds a result.`,
    subject,
    version: config.version ?? 1,
    enabled: config.enabled ?? true,
    visibility: config.visibility ?? "public",
    reads: unionReads(stepEntries.map((s) => s.entry.contract.reads)),
    inputSchema: noInputSchema,
    outputSchema,
    defaultOutput,
    defaultOutputAttributeKey: defaultOutput.attributeKey,
    outputOverridePolicy: config.outputOverridePolicy ?? {
      targets: ["lead_attribute", "membership_attribute"],
      attributeKey: true
    },
    costModel: config.costModel,
    toolBinding: { type: "waterfall", taskId: `waterfall.${config.slug}` }
  }
  const stepNames = steps.map((s) => s.slug)
  const byStep = new Map(stepEntries.map((s) => [s.slug, s]))

  const execute = (
    snapshot: Record<string, unknown>,
    _input: unknown,
    call?: ProviderCall
  ): Effect.Effect<EnrichmentOutcome, ProviderError> =>
    Effect.gen(function* () {
      const attempts: Array<StepAttempt> = []
      let answer: EnrichmentOutcome | undefined
      let lastMiss: EnrichmentOutcome | undefined
      for (let slug = nextStep(stepNames, attempts); slug !== undefined; slug = nextStep(stepNames, attempts)) {
        const step = byStep.get(slug)!
        const stepSnapshot = (snapshot[slug] ?? {}) as Record<string, unknown>
        const { attempts: n, result } = yield* callWithRetry(
          () => step.entry.execute(stepSnapshot, step.input, call),
          step.retry
        )
        if (Result.isFailure(result)) {
          const { details, message, retryable } = result.failure
          attempts.push({
            step: slug,
            status: "failed",
            attempts: n,
            error: { message, retryable, ...(details === undefined ? {} : { details }) }
          })
          continue
        }
        const outcome = result.success
        attempts.push({
          step: slug,
          status: outcome.found ? "found" : "not_found",
          attempts: n,
          provider: outcome.provider,
          providerSubmissionId: outcome.providerSubmissionId
        })
        if (outcome.found) answer = outcome
        else lastMiss = outcome
      }
      const conclusion = conclude(config.slug, attempts)
      switch (conclusion._tag) {
        case "Found": {
          const step = byStep.get(conclusion.step)!
          return {
            result: answer!.result,
            raw: walkRecord(config.slug, attempts, answer!.raw),
            found: true,
            // a nested waterfall says which of its own steps answered
            provider:
              step.entry.contract.toolBinding.type === "waterfall"
                ? `${conclusion.step}/${answer!.provider}`
                : conclusion.step,
            providerSubmissionId: answer!.providerSubmissionId
          }
        }
        case "NotFound":
          return {
            result: lastMiss?.result ?? null,
            raw: walkRecord(config.slug, attempts, lastMiss?.raw ?? null),
            found: false,
            provider: config.slug,
            providerSubmissionId: null
          }
        case "Failed":
          // each step had its own retries: the executor must not walk the whole waterfall again
          return yield* new ProviderError({
            message: conclusion.message,
            retryable: false,
            details: {
              waterfall: config.slug,
              steps: attempts.map((a) => ({
                step: a.step,
                status: a.status,
                attempts: a.attempts,
                ...(a.error === undefined
                  ? {}
                  : {
                      error: a.error.message,
                      retryable: a.error.retryable,
                      ...(a.error.details === undefined ? {} : { details: a.error.details })
                    })
              }))
            }
          })
      }
    })

  // every Lead asks the first step: run as many at once as the hungriest step wants (its bulk request)
  const hints = stepEntries.flatMap((s) => (s.entry.concurrency === undefined ? [] : [s.entry.concurrency]))
  return Result.succeed({
    contract,
    snapshot: (lead) => Object.fromEntries(stepEntries.map((s) => [s.slug, s.entry.snapshot(lead)])),
    execute,
    ...(hints.length === 0 ? {} : { concurrency: Math.max(...hints) })
  })
}
