/**
 * The planner: from a scope, an enrichment contract and the facts the database
 * resolved about that scope (counts and the first offenders, never every Lead),
 * decide whether a run may be planned and how big it is.
 */
import { Schema } from "effect"
import type { EnrichmentContract, OutputTarget } from "../catalog/Enrichment.ts"
import { requiredCredits } from "../credits/CreditPolicy.ts"
import { type PlannedScope, scopeListId } from "./Scope.ts"

export const PlanRejectionCode = Schema.Literals([
  "EMPTY_LEAD_SCOPE",
  "SUBJECT_MISMATCH",
  "OUTPUT_TARGET_UNSUPPORTED",
  "LEADS_NOT_FOUND",
  "LIST_NOT_FOUND",
  "INPUT_INVALID",
  "FILTER_INVALID"
])
export type PlanRejectionCode = typeof PlanRejectionCode.Type

export class PlanRejected extends Schema.TaggedError<PlanRejected>()("PlanRejected", {
  code: PlanRejectionCode,
  message: Schema.String,
  details: Schema.optionalKey(Schema.Unknown)
}) {}

/** Facts about a scope, resolved by set-based SQL behind the RunScope port. */
export interface ScopeFacts {
  /** false when the scope names a list that does not exist in the workspace */
  readonly listFound: boolean
  /** explicit scopes: requested ids that are not Leads of the workspace (first 100) */
  readonly missingLeadIds: ReadonlyArray<string>
  readonly missingLeadCount: number
  /** Leads in scope whose type is the enrichment's subject */
  readonly matchingCount: number
  /** Leads in scope of another type (first 100) and their total */
  readonly mismatchedLeadIds: ReadonlyArray<string>
  readonly mismatchedCount: number
  /** explicit scopes with a `listId`: requested Leads that are not members of that List */
  readonly nonMemberCount: number
  /**
   * Leads of the subject in scope with a fresh result (runs/Freshness.ts), when the dispatch asked for a
   * freshness window: they are skipped (`fresh_result`) and not charged. 0 without a window.
   */
  readonly freshCount: number
}

export interface OutputRequest {
  readonly target?: OutputTarget | undefined
  readonly attributeKey?: string | undefined
}

export interface Plan {
  /** every Lead of the run (its items), those skipped as fresh included */
  readonly leadCount: number
  /** Leads skipped at once for a fresh result (the last `fresh` ordinals); not charged */
  readonly fresh: number
  readonly output: { readonly target: OutputTarget; readonly attributeKey: string }
  readonly cost: { readonly creditAction: string; readonly unitCost: number; readonly required: number }
}

const details = (ids: ReadonlyArray<string>, total: number) => ({ leadIds: ids.slice(0, 100), total })

/** Output target and key: defaults from the contract, overrides only where its policy allows. */
export const resolveOutput = (
  contract: EnrichmentContract,
  scope: PlannedScope,
  requested: OutputRequest | undefined
): Plan["output"] | PlanRejected => {
  const target = requested?.target ?? contract.defaultOutput.target
  const attributeKey = requested?.attributeKey ?? contract.defaultOutput.attributeKey
  if (!contract.outputOverridePolicy.targets.includes(target)) {
    return new PlanRejected({
      code: "OUTPUT_TARGET_UNSUPPORTED",
      message: `Enrichment ${contract.slug} cannot write to ${target}`
    })
  }
  if (attributeKey !== contract.defaultOutput.attributeKey && !contract.outputOverridePolicy.attributeKey) {
    return new PlanRejected({
      code: "OUTPUT_TARGET_UNSUPPORTED",
      message: `Enrichment ${contract.slug} does not allow another attributeKey`
    })
  }
  if (target === "membership_attribute") {
    const listId = scopeListId(scope)
    if (listId === undefined || listId === "all") {
      return new PlanRejected({
        code: "OUTPUT_TARGET_UNSUPPORTED",
        message: "membership_attribute output needs a concrete List (not `all`)"
      })
    }
  }
  return { target, attributeKey }
}

/** The planner's decision, in the contract's error order. */
export const plan = (
  contract: EnrichmentContract,
  scope: PlannedScope,
  output: OutputRequest | undefined,
  facts: ScopeFacts
): Plan | PlanRejected => {
  if (!facts.listFound) {
    return new PlanRejected({ code: "LIST_NOT_FOUND", message: "The scope's List does not exist" })
  }
  if (facts.missingLeadCount > 0) {
    return new PlanRejected({
      code: "LEADS_NOT_FOUND",
      message: `${facts.missingLeadCount} of the requested Leads do not exist`,
      details: details(facts.missingLeadIds, facts.missingLeadCount)
    })
  }
  const resolvedOutput = resolveOutput(contract, scope, output)
  if (resolvedOutput instanceof PlanRejected) return resolvedOutput
  if (resolvedOutput.target === "membership_attribute" && facts.nonMemberCount > 0) {
    return new PlanRejected({
      code: "OUTPUT_TARGET_UNSUPPORTED",
      message: `membership_attribute output needs every Lead to be a member of the List; ${facts.nonMemberCount} are not`
    })
  }
  if ((scope.type === "explicit_leads" || scope.type === "retry") && facts.mismatchedCount > 0) {
    return new PlanRejected({
      code: "SUBJECT_MISMATCH",
      message: `Enrichment ${contract.slug} takes ${contract.subject} Leads; ${facts.mismatchedCount} are not`,
      details: details(facts.mismatchedLeadIds, facts.mismatchedCount)
    })
  }
  if (facts.matchingCount === 0) {
    return facts.mismatchedCount > 0
      ? new PlanRejected({
          code: "SUBJECT_MISMATCH",
          message: `The List has no ${contract.subject} Leads for enrichment ${contract.slug}`,
          details: details(facts.mismatchedLeadIds, facts.mismatchedCount)
        })
      : new PlanRejected({ code: "EMPTY_LEAD_SCOPE", message: "The scope has no Leads" })
  }
  return {
    leadCount: facts.matchingCount,
    fresh: facts.freshCount,
    output: resolvedOutput,
    cost: {
      creditAction: contract.costModel.creditAction,
      unitCost: contract.costModel.unitCost,
      // a Lead skipped for a fresh result is not charged
      required: requiredCredits(facts.matchingCount - facts.freshCount, contract.costModel.unitCost)
    }
  }
}
