import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  type ActiveRunState,
  decide,
  evolve,
  fold,
  initialState,
  isTerminal,
  leftAfterClaims,
  type RunCommand,
  RunCommandRejected,
  type RunState
} from "../src/runs/Run.ts"
import {
  type ItemMove,
  itemMovesOf,
  type ItemStatus,
  requestedItemStatus,
  transitionOf
} from "../src/runs/ItemMoves.ts"
import { decodeRunEvent, encodeRunEvent, type ItemOutcome, type RunEvent } from "../src/runs/RunEvents.ts"
import { DeciderSpecification } from "./DeciderSpecification.ts"

const spec = DeciderSpecification<RunState, RunCommand, RunEvent, RunCommandRejected>({
  decide,
  evolve,
  initialState,
  isRejection: (o): o is RunCommandRejected => o instanceof RunCommandRejected
})

const now = "2026-11-28T10:00:00.000Z"
const scale = Number(process.env["ENRICH_TEST_SCALE"] ?? "1") || 1

const requestRun = (
  leadCount = 3,
  required = 6,
  chargeOn: "dispatch" | "completed" | "found" = "completed"
): RunCommand => ({
  _tag: "RequestRun",
  runId: "run-1",
  workspaceId: "ws-1",
  enrichment: { id: "email_validation", slug: "email_validation", version: 1, snapshot: {} },
  chargeOn,
  scope: { type: "list", listId: "list-1", leadIdCount: null },
  plan: {
    leadCount,
    fresh: 0,
    output: { target: "lead_attribute", attributeKey: "email_validation" },
    cost: { creditAction: "EMAIL_VALIDATION", unitCost: leadCount === 0 ? 0 : required / leadCount, required }
  },
  writePolicy: "overwrite",
  displayRequest: null,
  idempotency: null,
  now
})

const outcome = (ordinal: number, status: ItemOutcome["status"], found = false): ItemOutcome => ({
  ordinal,
  status,
  skippedReason: status === "skipped" ? "attribute_exists" : null,
  found
})

const history = (...commands: ReadonlyArray<RunCommand>): ReadonlyArray<RunEvent> => {
  const events: Array<RunEvent> = []
  for (const command of commands) {
    const decided = decide(command, fold(events))
    if (decided instanceof RunCommandRejected) throw new Error(`history: ${command._tag} rejected: ${decided.reason}`)
    events.push(...decided)
  }
  return events
}

const dispatch: RunCommand = { _tag: "RecordDispatch", engine: "effect-workflow", triggerRunId: "wf-1", now }
const start = (...ordinals: Array<number>): RunCommand => ({
  _tag: "StartBatch",
  batch: `b${ordinals[0]}`,
  ordinals,
  now
})
const record = (...outcomes: Array<ItemOutcome>): RunCommand => ({
  _tag: "RecordBatch",
  batch: `b${outcomes[0]?.ordinal}`,
  outcomes,
  now
})
const cancel: RunCommand = { _tag: "CancelRun", now }
const fail: RunCommand = { _tag: "FailRun", message: "provider unusable", now }
const complete: RunCommand = { _tag: "CompleteRun", now }

const requested = history(requestRun())
const dispatched = history(requestRun(), dispatch)
const running = history(requestRun(), dispatch, start(1, 2, 3))
const allRecorded = history(
  requestRun(),
  dispatch,
  start(1, 2, 3),
  record(outcome(1, "completed", true), outcome(2, "completed"), outcome(3, "failed"))
)
const completed = history(
  requestRun(),
  dispatch,
  start(1, 2, 3),
  record(outcome(1, "completed", true), outcome(2, "completed"), outcome(3, "failed")),
  complete
)
const cancelledWhileRunning = history(requestRun(), dispatch, start(1), cancel)

describe("Run decider (unit): given/when/then", () => {
  it("when_a_run_is_requested_then_it_is_pending_with_its_reservation", () =>
    spec
      .given([])
      .when(requestRun())
      .thenState((s) => expect(s).toMatchObject({ status: "pending", reserved: 6, counts: { pending: 3 } })))

  it("when_a_run_is_requested_twice_then_it_is_rejected", () =>
    spec.given(requested).when(requestRun()).thenRejects("run_exists"))

  it("when_anything_but_a_request_reaches_a_missing_run_then_it_is_rejected", () => {
    for (const command of [dispatch, start(1), record(outcome(1, "completed")), cancel, fail, complete]) {
      spec.given([]).when(command).thenRejects("run_not_found")
    }
  })

  it("when_dispatch_is_recorded_then_the_trigger_run_id_is_kept_and_a_second_record_changes_nothing", () => {
    spec
      .given(requested)
      .when(dispatch)
      .thenEmits([{ _tag: "RunDispatched", engine: "effect-workflow", triggerRunId: "wf-1", dispatchedAt: now }])
    spec.given(dispatched).when(dispatch).thenEmits([])
  })

  it("when_the_engine_started_or_a_cancel_ended_the_run_before_its_hand_over_was_recorded_then_it_is_recorded", () => {
    // an engine outside the database is called after the run is committed: its task may claim batches, even
    // finish the run, and a cancel may end it, before the dispatch appends RecordDispatch
    const handedOver: ReadonlyArray<RunEvent> = [
      { _tag: "RunDispatched", engine: "effect-workflow", triggerRunId: "wf-1", dispatchedAt: now }
    ]
    const undispatched = {
      running: history(requestRun(), start(1)),
      completed: history(
        requestRun(),
        start(1, 2, 3),
        record(outcome(1, "completed"), outcome(2, "completed"), outcome(3, "completed")),
        complete
      ),
      cancelled: history(requestRun(), cancel)
    }
    for (const [status, events] of Object.entries(undispatched)) {
      spec.given(events).when(dispatch).thenEmits(handedOver)
      spec
        .given(events)
        .when(dispatch)
        .thenState((s) => expect(s).toMatchObject({ status, dispatched: true }))
      spec
        .given([...events, ...handedOver])
        .when(dispatch)
        .thenEmits([])
    }
  })

  it("when_the_engine_refuses_the_hand_over_then_the_run_fails_and_everything_is_released", () =>
    spec
      .given(requested)
      .when({ _tag: "FailDispatch", message: "engine down", now })
      .thenEmits([
        { _tag: "RunFailed", message: "engine down", failedAt: now },
        { _tag: "CreditsSettled", captured: 0, released: 6, settledAt: now }
      ]))

  it("when_the_hand_over_fails_then_nothing_is_captured_whatever_the_charge_on", () => {
    // a failed hand-over ran nothing: even `dispatch` pricing charges nothing (docs/API.md, DISPATCH_FAILED)
    for (const chargeOn of ["dispatch", "completed", "found"] as const) {
      spec
        .given(history(requestRun(3, 6, chargeOn)))
        .when({ _tag: "FailDispatch", message: "engine down", now })
        .thenEmits([
          { _tag: "RunFailed", message: "engine down", failedAt: now },
          { _tag: "CreditsSettled", captured: 0, released: 6, settledAt: now }
        ])
    }
  })

  it("when_a_dispatched_run_is_refused_again_then_it_is_rejected", () =>
    spec.given(dispatched).when({ _tag: "FailDispatch", message: "x", now }).thenRejects("run_not_awaiting_dispatch"))

  it("when_a_hand_over_fails_after_the_run_started_or_ended_then_it_is_rejected", () => {
    // the call timed out but went through (the task runs), or a cancel came first: the run is as it is
    const failDispatch: RunCommand = { _tag: "FailDispatch", message: "timed out", now }
    spec
      .given(history(requestRun(), start(1)))
      .when(failDispatch)
      .thenRejects("run_not_awaiting_dispatch")
    spec.given(history(requestRun(), cancel)).when(failDispatch).thenRejects("run_not_awaiting_dispatch")
  })

  it("when_the_first_batch_starts_then_the_run_starts", () =>
    spec
      .given(dispatched)
      .when(start(1, 2))
      .thenEmits([
        { _tag: "RunStarted", startedAt: now },
        { _tag: "ItemBatchStarted", batch: "b1", ordinals: [1, 2], startedAt: now }
      ]))

  it("when_a_batch_claims_more_than_is_pending_or_nothing_then_it_is_rejected", () => {
    spec
      .given(dispatched)
      .when(start(1, 2, 3, 4))
      .thenRejects("more_items_than_pending")
    spec.given(dispatched).when({ _tag: "StartBatch", batch: "b", ordinals: [], now }).thenRejects("empty_batch")
  })

  it("when_a_batch_records_more_than_is_running_then_it_is_rejected", () =>
    spec
      .given(history(requestRun(), dispatch, start(1)))
      .when(record(outcome(1, "completed"), outcome(2, "completed")))
      .thenRejects("more_items_than_running"))

  it("when_items_are_still_running_then_the_run_cannot_complete", () =>
    spec.given(running).when(complete).thenRejects("items_not_terminal"))

  it("when_every_item_is_terminal_then_the_run_completes_and_captures_completed_items", () =>
    spec
      .given(allRecorded)
      .when(complete)
      .thenEmits([
        { _tag: "RunCompleted", completedAt: now },
        { _tag: "CreditsSettled", captured: 4, released: 2, settledAt: now }
      ]))

  it("when_a_settled_run_is_completed_again_then_nothing_happens", () =>
    spec.given(completed).when(complete).thenEmits([]))

  it("when_a_pending_run_is_cancelled_then_its_items_are_skipped_and_everything_is_released", () =>
    spec
      .given(dispatched)
      .when(cancel)
      .thenEmits([
        { _tag: "RunCancelled", cancelledAt: now },
        { _tag: "CreditsSettled", captured: 0, released: 6, settledAt: now }
      ]))

  it("when_a_running_run_is_cancelled_then_settlement_waits_for_the_running_items", () => {
    spec
      .given(history(requestRun(), dispatch, start(1)))
      .when(cancel)
      .thenEmits([{ _tag: "RunCancelled", cancelledAt: now }])
    spec
      .given(cancelledWhileRunning)
      .when(record(outcome(1, "completed")))
      .thenEmits([
        { _tag: "ItemBatchRecorded", batch: "b1", outcomes: [outcome(1, "completed")], recordedAt: now },
        { _tag: "CreditsSettled", captured: 2, released: 4, settledAt: now }
      ])
  })

  it("when_a_terminal_run_is_cancelled_then_it_is_not_cancellable", () => {
    spec.given(completed).when(cancel).thenRejects("run_not_cancellable")
    spec.given(cancelledWhileRunning).when(cancel).thenRejects("run_not_cancellable")
  })

  it("when_a_cancelled_run_is_asked_for_a_new_batch_then_none_starts", () =>
    spec.given(cancelledWhileRunning).when(start(2)).thenRejects("run_not_active"))

  it("when_a_run_fails_during_execution_then_pending_items_are_skipped_and_running_ones_settle_later", () => {
    spec
      .given(history(requestRun(), dispatch, start(1)))
      .when(fail)
      .thenState((s) => {
        expect(s).toMatchObject({ status: "failed", settled: false, counts: { pending: 0, running: 1, skipped: 2 } })
      })
    spec.given(completed).when(fail).thenRejects("run_not_active")
  })

  it("when_a_dispatch_priced_run_is_cancelled_then_everything_reserved_is_captured", () =>
    spec
      .given(history(requestRun(3, 6, "dispatch"), dispatch))
      .when(cancel)
      .thenEmits([
        { _tag: "RunCancelled", cancelledAt: now },
        { _tag: "CreditsSettled", captured: 6, released: 0, settledAt: now }
      ]))

  it("when_a_found_priced_run_completes_then_only_found_results_are_captured", () =>
    spec
      .given(
        history(
          requestRun(3, 6, "found"),
          dispatch,
          start(1, 2, 3),
          record(outcome(1, "completed", true), outcome(2, "completed", false), outcome(3, "skipped"))
        )
      )
      .when(complete)
      .thenState((s) => expect(s).toMatchObject({ status: "completed", settled: true, found: 1 })))
})

describe("What is left of a run once nothing more is claimed (unit)", () => {
  it("pending_items_are_claimed_running_ones_waited_for_and_a_run_with_none_in_flight_completes", () => {
    expect(leftAfterClaims(fold([]))).toBe("settled")
    expect(leftAfterClaims(fold(dispatched))).toBe("claim")
    expect(leftAfterClaims(fold(history(requestRun(), dispatch, start(1))))).toBe("claim")
    expect(leftAfterClaims(fold(running))).toBe("wait")
    expect(leftAfterClaims(fold(allRecorded))).toBe("complete")
    expect(leftAfterClaims(fold(completed))).toBe("settled")
    // a cancelled run claims nothing more: its running item is waited for, then it settles
    expect(leftAfterClaims(fold(cancelledWhileRunning))).toBe("wait")
  })
})

describe("Run decider (unit): lost workers and operators", () => {
  const lost = (attempts: ReadonlyArray<number>): RunCommand => ({
    _tag: "AbandonBatch",
    batch: "b1",
    items: attempts.map((a, i) => ({ ordinal: i + 1, attempts: a })),
    maxAttempts: 3,
    now
  })

  it("when_a_batch_is_lost_then_its_items_go_back_to_pending_or_fail_after_their_tries", () => {
    spec
      .given(running)
      .when(lost([1, 3, 2]))
      .thenEmits([
        { _tag: "ItemBatchAbandoned", batch: "b1", ordinals: [1, 3], abandonedAt: now },
        {
          _tag: "ItemBatchRecorded",
          batch: "b1",
          outcomes: [{ ordinal: 2, status: "failed", skippedReason: null, found: false }],
          recordedAt: now
        }
      ])
    spec
      .given(running)
      .when(lost([1, 1, 1]))
      .thenState((s) => expect(s).toMatchObject({ status: "running", counts: { pending: 3, running: 0 } }))
  })

  it("when_a_cancelled_runs_lost_batch_is_abandoned_then_its_items_are_released_and_the_run_settles", () =>
    spec
      .given(cancelledWhileRunning)
      .when(lost([1]))
      .thenEmits([
        {
          _tag: "ItemBatchRecorded",
          batch: "b1",
          outcomes: [{ ordinal: 1, status: "skipped", skippedReason: "run_cancelled", found: false }],
          recordedAt: now
        },
        { _tag: "CreditsSettled", captured: 0, released: 6, settledAt: now }
      ]))

  it("when_more_items_are_abandoned_than_run_then_it_is_rejected", () => {
    spec
      .given(history(requestRun(), dispatch, start(1)))
      .when(lost([1, 1]))
      .thenRejects("more_items_than_running")
    spec.given(running).when(lost([])).thenRejects("empty_batch")
  })

  it("when_an_operator_ends_a_running_run_then_it_fails_releases_what_runs_and_settles_by_its_charge", () =>
    spec
      .given(history(requestRun(), dispatch, start(1, 2), record(outcome(1, "completed"))))
      .when({ _tag: "EndRun", message: "stuck", running: [{ batch: "b2", ordinals: [2] }], now })
      .thenEmits([
        { _tag: "RunFailed", message: "stuck", failedAt: now },
        {
          _tag: "ItemBatchRecorded",
          batch: "b2",
          outcomes: [{ ordinal: 2, status: "skipped", skippedReason: "run_failed", found: false }],
          recordedAt: now
        },
        { _tag: "CreditsSettled", captured: 2, released: 4, settledAt: now }
      ]))

  it("when_an_operator_ends_a_cancelled_run_whose_worker_is_gone_then_it_settles", () =>
    spec
      .given(cancelledWhileRunning)
      .when({ _tag: "EndRun", message: "stuck", running: [{ batch: "b1", ordinals: [1] }], now })
      .thenState((s) => expect(s).toMatchObject({ status: "cancelled", settled: true, counts: { running: 0 } })))

  it("when_an_operator_ends_a_run_naming_other_items_than_run_or_a_settled_run_then_it_is_rejected", () => {
    spec
      .given(running)
      .when({ _tag: "EndRun", message: "x", running: [{ batch: "b1", ordinals: [1] }], now })
      .thenRejects("running_items_mismatch")
    spec.given(completed).when({ _tag: "EndRun", message: "x", running: [], now }).thenRejects("run_settled")
  })
})

// --- properties -----------------------------------------------------------------

type Step =
  | { readonly kind: "dispatch" | "failDispatch" | "cancel" | "fail" | "complete" }
  | { readonly kind: "start"; readonly size: number }
  | { readonly kind: "record"; readonly size: number; readonly statuses: ReadonlyArray<number> }
  | { readonly kind: "abandon"; readonly size: number; readonly attempts: ReadonlyArray<number> }
  | { readonly kind: "end" }

const steps = fc.array(
  fc.oneof(
    fc.constantFrom<Step>(
      { kind: "dispatch" },
      { kind: "failDispatch" },
      { kind: "cancel" },
      { kind: "fail" },
      { kind: "complete" },
      { kind: "end" }
    ),
    fc
      .tuple(fc.integer({ min: 0, max: 6 }), fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 6, maxLength: 6 }))
      .map(([size, attempts]): Step => ({ kind: "abandon", size, attempts })),
    fc.integer({ min: 0, max: 6 }).map((size): Step => ({ kind: "start", size })),
    fc
      .tuple(fc.integer({ min: 0, max: 6 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 6, maxLength: 6 }))
      .map(([size, statuses]): Step => ({ kind: "record", size, statuses }))
  ),
  { maxLength: 40 }
)

/** Turns a random step into a command, naming items the way a worker would (lowest pending / oldest running ordinals). */
const toCommand = (step: Step, claimed: Array<number>, pending: ReadonlyArray<number>): RunCommand => {
  switch (step.kind) {
    case "dispatch":
      return dispatch
    case "failDispatch":
      return { _tag: "FailDispatch", message: "refused", now }
    case "cancel":
      return cancel
    case "fail":
      return fail
    case "complete":
      return complete
    case "start":
      // as many as the step asks, pending or not: a batch of more than are pending is refused
      return start(...[...pending, ...Array.from({ length: step.size }, (_, i) => -1 - i)].slice(0, step.size))
    case "abandon":
      return {
        _tag: "AbandonBatch",
        batch: "lost",
        items: claimed.slice(0, step.size).map((ordinal, i) => ({ ordinal, attempts: step.attempts[i]! })),
        maxAttempts: 3,
        now
      }
    case "end":
      return { _tag: "EndRun", message: "operator", running: [{ batch: "all", ordinals: [...claimed] }], now }
    case "record":
      return record(
        ...claimed.slice(0, step.size).map((ordinal, i) => {
          const s = step.statuses[i]!
          return outcome(ordinal, s === 0 ? "failed" : s === 1 ? "skipped" : "completed", s === 3)
        })
      )
  }
}

/** The items of a run moved by `move`: each it names (every one, for SkipPending) in its `from` status. */
const moveItems = (items: Map<number, ItemStatus>, move: ItemMove) => {
  const { from, to } = transitionOf(move)
  const named = move._tag === "SkipPending" ? [...items.keys()] : move.ordinals
  for (const ordinal of named) if (items.get(ordinal) === from) items.set(ordinal, to)
}

describe("Run decider (property)", () => {
  it("random_command_sequences_keep_every_invariant_and_the_item_moves_agree_with_the_counts", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom("dispatch" as const, "completed" as const, "found" as const),
        steps,
        (leadCount, unitCost, chargeOn, plan) => {
          const events: Array<RunEvent> = [...history(requestRun(leadCount, leadCount * unitCost, chargeOn))]
          let state = fold(events)
          const claimed: Array<number> = []
          let terminalStatus: string | undefined
          // the items as the item moves move them (ItemMoves.ts), from the request's pending ones
          const items = new Map<number, ItemStatus>(
            Array.from({ length: leadCount }, (_, i) => [i + 1, requestedItemStatus] as const)
          )
          for (const step of plan) {
            const pendingItems = [...items].filter(([, status]) => status === "pending").map(([ordinal]) => ordinal)
            const command = toCommand(step, claimed, pendingItems)
            const decided = decide(command, state)
            if (decided instanceof RunCommandRejected) continue
            // a failed hand-over charges nothing, whatever the chargeOn
            if (command._tag === "FailDispatch") {
              expect(decided.filter((e) => e._tag === "CreditsSettled").map((e) => e.captured)).toEqual([0])
            }
            for (const event of decided) {
              if (event._tag === "ItemBatchStarted") claimed.push(...event.ordinals)
              if (event._tag === "ItemBatchRecorded") claimed.splice(0, event.outcomes.length)
              if (event._tag === "ItemBatchAbandoned") claimed.splice(0, event.ordinals.length)
            }
            events.push(...decided)
            state = decided.reduce(evolve, state)
            for (const event of decided) for (const move of itemMovesOf(event)) moveItems(items, move)
            const s = state as ActiveRunState
            const { completed, failed, pending, running, skipped } = s.counts
            // the item moves and the decider's counts tell the same story
            const byStatus = (status: ItemStatus) => [...items.values()].filter((i) => i === status).length
            expect({
              pending: byStatus("pending"),
              running: byStatus("running"),
              completed: byStatus("completed"),
              failed: byStatus("failed"),
              skipped: byStatus("skipped")
            }).toEqual(s.counts)
            // counts always sum to the resolved count, and none is negative
            expect(pending + running + completed + failed + skipped).toBe(leadCount)
            expect(Math.min(pending, running, completed, failed, skipped)).toBeGreaterThanOrEqual(0)
            // a terminal status never changes
            if (terminalStatus !== undefined) expect(s.status).toBe(terminalStatus)
            if (isTerminal(s.status)) terminalStatus = s.status
            // settled at most once, and then reserved = captured + released, captured ≤ reserved
            const settlements = events.filter((e) => e._tag === "CreditsSettled")
            expect(settlements.length).toBeLessThanOrEqual(1)
            for (const settled of settlements) {
              expect(settled.captured + settled.released).toBe(s.reserved)
              expect(settled.captured).toBeGreaterThanOrEqual(0)
              expect(settled.released).toBeGreaterThanOrEqual(0)
            }
            // a run that ended with nothing in flight is settled
            if (isTerminal(s.status) && pending === 0 && running === 0) expect(s.settled).toBe(true)
          }
          // replaying the run's events rebuilds its state
          expect(fold(events)).toEqual(state)
        }
      ),
      { numRuns: Math.round(300 * scale) }
    ))

  it("every_event_round_trips_through_its_stored_form", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        for (const event of [
          ...completed,
          ...cancelledWhileRunning,
          ...history(requestRun(), { _tag: "FailDispatch", message: "x", now }),
          { _tag: "ItemBatchAbandoned", batch: "b1", ordinals: [1, 2], abandonedAt: now } satisfies RunEvent
        ]) {
          const stored = encodeRunEvent(event)
          const decoded = yield* decodeRunEvent(stored.type, stored.version, JSON.parse(JSON.stringify(stored.data)))
          expect(decoded).toEqual(event)
        }
      })
    ))

  it("an_unknown_event_version_is_a_typed_error_not_a_crash", async () => {
    const result = await Effect.runPromise(Effect.flip(decodeRunEvent("RunStarted", 99, { startedAt: now })))
    expect(result._tag).toBe("UnknownEventVersion")
  })
})
