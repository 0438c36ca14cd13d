/**
 * The run watchdog's rules: when a run's workers are gone, and what then becomes of it.
 *
 * Whatever executes a run (a workflow, a partition of it, a Trigger.dev attempt) is its *holder* and holds a
 * lease on the run, which it renews while it lives. A batch belongs to the holder that claimed it. The rules:
 * - a batch whose holder's lease expired (or, for a holder that never took one, that started more than a
 *   lease ago) is abandoned: on an active run its items go back to pending or fail after their tries
 *   (`abandonedItemFate` in Run.ts), on a cancelled or failed run they are released;
 * - a run none of whose holders is alive cannot make progress: it completes if nothing is left to do,
 *   otherwise it ends `failed` (`EndRun`), settled by its `chargeOn`;
 * - a run never handed over to its engine (the dispatching process died between the commit and the call)
 *   fails its hand-over after a lease, releasing everything; one no worker ever took ends after
 *   `startTimeoutMs` (an engine's queue may legitimately hold a run for a while).
 * Pure: the facts (leases, running batches, ages) come from the adapter, times are milliseconds as the
 * database's clock measures them, so processes with skewed clocks agree.
 */
import { type ActiveRunState, isTerminal } from "./Run.ts"

export interface LivenessPolicy {
  /** how long a holder's lease lasts without renewal */
  readonly leaseMs: number
  /** claims of one item, each lost with its worker, after which the item fails instead of being claimed again */
  readonly maxAttempts: number
  /** how long a run may wait for its first holder */
  readonly startTimeoutMs: number
}

export interface RunningBatch {
  readonly batch: string
  readonly holder: string
  /** how long ago the batch was claimed */
  readonly startedAgoMs: number
  readonly items: ReadonlyArray<{ readonly ordinal: number; readonly attempts: number }>
}

export interface RunWatch {
  readonly state: ActiveRunState
  /** how long ago the run was requested */
  readonly ageMs: number
  /** every lease ever taken on the run, alive or not */
  readonly leases: ReadonlyArray<{ readonly holder: string; readonly alive: boolean }>
  /** the batches that still have running items */
  readonly running: ReadonlyArray<RunningBatch>
}

export type WatchAction =
  | { readonly _tag: "AbandonBatch"; readonly batch: RunningBatch }
  | { readonly _tag: "Complete" }
  | { readonly _tag: "End"; readonly message: string }
  | { readonly _tag: "FailHandOver"; readonly message: string }

/** The holder of a batch: its key without the last segment (`<run>/p2/batch-7` → `<run>/p2`). */
export const holderOf = (batch: string): string => {
  const cut = batch.lastIndexOf("/")
  return cut <= 0 ? batch : batch.slice(0, cut)
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`

/** What the watchdog does about a run, in order; nothing for a healthy or settled run. */
export const judgeRun = (watch: RunWatch, policy: LivenessPolicy): ReadonlyArray<WatchAction> => {
  const { state } = watch
  if (state.settled) return []
  const held = new Set(watch.leases.map((l) => l.holder))
  const alive = new Set(watch.leases.filter((l) => l.alive).map((l) => l.holder))
  // a holder that never took a lease (an executor of an older version) is given one lease from its claim
  const batchAlive = (b: RunningBatch) =>
    alive.has(b.holder) || (!held.has(b.holder) && b.startedAgoMs < policy.leaseMs)
  const dead = watch.running.filter((b) => !batchAlive(b))
  const runAlive = alive.size > 0 || watch.running.some(batchAlive)
  const abandon = dead.map((batch) => ({ _tag: "AbandonBatch" as const, batch }))
  if (runAlive || isTerminal(state.status)) return abandon
  if (watch.leases.length === 0 && watch.running.length === 0) {
    // no worker ever took the run
    if (!state.dispatched && watch.ageMs > policy.leaseMs) {
      return [
        {
          _tag: "FailHandOver",
          message: `the run was not handed over to its engine within ${seconds(policy.leaseMs)}`
        }
      ]
    }
    if (watch.ageMs > policy.startTimeoutMs) {
      return [{ _tag: "End", message: `no worker started the run within ${seconds(policy.startTimeoutMs)}` }]
    }
    return []
  }
  if (state.counts.pending === 0 && state.counts.running === 0) return [{ _tag: "Complete" }]
  return [
    {
      _tag: "End",
      message: `the run's workers were lost: none has held it for ${seconds(policy.leaseMs)}`
    }
  ]
}

/**
 * How long the watchdog may take to end a run once nothing keeps it alive: a lease to see its holders gone,
 * a sweep interval to find it, and one more lease when the sweeping runner has just started (it lets the
 * cluster move the workflows of a lost runner first).
 */
export const settlementBoundMs = (policy: LivenessPolicy, intervalMs: number): number => 2 * policy.leaseMs + intervalMs

/**
 * A run the watchdog should have ended by now (what `enrich audit verify` reports): unsettled, none of its
 * holders alive, and its last lease expired — or, never held, its start timeout passed — longer ago than
 * the bound allows.
 */
export const isOverdue = (
  run: {
    readonly settled: boolean
    readonly ageMs: number
    /** how long ago its last lease expired; undefined when it never had one */
    readonly lastLeaseExpiredAgoMs: number | undefined
    readonly anyLeaseAlive: boolean
  },
  policy: LivenessPolicy,
  intervalMs: number
): boolean => {
  if (run.settled || run.anyLeaseAlive) return false
  const bound = settlementBoundMs(policy, intervalMs)
  return run.lastLeaseExpiredAgoMs === undefined
    ? run.ageMs > policy.startTimeoutMs + bound
    : run.lastLeaseExpiredAgoMs > bound
}
