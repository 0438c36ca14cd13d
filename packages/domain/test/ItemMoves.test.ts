/** How a run's events move its items (domain/runs/ItemMoves.ts), event by event. */
import { describe, expect, it } from "vitest"
import { itemMovesOf, itemTransitions } from "../src/runs/ItemMoves.ts"

const at = "2026-03-01T09:00:00.000Z"

describe("Item moves (unit)", () => {
  it("when_a_batch_starts_its_items_are_claimed_from_pending_under_the_batch", () => {
    expect(itemMovesOf({ _tag: "ItemBatchStarted", batch: "r/b-0", ordinals: [1, 2], startedAt: at })).toEqual([
      { _tag: "Claim", ordinals: [1, 2], batch: "r/b-0", at }
    ])
    expect(itemTransitions.claim).toEqual({ from: "pending", to: "running" })
  })

  it("when_a_batch_is_recorded_each_distinct_outcome_finishes_its_running_items_in_one_move", () => {
    const moves = itemMovesOf({
      _tag: "ItemBatchRecorded",
      batch: "r/b-0",
      outcomes: [
        { ordinal: 1, status: "completed", skippedReason: null, found: true },
        { ordinal: 2, status: "skipped", skippedReason: "lead_deleted", found: false },
        { ordinal: 3, status: "completed", skippedReason: null, found: false },
        { ordinal: 4, status: "failed", skippedReason: null, found: false },
        { ordinal: 5, status: "skipped", skippedReason: "lead_deleted", found: false }
      ],
      recordedAt: at
    })
    expect(moves).toEqual([
      { _tag: "Finish", batch: "r/b-0", to: "completed", skippedReason: null, ordinals: [1, 3], at },
      { _tag: "Finish", batch: "r/b-0", to: "skipped", skippedReason: "lead_deleted", ordinals: [2, 5], at },
      { _tag: "Finish", batch: "r/b-0", to: "failed", skippedReason: null, ordinals: [4], at }
    ])
    expect(itemTransitions.finish.from).toBe("running")
  })

  it("when_a_batchs_worker_is_lost_its_running_items_are_requeued", () => {
    expect(itemMovesOf({ _tag: "ItemBatchAbandoned", batch: "r/b-0", ordinals: [7], abandonedAt: at })).toEqual([
      { _tag: "Requeue", batch: "r/b-0", ordinals: [7], at }
    ])
    expect(itemTransitions.requeue).toEqual({ from: "running", to: "pending" })
  })

  it("when_a_run_is_cancelled_or_fails_its_pending_items_are_skipped_for_the_runs_reason", () => {
    expect(itemMovesOf({ _tag: "RunCancelled", cancelledAt: at })).toEqual([
      { _tag: "SkipPending", skippedReason: "run_cancelled", at }
    ])
    expect(itemMovesOf({ _tag: "RunFailed", message: "boom", failedAt: at })).toEqual([
      { _tag: "SkipPending", skippedReason: "run_failed", at }
    ])
    expect(itemTransitions.skipPending).toEqual({ from: "pending", to: "skipped" })
  })

  it("events_of_the_run_alone_move_no_item", () => {
    expect(itemMovesOf({ _tag: "RunStarted", startedAt: at })).toEqual([])
    expect(itemMovesOf({ _tag: "RunCompleted", completedAt: at })).toEqual([])
    expect(itemMovesOf({ _tag: "CreditsSettled", captured: 1, released: 0, settledAt: at })).toEqual([])
    expect(itemMovesOf({ _tag: "RunDispatched", engine: "workflow", triggerRunId: "t", dispatchedAt: at })).toEqual([])
  })
})
