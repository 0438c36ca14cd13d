import { describe, expect, it } from "vitest"
import { decide, evolve, initialState, RunCommandRejected, type RunCommand, type RunState } from "../src/runs/Run.ts"
import type { RunEvent } from "../src/runs/RunEvents.ts"
import { decodeRunEvent, encodeRunEvent } from "../src/runs/RunEvents.ts"
import { Effect } from "effect"
import { DeciderSpecification } from "./DeciderSpecification.ts"

const spec = DeciderSpecification<RunState, RunCommand, RunEvent, RunCommandRejected>({
  decide,
  evolve,
  initialState,
  isRejection: (o): o is RunCommandRejected => o instanceof RunCommandRejected
})

const now = "2026-11-28T10:00:00.000Z"

const requestRun: RunCommand = {
  _tag: "RequestRun",
  runId: "run-1",
  workspaceId: "ws-1",
  enrichment: { id: "email_validation", slug: "email_validation", version: 1, snapshot: {} },
  chargeOn: "completed",
  scope: { type: "list", listId: "list-1", leadIdCount: null },
  plan: {
    leadCount: 3,
    output: { target: "lead_attribute", attributeKey: "email_validation" },
    cost: { creditAction: "EMAIL_VALIDATION", unitCost: 2, required: 6 }
  },
  writePolicy: "overwrite",
  displayRequest: null,
  now
}

const requested: ReadonlyArray<RunEvent> = [
  {
    _tag: "RunRequested",
    runId: "run-1",
    workspaceId: "ws-1",
    enrichment: { id: "email_validation", slug: "email_validation", version: 1, snapshot: {} },
    mode: "persisted",
    scope: { type: "list", listId: "list-1", leadIdCount: null },
    leadCount: 3,
    output: { target: "lead_attribute", attributeKey: "email_validation", writePolicy: "overwrite" },
    cost: { creditAction: "EMAIL_VALIDATION", unitCost: 2, chargeOn: "completed", required: 6 },
    displayRequest: null,
    requestedAt: now
  },
  { _tag: "CreditsReserved", amount: 6, reservedAt: now }
]
const dispatched: ReadonlyArray<RunEvent> = [
  ...requested,
  { _tag: "RunDispatched", engine: "effect-workflow", triggerRunId: "wf-1", dispatchedAt: now }
]
const started: ReadonlyArray<RunEvent> = [
  ...dispatched,
  { _tag: "RunStarted", startedAt: now },
  { _tag: "ItemBatchStarted", batch: "b0", count: 3, startedAt: now }
]
const recorded: ReadonlyArray<RunEvent> = [
  ...started,
  { _tag: "ItemBatchRecorded", batch: "b0", completed: 2, failed: 1, skipped: 0, found: 1, recordedAt: now }
]

describe("Run decider (unit)", () => {
  it("when_a_run_is_requested_it_reserves_the_plan's_credits", () =>
    spec.given([]).when(requestRun).thenEmits(requested))

  it("when_a_run_costs_nothing_no_reservation_is_recorded", () =>
    spec
      .given([])
      .when({ ...requestRun, plan: { ...requestRun.plan, cost: { ...requestRun.plan.cost, required: 0 } } })
      .thenState((s) => expect(s.status === "none" ? 0 : s.reserved).toBe(0)))

  it("when_the_same_run_is_requested_twice_it_is_rejected", () =>
    spec.given(requested).when(requestRun).thenRejects("run_exists"))

  it("when_dispatch_is_recorded_twice_the_second_changes_nothing", () =>
    spec
      .given(dispatched)
      .when({ _tag: "RecordDispatch", engine: "effect-workflow", triggerRunId: "wf-1", now })
      .thenEmits([]))

  it("when_the_first_batch_starts_the_run_starts", () =>
    spec
      .given(dispatched)
      .when({ _tag: "StartBatch", batch: "b0", count: 3, now })
      .thenEmits([
        { _tag: "RunStarted", startedAt: now },
        { _tag: "ItemBatchStarted", batch: "b0", count: 3, startedAt: now }
      ]))

  it("when_a_batch_claims_more_items_than_are_pending_it_is_rejected", () =>
    spec
      .given(dispatched)
      .when({ _tag: "StartBatch", batch: "b0", count: 4, now })
      .thenRejects("more_items_than_pending"))

  it("when_a_batch_records_more_items_than_are_running_it_is_rejected", () =>
    spec
      .given(started)
      .when({ _tag: "RecordBatch", batch: "b0", completed: 4, failed: 0, skipped: 0, found: 0, now })
      .thenRejects("more_items_than_running"))

  it("when_items_are_still_running_the_run_cannot_complete", () =>
    spec.given(started).when({ _tag: "CompleteRun", now }).thenRejects("items_not_terminal"))

  it("when_every_item_is_terminal_the_run_completes_and_settles_completed_items", () =>
    spec
      .given(recorded)
      .when({ _tag: "CompleteRun", now })
      .thenEmits([
        { _tag: "RunCompleted", completedAt: now },
        { _tag: "CreditsSettled", captured: 4, released: 2, settledAt: now }
      ]))

  it("when_a_settled_run_is_completed_again_nothing_happens", () => {
    const settled = [
      ...recorded,
      { _tag: "RunCompleted", completedAt: now },
      { _tag: "CreditsSettled", captured: 4, released: 2, settledAt: now }
    ] as const
    spec.given(settled).when({ _tag: "CompleteRun", now }).thenEmits([])
  })

  it("when_the_engine_refuses_the_hand_over_the_run_fails_and_releases_everything", () =>
    spec
      .given(requested)
      .when({ _tag: "FailDispatch", message: "engine down", now })
      .thenEmits([
        { _tag: "RunFailed", message: "engine down", failedAt: now },
        { _tag: "CreditsSettled", captured: 0, released: 6, settledAt: now }
      ]))

  it("a_terminal_status_never_changes", () =>
    spec
      .given([
        ...requested,
        { _tag: "RunFailed", message: "x", failedAt: now },
        { _tag: "RunCompleted", completedAt: now }
      ])
      .when({ _tag: "RecordDispatch", engine: "e", triggerRunId: "t", now })
      .thenState((s) => expect(s.status).toBe("failed")))

  it("counts_follow_the_batches", () =>
    spec
      .given(recorded)
      .when({ _tag: "CompleteRun", now })
      .thenState((s) => {
        if (s.status === "none") throw new Error("no run")
        expect(s.counts).toEqual({ pending: 0, running: 0, completed: 2, skipped: 0, failed: 1 })
        expect(s.status).toBe("completed")
      }))
})

describe("Run events (unit)", () => {
  it("every_event_round_trips_through_its_stored_form", async () => {
    for (const event of recorded) {
      const stored = encodeRunEvent(event)
      const decoded = await Effect.runPromise(
        decodeRunEvent(stored.type, stored.version, JSON.parse(JSON.stringify(stored.data)))
      )
      expect(decoded).toEqual(event)
    }
  })

  it("an_unknown_event_version_is_a_typed_error_not_a_crash", async () => {
    const result = await Effect.runPromise(Effect.flip(decodeRunEvent("RunStarted", 99, { startedAt: now })))
    expect(result._tag).toBe("UnknownEventVersion")
  })
})
