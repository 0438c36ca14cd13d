/**
 * The events of an enrichment run. Each has a type name (its `_tag`) and a
 * schema version; `decodeRunEvent` reads any stored version (upcasting older
 * ones) so history stays readable as events evolve. Events carry ids, counts
 * and amounts — never Lead fields or result payloads (those are personal data
 * and live in tables that can be erased).
 */
import { Schema } from "effect"
import { ChargeOn, OutputTarget } from "../catalog/Enrichment.ts"
import { UnknownEventVersion, versionedEvents } from "../events/VersionedEvents.ts"
import { RequestedScope } from "./Scope.ts"

export const RunMode = Schema.Literals(["persisted", "preview"])
export const WritePolicy = Schema.Literals(["overwrite", "skip_existing"])
export type WritePolicy = typeof WritePolicy.Type

export const RunRequested = Schema.TaggedStruct("RunRequested", {
  runId: Schema.String,
  workspaceId: Schema.String,
  enrichment: Schema.Struct({ id: Schema.String, slug: Schema.String, version: Schema.Int, snapshot: Schema.Unknown }),
  mode: RunMode,
  scope: RequestedScope,
  leadCount: Schema.Int,
  output: Schema.Struct({ target: OutputTarget, attributeKey: Schema.String, writePolicy: WritePolicy }),
  cost: Schema.Struct({
    creditAction: Schema.String,
    unitCost: Schema.Int,
    chargeOn: ChargeOn,
    required: Schema.Int
  }),
  displayRequest: Schema.NullOr(Schema.Struct({ fieldId: Schema.String })),
  /** the dispatch's idempotency key and request fingerprint (a hash), when one was given */
  idempotency: Schema.NullOr(Schema.Struct({ key: Schema.String, fingerprint: Schema.String })),
  /**
   * the run input as the enrichment decoded it (defaults applied), when it has any:
   * run configuration, never Lead data. Absent on runs without input (and on events
   * written before it existed), so version 1 still reads them.
   */
  input: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
  /**
   * the dispatch's freshness window and how many Leads it skipped (`fresh_result`, the run's last `skipped`
   * ordinals: runs/Freshness.ts); absent without a window (and on events written before it existed)
   */
  freshness: Schema.optionalKey(Schema.Struct({ maxAgeDays: Schema.Int, skipped: Schema.Int })),
  /** a retry (runs/Retry.ts): the run whose failed items this run runs again */
  retryOf: Schema.optionalKey(Schema.String),
  requestedAt: Schema.String
})

export const RunDispatched = Schema.TaggedStruct("RunDispatched", {
  engine: Schema.String,
  triggerRunId: Schema.String,
  dispatchedAt: Schema.String
})

export const RunStarted = Schema.TaggedStruct("RunStarted", { startedAt: Schema.String })

/**
 * A batch of items was claimed by a worker and is executing. Items are named
 * by their ordinal in the run's frozen scope (item id = `<runId>.<ordinal>`).
 */
export const ItemBatchStarted = Schema.TaggedStruct("ItemBatchStarted", {
  batch: Schema.String,
  ordinals: Schema.Array(Schema.Int),
  startedAt: Schema.String
})

export const SkippedReason = Schema.Literals([
  "run_cancelled",
  "run_failed",
  "attribute_exists",
  "lead_deleted",
  "fresh_result"
])
export type SkippedReason = typeof SkippedReason.Type

export const ItemOutcome = Schema.Struct({
  ordinal: Schema.Int,
  status: Schema.Literals(["completed", "failed", "skipped"]),
  skippedReason: Schema.NullOr(SkippedReason),
  /** the result says found (what `chargeOn: "found"` charges) */
  found: Schema.Boolean
})
export type ItemOutcome = typeof ItemOutcome.Type

/**
 * A batch of items reached a terminal state: ids and outcomes only. Result
 * payloads and error texts are personal data and live in the items' rows (`run_items`).
 */
export const ItemBatchRecorded = Schema.TaggedStruct("ItemBatchRecorded", {
  batch: Schema.String,
  outcomes: Schema.Array(ItemOutcome),
  recordedAt: Schema.String
})

/**
 * The worker executing a batch was lost (its lease expired, nothing recorded the batch): these of its
 * running items go back to pending, to be claimed again. They keep their claim token (the lost batch,
 * if it ever comes back, finds them no longer running and records nothing of them) and their attempts.
 */
export const ItemBatchAbandoned = Schema.TaggedStruct("ItemBatchAbandoned", {
  batch: Schema.String,
  ordinals: Schema.Array(Schema.Int),
  abandonedAt: Schema.String
})

/** The run was cancelled: its pending items are skipped (`run_cancelled`); running ones finish. */
export const RunCancelled = Schema.TaggedStruct("RunCancelled", {
  cancelledAt: Schema.String
})

export const RunCompleted = Schema.TaggedStruct("RunCompleted", { completedAt: Schema.String })

/**
 * A run-level failure (the engine refused the hand-over, the enrichment is
 * misconfigured, the provider is unusable): pending items are skipped (`run_failed`).
 */
export const RunFailed = Schema.TaggedStruct("RunFailed", {
  message: Schema.String,
  failedAt: Schema.String
})

/** The run's reservation was split into what is charged and what goes back, once. */
export const CreditsSettled = Schema.TaggedStruct("CreditsSettled", {
  captured: Schema.Int,
  released: Schema.Int,
  settledAt: Schema.String
})

export const RunEvent = Schema.Union([
  RunRequested,
  RunDispatched,
  RunStarted,
  ItemBatchStarted,
  ItemBatchRecorded,
  ItemBatchAbandoned,
  RunCompleted,
  RunCancelled,
  RunFailed,
  CreditsSettled
])
export type RunEvent = typeof RunEvent.Type
export type RunEventType = RunEvent["_tag"]

/** The current schema version of each event type. */
export const runEventVersion: { readonly [K in RunEventType]: number } = {
  RunRequested: 1,
  RunDispatched: 1,
  RunStarted: 1,
  ItemBatchStarted: 1,
  ItemBatchRecorded: 1,
  ItemBatchAbandoned: 1,
  RunCompleted: 1,
  RunCancelled: 1,
  RunFailed: 1,
  CreditsSettled: 1
}

/**
 * Upcasters from an older stored version to the next one, keyed `Type@version`.
 * None exist yet: version 1 is the first of every event. Add one here when an
 * event's schema changes, and bump `runEventVersion`.
 */
const runEvents = versionedEvents({ schema: RunEvent, versions: runEventVersion, upcasters: {} })

/** Reads a stored run event of any known version as the current RunEvent. */
export const decodeRunEvent = runEvents.decode

/** The stored form of a run event: type, version and JSON data without the tag. */
export const encodeRunEvent = runEvents.encode

export { UnknownEventVersion }
