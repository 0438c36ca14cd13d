/**
 * Whether an item is written or skipped, as the contract says: a Lead deleted
 * since dispatch is skipped (`lead_deleted`); under `skip_existing` a target
 * attribute that already holds a non-null value is kept (`attribute_exists`).
 * Checked before the provider is called and again when results are written.
 */
import type { SkippedReason, WritePolicy } from "./RunEvents.ts"

export const skipReason = (item: {
  readonly leadExists: boolean
  readonly writePolicy: WritePolicy
  /** the target attribute's current value (undefined when absent) */
  readonly existing: unknown
}): Extract<SkippedReason, "lead_deleted" | "attribute_exists"> | null => {
  if (!item.leadExists) return "lead_deleted"
  return item.writePolicy === "skip_existing" && item.existing !== undefined && item.existing !== null
    ? "attribute_exists"
    : null
}
