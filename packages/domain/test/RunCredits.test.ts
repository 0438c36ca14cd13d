import { describe, expect, it } from "vitest"
import { creditCommandOf } from "../src/credits/RunCredits.ts"
import {
  decide,
  evolve,
  fold,
  initialState,
  type RunCommand,
  RunCommandRejected,
  type RunState
} from "../src/runs/Run.ts"
import type { RunEvent } from "../src/runs/RunEvents.ts"

const now = "2026-12-05T10:00:00.000Z"

const requestRun = (required: number): RunCommand => ({
  _tag: "RequestRun",
  runId: "run-1",
  workspaceId: "ws-1",
  enrichment: { id: "email_validation", slug: "email_validation", version: 1, snapshot: {} },
  chargeOn: "completed",
  scope: { type: "list", listId: "list-1", leadIdCount: null },
  plan: {
    leadCount: 2,
    fresh: 0,
    output: { target: "lead_attribute", attributeKey: "email_validation" },
    cost: { creditAction: "EMAIL_VALIDATION", unitCost: required / 2, required }
  },
  writePolicy: "overwrite",
  displayRequest: null,
  idempotency: null,
  now
})

/** Every credit command a history implies, in order, as the run store applies them. */
const creditsOf = (...commands: ReadonlyArray<RunCommand>) => {
  const events: Array<RunEvent> = []
  const moved: Array<ReturnType<typeof creditCommandOf>> = []
  for (const command of commands) {
    const decided = decide(command, fold(events))
    if (decided instanceof RunCommandRejected) throw new Error(`${command._tag} rejected: ${decided.reason}`)
    let before: RunState = fold(events)
    for (const event of decided) {
      const implied = creditCommandOf("run-1", before, event)
      if (implied !== undefined) moved.push(implied)
      before = evolve(before, event)
      events.push(event)
    }
  }
  return moved
}

const dispatch: RunCommand = { _tag: "RecordDispatch", engine: "effect-workflow", triggerRunId: "wf-1", now }

describe("How a run moves credits (unit)", () => {
  it("given_a_run_with_a_cost_when_it_is_requested_then_its_cost_is_reserved_and_nothing_else_moves", () => {
    expect(creditsOf(requestRun(6), dispatch)).toEqual([{ _tag: "Reserve", runId: "run-1", amount: 6, now }])
  })

  it("given_a_free_run_when_it_is_requested_and_cancelled_then_no_credit_moves", () => {
    expect(creditsOf(requestRun(0), dispatch, { _tag: "CancelRun", now })).toEqual([])
  })

  it("given_a_run_that_reserved_when_it_settles_then_one_settle_splits_the_hold", () => {
    const moved = creditsOf(
      requestRun(6),
      dispatch,
      { _tag: "StartBatch", batch: "b1", ordinals: [1, 2], now },
      {
        _tag: "RecordBatch",
        batch: "b1",
        outcomes: [
          { ordinal: 1, status: "completed", skippedReason: null, found: true },
          { ordinal: 2, status: "failed", skippedReason: null, found: false }
        ],
        now
      },
      { _tag: "CompleteRun", now }
    )
    expect(moved).toEqual([
      { _tag: "Reserve", runId: "run-1", amount: 6, now },
      { _tag: "Settle", runId: "run-1", captured: 3, released: 3, now }
    ])
  })

  it("given_no_run_yet_when_a_settlement_is_seen_then_nothing_moves", () => {
    const settled: RunEvent = { _tag: "CreditsSettled", captured: 1, released: 0, settledAt: now } as RunEvent
    expect(creditCommandOf("run-1", initialState, settled)).toBeUndefined()
  })
})
