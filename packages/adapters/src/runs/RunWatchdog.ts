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
import { SqlClient } from "effect/sql"
import { storableText } from "@enrich/domain/ClientText"
import { CommandMetadata } from "@enrich/domain/ports/EventStore"
import {
  holderOf,
  judgeRun,
  type LivenessPolicy,
  type RunningBatch,
  type WatchAction
} from "@enrich/domain/runs/Liveness"
import { abandonedItemFate, type RunCommand } from "@enrich/domain/runs/Run"
import { type KnownRun, RunStore } from "../postgres/RunStore.ts"
import { dropSettledLeases, LeaseConfig } from "../postgres/RunLeases.ts"
import { textArray } from "../postgres/TextArray.ts"

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

interface RunningRow {
  readonly id: string
  readonly lead_id: string
  readonly claim_token: string
  readonly ordinal: number
  readonly attempts: number
  readonly started_ago_ms: number
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
>()("@enrich/adapters/runs/RunWatchdog") {
  static readonly layer = Layer.effect(
    RunWatchdog,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const runs = yield* RunStore
      const { policy, intervalMs } = yield* WatchdogConfig

      /**
       * The run's running items; `lock`: taken (ordinal order, before the run's stream row, as a batch's record
       * takes them).
       */
      const runningItems = (runId: string, lock: boolean) =>
        sql<RunningRow>`
          SELECT id, lead_id, claim_token, ordinal, attempts,
            (extract(epoch FROM now() - coalesce(started_at, now())) * 1000)::float8 AS started_ago_ms
          FROM run_items WHERE run_id = ${runId} AND status = 'running'
          ORDER BY ordinal
          ${lock ? sql`FOR UPDATE` : sql``}`

      const byBatch = (rows: ReadonlyArray<RunningRow>): Array<RunningBatch> => {
        const batches = new Map<
          string,
          { batch: string; startedAgoMs: number; items: Array<{ ordinal: number; attempts: number }> }
        >()
        for (const row of rows) {
          const batch = batches.get(row.claim_token) ?? { batch: row.claim_token, startedAgoMs: 0, items: [] }
          batch.items.push({ ordinal: row.ordinal, attempts: row.attempts })
          batch.startedAgoMs = Math.max(batch.startedAgoMs, row.started_ago_ms)
          batches.set(row.claim_token, batch)
        }
        return [...batches.values()].map((b) => ({ ...b, holder: holderOf(b.batch) }))
      }

      /** Items that fail as the run goes on: their error, where their Lead still is (it keeps no data else). */
      const writeErrors = (
        runId: string,
        workspaceId: string,
        items: ReadonlyArray<{ readonly id: string; readonly leadId: string; readonly message: string }>,
        at: string
      ) =>
        items.length === 0
          ? Effect.void
          : sql`INSERT INTO item_results (item_id, workspace_id, run_id, lead_id, error, recorded_at)
              SELECT x.id, ${workspaceId}, ${runId}, x.lead_id, jsonb_build_object('message', x.message, 'details', null),
                ${at}::timestamptz
              FROM unnest(${textArray(items.map((i) => i.id))}::text[], ${textArray(items.map((i) => i.leadId))}::text[],
                ${textArray(items.map((i) => storableText(i.message, 2_000)))}::text[]) AS x(id, lead_id, message)
              WHERE x.lead_id IN (SELECT id FROM leads WHERE id = ANY(${textArray(items.map((i) => i.leadId))}::text[])
                AND workspace_id = ${workspaceId})
              ON CONFLICT (item_id) DO UPDATE SET result = NULL, error = excluded.error, provider_result = NULL,
                provider_result_is_result = false, recorded_at = excluded.recorded_at`.pipe(Effect.asVoid)

      /** Carries out one action on the run, from `known` (what this transaction holds of it). */
      const act = (
        run: { readonly runId: string; readonly workspaceId: string },
        known: KnownRun,
        action: WatchAction,
        running: ReadonlyArray<RunningRow>
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
                yield* writeErrors(
                  run.runId,
                  run.workspaceId,
                  running
                    .filter((r) => r.claim_token === action.batch.batch && failing.has(r.ordinal))
                    .map((r) => ({
                      id: r.id,
                      leadId: r.lead_id,
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

      const runningBatches = (running: ReadonlyArray<RunningRow>) =>
        byBatch(running).map((b) => ({ batch: b.batch, ordinals: b.items.map((i) => i.ordinal) }))

      /**
       * The run as the rules see it: its state, age, leases and running batches. `lock`: its running items and
       * its stream row are taken first (to act on it); without, it is only read (to see whether to act at all).
       */
      const watchOf = (runId: string, lock: boolean) =>
        Effect.gen(function* () {
          const running = yield* runningItems(runId, lock)
          const known = lock ? yield* runs.lock(runId) : { state: yield* runs.load(runId), version: 0 }
          const leases = yield* sql<{ holder: string; alive: boolean }>`
            SELECT holder, expires_at > now() AS alive FROM run_leases WHERE run_id = ${runId}`
          const [age] = yield* sql<{ age_ms: number }>`
            SELECT (extract(epoch FROM now() - created_at) * 1000)::float8 AS age_ms
            FROM enrichment_runs WHERE id = ${runId}`
          const actions =
            known.state.status === "none"
              ? []
              : judgeRun({ state: known.state, ageMs: age?.age_ms ?? 0, leases, running: byBatch(running) }, policy)
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
          return yield* sql.withTransaction(
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
        }).pipe(
          Effect.annotateLogs({ runId: run.runId }),
          Effect.retry({ while: (e) => e._tag === "SqlError" && e.isRetryable, times: 3 })
        )

      const sweep = Effect.gen(function* () {
        // every unsettled run (a partial index), with its lease counts: the ones some holder of which is gone,
        // or that no holder took for a lease already, are looked at closely
        const unsettled = yield* sql<{ id: string; workspace_id: string; suspicious: boolean }>`
          SELECT r.id, r.workspace_id,
            (l.total > l.alive OR (l.total = 0 AND now() - r.created_at > ${policy.leaseMs} * interval '1 millisecond'))
              AS suspicious
          FROM enrichment_runs r
          CROSS JOIN LATERAL (
            SELECT count(*)::int AS total, (count(*) FILTER (WHERE expires_at > now()))::int AS alive
            FROM run_leases WHERE run_id = r.id
          ) l
          WHERE r.settled_at IS NULL`
        const actions: Array<{ runId: string; action: WatchAction["_tag"] }> = []
        const failedRuns: Array<string> = []
        const suspicious = unsettled.filter((r) => r.suspicious)
        for (const row of suspicious) {
          const run = { runId: row.id, workspaceId: row.workspace_id }
          const done = yield* Effect.result(watchRun(run))
          if (done._tag === "Failure") {
            failedRuns.push(row.id)
            yield* Effect.logError("run watchdog: judging a run failed; the next sweep tries again", done.failure)
          } else {
            for (const action of done.success) actions.push({ runId: row.id, action: action._tag })
          }
        }
        yield* dropSettledLeases(sql)
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
          const ended = yield* sql.withTransaction(
            Effect.gen(function* () {
              const running = yield* runningItems(runId, true)
              const known = yield* runs.lock(runId)
              if (known.state.status === "none") return yield* new RunNotFound({ runId })
              if (known.state.settled) return yield* new RunAlreadySettled({ runId })
              const [row] = yield* sql<{
                workspace_id: string
              }>`SELECT workspace_id FROM enrichment_runs WHERE id = ${runId}`
              return yield* runs.execute({
                runId,
                workspaceId: row!.workspace_id,
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
          SqlError: Effect.die,
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
