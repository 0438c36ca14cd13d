/**
 * The ItemBatches port: a run's items as the batch executor (runs/ExecuteBatch.ts) claims, reads and records
 * them. The moves of items are the run's events (`StartBatch`, `RecordBatch` through the RunStore); this port
 * finds which items a batch may claim, reads a claimed batch's items with their Leads, and writes what no event
 * carries — each item's result, in its row with its outcome, and the completed values on the target attribute. Every method runs in
 * the caller's transaction when there is one.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { LeadFields } from "@enrich/domain/leads/Lead"
import type { StoreFailure } from "@enrich/domain/ports/StoreFailure"
import type { ItemOutcome, WritePolicy } from "@enrich/domain/runs/RunEvents"

/** An item's keys: what writing its outcome needs of it. */
export interface ItemKeys {
  readonly id: string
  readonly ordinal: number
  readonly leadId: string
  readonly membershipId: string | null
}

/** A claimed item as the provider call reads it: its Lead (null: erased meanwhile) and its membership's attributes. */
export interface ClaimedItem extends ItemKeys {
  readonly lead: LeadFields | null
  readonly membershipAttributes: Record<string, unknown> | null
}

/** A claimed item as the record re-checks it: whether its Lead is still there, and its target attribute now. */
export interface LockedItem extends ItemKeys {
  readonly leadExists: boolean
  readonly onLead: unknown
  readonly onMembership: unknown
}

/** What the run asked for, as its batches read it. */
export interface RunTarget {
  readonly slug: string
  readonly input: Record<string, unknown>
  readonly output: {
    readonly target: "lead_attribute" | "membership_attribute"
    readonly attributeKey: string
    readonly writePolicy: WritePolicy
  }
}

/** What a batch that claimed before finds of its items: how many it claimed, and the status of each still its own. */
export interface PreviousClaim {
  readonly size: number
  readonly statuses: ReadonlyArray<string>
}

/** One item's result as it is stored: its outcome (for the event and its row), its payload (for its row). */
export interface ItemResult {
  readonly item: ItemKeys
  readonly outcome: ItemOutcome
  readonly result: unknown
  readonly error: { readonly message: string; readonly details: unknown } | null
  readonly leadSnapshot: unknown
  readonly providerResult: unknown
  readonly provider: string | null
  readonly providerSubmissionId: string | null
}

/** What writing a batch's results needs besides the items. */
export interface ResultContext {
  readonly runId: string
  /** the batch that claimed the items */
  readonly batch: string
  readonly workspaceId: string
  /** where completed values go; a target of "none" records the items only */
  readonly output: { readonly target: string; readonly attributeKey: string }
  readonly recordedAt: string
}

export class ItemBatches extends Context.Service<
  ItemBatches,
  {
    /** What became of the items `batch` claimed before, or undefined when it never claimed. */
    readonly previousClaim: (batch: string) => Effect.Effect<PreviousClaim | undefined, StoreFailure>
    /**
     * The run's next pending ordinals to claim, lowest first, at most `limit`. The caller's transaction holds the
     * run's stream row (RunStore `lock`), which every claim and every command moving pending items takes first:
     * claims take items in order. `pendingCounted`: how many pending items the run counts.
     */
    readonly nextPending: (
      runId: string,
      limit: number,
      pendingCounted: number
    ) => Effect.Effect<ReadonlyArray<number>, StoreFailure>
    /** The run's enrichment, input and output, or undefined for a run not found. */
    readonly target: (runId: string) => Effect.Effect<RunTarget | undefined, StoreFailure>
    /** The items `batch` claimed that are still running under it, with their Leads, in ordinal order. */
    readonly claimedItems: (batch: string) => Effect.Effect<ReadonlyArray<ClaimedItem>, StoreFailure>
    /**
     * Takes `batch`'s row for the rest of the caller's transaction, if the batch is still open: true, and nothing
     * else moves its items until the transaction ends (the watchdog and a Lead's erasure take the row first too);
     * false when it ended (recorded, or abandoned by the watchdog) or never claimed. One lock for the batch, not
     * one per item (a WAL record each: issue 24), and not the run's stream row, so a run's batches record at once.
     */
    readonly lockBatch: (batch: string) => Effect.Effect<boolean, StoreFailure>
    /**
     * The same items with what the write-policy re-check needs, read in the caller's transaction, which holds
     * the batch's row (`lockBatch`) so that nothing moves them before its record.
     */
    readonly recheckClaimed: (
      batch: string,
      attributeKey: string
    ) => Effect.Effect<ReadonlyArray<LockedItem>, StoreFailure>
    /**
     * The items still running under `batch`: the ones a batch that failed for good fails (read under the batch's
     * row, like `recheckClaimed`).
     */
    readonly runningUnder: (batch: string) => Effect.Effect<ReadonlyArray<ItemKeys>, StoreFailure>
    /** Whether `batch` ever claimed. */
    readonly wasClaimed: (batch: string) => Effect.Effect<boolean, StoreFailure>
    /**
     * Records the items — each running item takes its outcome and its result, in one write of its row (the
     * `ItemBatchRecorded` appended next then finds them recorded) — and writes the completed values to the
     * target attribute, in one statement of the caller's transaction. A write the store refuses for good fails
     * with a StoreFailure that is not retryable, and leaves the caller's transaction to roll back.
     */
    readonly writeResults: (
      context: ResultContext,
      results: ReadonlyArray<ItemResult>
    ) => Effect.Effect<void, StoreFailure>
    /** `writeResults` in a savepoint: refused, it leaves the caller's transaction as it was, still usable. */
    readonly tryWriteResults: (
      context: ResultContext,
      results: ReadonlyArray<ItemResult>
    ) => Effect.Effect<void, StoreFailure>
    /** How many items the run has, once the store is ready for its batches (a large run's items just loaded). */
    readonly itemCount: (runId: string) => Effect.Effect<number, StoreFailure>
  }
>()("@enrich/application/ports/ItemBatches") {}
