/**
 * The freshness window of a dispatch (`freshness: { maxAgeDays }`): a Lead that already has a fresh result of
 * the same enrichment is not run again and not charged. Its item is created `skipped` with the reason
 * `fresh_result`, at the run's request, and takes one of the run's last ordinals, so the run's request says
 * which items they are by a count alone (`isFreshOrdinal`).
 *
 * A result is fresh when it is a `completed` item of a run of the same enrichment (same slug and version) that
 * wrote to the same place (same output target and attribute key; for `membership_attribute`, the same List),
 * completed at or after `now − maxAgeDays` days. Whether its value was found does not matter: a completed
 * lookup that found nothing is a result too. `maxAgeDays: 0` is no window: everything runs. The scope freeze
 * decides it for every Lead in one set-based statement (adapters/postgres/LeadDirectory.ts).
 */
import { Schema } from "effect"
import type { OutputTarget } from "../catalog/Enrichment.ts"

/** At most ten years. */
export const MAX_AGE_DAYS = 3650

export const Freshness = Schema.Struct({
  maxAgeDays: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThanOrEqualTo(MAX_AGE_DAYS))
})
export type Freshness = typeof Freshness.Type

const DAY_MS = 86_400_000

/** What a Lead's earlier result must match to be fresh for this run. */
export interface FreshResult {
  readonly enrichmentSlug: string
  readonly enrichmentVersion: number
  readonly target: OutputTarget
  readonly attributeKey: string
  /** `membership_attribute`: the List whose membership was written; otherwise null */
  readonly listId: string | null
  /** completed at or after this instant (ISO-8601) */
  readonly completedSince: string
}

/** The match for a run requested `now` with `window`, or undefined when nothing can be fresh (no window, or 0 days). */
export const freshResultOf = (
  window: Freshness | undefined,
  now: string,
  run: {
    readonly enrichmentSlug: string
    readonly enrichmentVersion: number
    readonly target: OutputTarget
    readonly attributeKey: string
    readonly listId: string | undefined
  }
): FreshResult | undefined =>
  window === undefined || window.maxAgeDays === 0
    ? undefined
    : {
        enrichmentSlug: run.enrichmentSlug,
        enrichmentVersion: run.enrichmentVersion,
        target: run.target,
        attributeKey: run.attributeKey,
        listId: run.target === "membership_attribute" ? (run.listId ?? null) : null,
        completedSince: new Date(Date.parse(now) - window.maxAgeDays * DAY_MS).toISOString()
      }

/** Whether the item at `ordinal` of a run of `leadCount` Leads, `fresh` of them fresh, was skipped as fresh. */
export const isFreshOrdinal = (ordinal: number, leadCount: number, fresh: number): boolean =>
  ordinal > leadCount - fresh

/** The reason an item skipped for a fresh result shows. */
export const freshSkippedReason = "fresh_result" as const
