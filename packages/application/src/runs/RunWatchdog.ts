/**
 * The run watchdog and the operator's end of a run: the use cases that end what nothing else will.
 *
 * `sweep` looks at every unsettled run, judges each whose holders look gone by the domain's rules
 * (domain/runs/Liveness.ts), and carries out what they say: a lost batch's items go back to pending or
 * fail after their tries, a cancelled run's are released, a run with no live worker ends `failed`, a run
 * never handed over fails its hand-over. `endRun` is an operator ending a run now (`enrich run fail`).
 *
 * Each run is acted on in a transaction of its own that takes its running items (`FOR UPDATE`, in ordinal
 * order) before the run's stream row, as a batch's record does — so the watchdog and a batch that comes
 * back at the last moment queue one behind the other, and the batch finds its items no longer running.
 * A run that fails to be judged is logged and left to the next sweep; it never stops the sweep.
 */
import { Config, Context, Effect, Layer, Schema } from "effect"
import { CommandMetadata } from "@enrich/domain/ports/EventStore"
import {
  holderOf,
  judgeRun,
  type LivenessPolicy,
  type RunningBatch,
  type WatchAction
} from "@enrich/domain/runs/Liveness"
import { abandonedItemFate, type RunCommand } from "@enrich/domain/runs/Run"
import { RunDirectory } from "../ports/RunDirectory.ts"
import { LeaseConfig, type RunningItem, RunLiveness } from "../ports/RunLiveness.ts"
import { type KnownRun, RunStore } from "../ports/RunStore.ts"
import { retryStoreFailures } from "@enrich/domain/ports/StoreFailure"
import { Transactions } from "../ports/Transactions.ts"
import { RunCommands } from "./RunCommands.ts"

/** The watchdog's settings (README, "Running it for real"). */
export const WatchdogConfig = Config.all({
  lease: LeaseConfig,
  maxAttempts: Config.Int("ENRICH_ITEM_MAX_ATTEMPTS").pipe(Config.withDefault(3)),
  startTimeoutSeconds: Config.Int("ENRICH_RUN_START_TIMEOUT_SECONDS").pipe(Config.withDefault(3600)),
  intervalSeconds: Config.Int("ENRICH_WATCHDOG_INTERVAL_SECONDS").pipe(Config.withDefault(10))
}).pipe(
  Config.map((c) => ({
    policy: {
      leaseMs: c.lease.leaseMs,
      maxAttempts: Math.max(1, c.maxAttempts),
      startTimeoutMs: Math.max(1, c.startTimeoutSeconds) * 1000
    } satisfies LivenessPolicy,
    intervalMs: Math.max(1, c.intervalSeconds) * 1000
  }))
)

export class RunNotFound extends Schema.TaggedError<RunNotFound>()("RunNotFound", { runId: Schema.String }) {}
/** 409: the run is settled already; nothing is left to end. */
export class RunAlreadySettled extends Schema.TaggedError<RunAlreadySettled>()("RunAlreadySettled", {
  runId: Schema.String
}) {}

/** What a sweep did: the runs it looked at closely, and what it did to them. */
export interface SweepReport {
  readonly unsettled: number
  readonly judged: number
  readonly actions: ReadonlyArray<{ readonly runId: string; readonly action: WatchAction["_tag"] }>
  readonly failedRuns: ReadonlyArray<string>
}

export class RunWatchdog extends Context.Service<
  RunWatchdog,
  {
    /** One pass over the unsettled runs. */
    readonly sweep: Effect.Effect<SweepReport>
    /** An operator ends the run now, with `reason`: it fails (unless ended already) and settles. */
    readonly endRun: (
      runId: string,
      reason: string
    ) => Effect.Effect<
      { readonly runId: string; readonly status: string; readonly captured: number; readonly released: number },
      RunNotFound | RunAlreadySettled
    >
    readonly policy: LivenessPolicy
    readonly intervalMs: number
  }
>()("@enrich/application/runs/RunWatchdog") {
  static readonly layer = Layer.effect(
    RunWatchdog,
    Effect.gen(function* () {
      const transactions = yield* Transactions
      const liveness = yield* RunLiveness
      const directory = yield* RunDirectory
      const store = yield* RunStore
      const runs = yield* RunCommands
      const { policy, intervalMs } = yield* WatchdogConfig

      const byBatch = (rows: ReadonlyArray<RunningItem>): Array<RunningBatch> => {
        const batches = new Map<
          string,
          { batch: string; startedAgoMs: number; items: Array<{ ordinal: number; attempts: number }> }
        >()
        for (const row of rows) {
          const batch = batches.get(row.batch) ?? { batch: row.batch, startedAgoMs: 0, items: [] }
          batch.items.push({ ordinal: row.ordinal, attempts: row.attempts })
          batch.startedAgoMs = Math.max(batch.startedAgoMs, row.startedAgoMs)
          batches.set(row.batch, batch)
        }
        return [...batches.values()].map((b) => ({ ...b, holder: holderOf(b.batch) }))
      }

      /** Carries out one action on the run, from `known` (what this transaction holds of it). */
      const act = (
        run: { readonly runId: string; readonly workspaceId: string },
        known: KnownRun,
        action: WatchAction,
        running: ReadonlyArray<RunningItem>
      ) =>
        Effect.gen(function* () {
          const now = new Date().toISOString()
          let command: RunCommand
          switch (action._tag) {
            case "AbandonBatch": {
              command = {
                _tag: "AbandonBatch",
                batch: action.batch.batch,
                items: action.batch.items,
                maxAttempts: policy.maxAttempts,
                now
              }
              if (known.state.status === "pending" || known.state.status === "running") {
                const failing = new Set(
                  action.batch.items
                    .filter((i) => abandonedItemFate(i.attempts, policy.maxAttempts) === "fail")
                    .map((i) => i.ordinal)
                )
                yield* liveness.recordItemErrors(
                  run.runId,
                  run.workspaceId,
                  running
                    .filter((r) => r.batch === action.batch.batch && failing.has(r.ordinal))
                    .map((r) => ({
                      id: r.id,
                      leadId: r.leadId,
                      message: `the worker executing this item was lost ${r.attempts} times (its lease of ${policy.leaseMs / 1000} s expired each time)`
                    })),
                  now
                )
              }
              break
            }
            case "Complete":
              command = { _tag: "CompleteRun", now }
              break
            case "End":
              command = { _tag: "EndRun", message: action.message, running: runningBatches(running), now }
              break
            case "FailHandOver":
              command = { _tag: "FailDispatch", message: action.message, now }
              break
          }
          return yield* runs.execute({ ...run, known, command })
        })

      const runningBatches = (running: ReadonlyArray<RunningItem>) =>
        byBatch(running).map((b) => ({ batch: b.batch, ordinals: b.items.map((i) => i.ordinal) }))

      /**
       * The run as the rules see it: its state, age, leases and running batches. `lock`: its running items and
       * its stream row are taken first (to act on it); without, it is only read (to see whether to act at all).
       */
      const watchOf = (runId: string, lock: boolean) =>
        Effect.gen(function* () {
          const running = yield* liveness.runningItems(runId, lock)
          const known = lock ? yield* store.lock(runId) : { state: yield* store.load(runId), version: 0 }
          const leases = yield* liveness.leases(runId)
          const ageMs = yield* liveness.ageMs(runId)
          const actions =
            known.state.status === "none"
              ? []
              : judgeRun({ state: known.state, ageMs, leases, running: byBatch(running) }, policy)
          return { running, known, actions }
        })

      /**
       * Judges one run: read first, without a lock (a run whose gone holder left nothing behind — a partition
       * that ended — is left alone at the cost of a read, and live batches are not held up); when the rules
       * say to act, judged again and acted on in a transaction that holds what it acts on.
       */
      const watchRun = (run: { readonly runId: string; readonly workspaceId: string }) =>
        Effect.gen(function* () {
          const seen = yield* watchOf(run.runId, false)
          if (seen.actions.length === 0) return []
          return yield* transactions.transaction(
            Effect.gen(function* () {
              const { running, actions, known: locked } = yield* watchOf(run.runId, true)
              let known = locked
              for (const action of actions) {
                yield* Effect.logWarning(`run watchdog: ${action._tag}`, action)
                known = yield* act(run, known, action, running)
              }
              return actions
            })
          )
        }).pipe(Effect.annotateLogs({ runId: run.runId }), retryStoreFailures)

      const sweep = Effect.gen(function* () {
        // every unsettled run (a partial index), with its lease counts: the ones some holder of which is gone,
        // or that no holder took for a lease already, are looked at closely
        const unsettled = yield* liveness.unsettled(policy.leaseMs)
        const actions: Array<{ runId: string; action: WatchAction["_tag"] }> = []
        const failedRuns: Array<string> = []
        const suspicious = unsettled.filter((r) => r.suspicious)
        for (const run of suspicious) {
          const done = yield* Effect.result(watchRun({ runId: run.runId, workspaceId: run.workspaceId }))
          if (done._tag === "Failure") {
            failedRuns.push(run.runId)
            yield* Effect.logError("run watchdog: judging a run failed; the next sweep tries again", done.failure)
          } else {
            for (const action of done.success) actions.push({ runId: run.runId, action: action._tag })
          }
        }
        yield* liveness.dropSettledLeases
        return { unsettled: unsettled.length, judged: suspicious.length, actions, failedRuns }
      }).pipe(
        Effect.provideService(CommandMetadata, { actor: "watchdog" }),
        Effect.catchCause((cause) =>
          Effect.as(Effect.logError("run watchdog: the sweep failed; the next one tries again", cause), {
            unsettled: 0,
            judged: 0,
            actions: [],
            failedRuns: []
          })
        ),
        Effect.withSpan("RunWatchdog.sweep")
      )

      const endRun = Effect.fn("RunWatchdog.endRun")(
        function* (runId: string, reason: string) {
          const ended = yield* transactions.transaction(
            Effect.gen(function* () {
              const running = yield* liveness.runningItems(runId, true)
              const known = yield* store.lock(runId)
              if (known.state.status === "none") return yield* new RunNotFound({ runId })
              if (known.state.settled) return yield* new RunAlreadySettled({ runId })
              const run = yield* directory.find(runId)
              return yield* runs.execute({
                runId,
                workspaceId: run!.workspaceId,
                known,
                command: {
                  _tag: "EndRun",
                  message: reason,
                  running: runningBatches(running),
                  now: new Date().toISOString()
                }
              })
            })
          )
          const settled = ended.events.find((e) => e._tag === "CreditsSettled")
          return {
            runId,
            status: ended.state.status,
            captured: settled?._tag === "CreditsSettled" ? settled.captured : 0,
            released: settled?._tag === "CreditsSettled" ? settled.released : 0
          }
        },
        Effect.catchTags({
          StoreFailure: Effect.die,
          RunCommandRejected: Effect.die,
          WrongExpectedVersion: Effect.die,
          InsufficientCredits: Effect.die,
          CreditCommandRejected: Effect.die
        })
      )

      return RunWatchdog.of({ sweep, endRun, policy, intervalMs })
    })
  )
}
