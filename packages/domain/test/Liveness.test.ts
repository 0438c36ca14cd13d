import { describe, expect, it } from "vitest"
import { holderOf, judgeRun, type LivenessPolicy, type RunWatch } from "../src/runs/Liveness.ts"
import type { ActiveRunState } from "../src/runs/Run.ts"

const policy: LivenessPolicy = { leaseMs: 60_000, maxAttempts: 3, startTimeoutMs: 3_600_000 }

const state = (patch: Partial<ActiveRunState> = {}): ActiveRunState => ({
  status: "running",
  leadCount: 10,
  counts: { pending: 5, running: 5, completed: 0, skipped: 0, failed: 0 },
  found: 0,
  chargeOn: "completed",
  unitCost: 1,
  reserved: 10,
  dispatched: true,
  settled: false,
  record: {
    requestedAt: "2026-03-01T09:00:00.000Z",
    updatedAt: "2026-03-01T09:00:00.000Z",
    startedAt: "2026-03-01T09:00:00.000Z",
    endedAt: null,
    cancelledAt: null,
    failure: null,
    dispatch: null,
    settlement: null
  },
  ...patch
})

const batch = (name: string, startedAgoMs = 1_000) => ({
  batch: name,
  holder: holderOf(name),
  startedAgoMs,
  items: [1, 2, 3, 4, 5].map((ordinal) => ({ ordinal, attempts: 1 }))
})

const watch = (patch: Partial<RunWatch> = {}): RunWatch => ({
  state: state(),
  ageMs: 120_000,
  leases: [{ holder: "r", alive: true }],
  running: [batch("r/batch-0")],
  ...patch
})

describe("Run liveness (unit)", () => {
  it("a_batch_belongs_to_its_key_without_the_last_segment", () => {
    expect(holderOf("r/batch-3")).toBe("r")
    expect(holderOf("r/p2/batch-0")).toBe("r/p2")
    expect(holderOf("r")).toBe("r")
  })

  it("when_every_holder_is_alive_then_nothing_is_done", () => expect(judgeRun(watch(), policy)).toEqual([]))

  it("when_a_settled_run_still_has_dead_leases_then_nothing_is_done", () =>
    expect(
      judgeRun(watch({ state: state({ settled: true }), leases: [{ holder: "r", alive: false }] }), policy)
    ).toEqual([]))

  it("when_one_partition_is_lost_and_another_lives_then_the_lost_ones_batch_is_abandoned", () => {
    const lost = batch("r/p1/batch-4")
    expect(
      judgeRun(
        watch({
          leases: [
            { holder: "r/p0", alive: true },
            { holder: "r/p1", alive: false }
          ],
          running: [batch("r/p0/batch-2"), lost]
        }),
        policy
      )
    ).toEqual([{ _tag: "AbandonBatch", batch: lost }])
  })

  it("when_no_holder_of_an_active_run_lives_then_it_ends", () => {
    const [action] = judgeRun(watch({ leases: [{ holder: "r", alive: false }] }), policy)
    expect(action?._tag).toBe("End")
  })

  it("when_no_holder_lives_and_nothing_is_left_to_do_then_the_run_completes", () =>
    expect(
      judgeRun(
        watch({
          state: state({ counts: { pending: 0, running: 0, completed: 10, skipped: 0, failed: 0 } }),
          leases: [{ holder: "r", alive: false }],
          running: []
        }),
        policy
      )
    ).toEqual([{ _tag: "Complete" }]))

  it("when_a_cancelled_runs_worker_is_gone_then_its_running_batches_are_abandoned_to_settle_it", () => {
    const lost = batch("r/batch-0")
    expect(
      judgeRun(
        watch({
          state: state({
            status: "cancelled",
            counts: { pending: 0, running: 5, completed: 0, skipped: 5, failed: 0 }
          }),
          leases: [{ holder: "r", alive: false }],
          running: [lost]
        }),
        policy
      )
    ).toEqual([{ _tag: "AbandonBatch", batch: lost }])
  })

  it("a_holder_that_never_took_a_lease_is_given_one_lease_from_its_claim", () => {
    expect(judgeRun(watch({ leases: [], running: [batch("r/batch-0", 10_000)] }), policy)).toEqual([])
    const [action] = judgeRun(watch({ leases: [], running: [batch("r/batch-0", 61_000)] }), policy)
    expect(action?._tag).toBe("End")
  })

  it("when_a_run_was_never_handed_over_then_after_a_lease_its_hand_over_fails", () => {
    const undispatched = state({
      status: "pending",
      dispatched: false,
      counts: { pending: 10, running: 0, completed: 0, skipped: 0, failed: 0 }
    })
    expect(judgeRun(watch({ state: undispatched, leases: [], running: [], ageMs: 30_000 }), policy)).toEqual([])
    const [action] = judgeRun(watch({ state: undispatched, leases: [], running: [], ageMs: 61_000 }), policy)
    expect(action?._tag).toBe("FailHandOver")
  })

  it("when_no_worker_ever_takes_a_dispatched_run_then_it_ends_after_the_start_timeout", () => {
    const queued = state({
      status: "pending",
      counts: { pending: 10, running: 0, completed: 0, skipped: 0, failed: 0 }
    })
    expect(judgeRun(watch({ state: queued, leases: [], running: [], ageMs: 600_000 }), policy)).toEqual([])
    const [action] = judgeRun(watch({ state: queued, leases: [], running: [], ageMs: 3_600_001 }), policy)
    expect(action?._tag).toBe("End")
  })
})
