/**
 * Audit tooling, directly on the database (`DATABASE_URL`; never an embedded one): the event
 * store is the record, so these commands read it through the EventStore port and fold it with
 * the deciders' own `evolve`, with no server in between.
 *
 * - `audit run ID`: the run's timeline (every event of its stream and every movement of its
 *   workspace's credit stream that names it: type, time, actor, request and correlation ids).
 * - `audit verify`: replays every stream and checks the invariants, then compares every
 *   projection table with a fresh rebuild made inside a transaction that is rolled back.
 * - `replay --rebuild`: rebuilds the projections for real, with progress on stderr (events
 *   replayed / total, rate). `migrate`: applies migrations.
 *
 * Every statement besides the event store's is the adapters' (AuditReadModel: the projection
 * rows, the unsettled runs, the rebuild comparison; Rebuild, Migrations): here are only the
 * checks and the reports.
 */
import { Effect } from "effect"
import { AuditReadModel, retryOnDeadlock } from "@enrich/adapters/postgres/AuditReadModel"
import { runMigrations } from "@enrich/adapters/postgres/Migrations"
import { projectionTables, RebuildProgress, rebuildReadModels } from "@enrich/adapters/postgres/Rebuild"
import * as CreditAccount from "@enrich/domain/credits/CreditAccount"
import { WatchdogConfig } from "@enrich/application/runs/RunWatchdog"
import { EventStore, type RecordedEvent } from "@enrich/domain/ports/EventStore"
import { isOverdue, type LivenessPolicy, settlementBoundMs } from "@enrich/domain/runs/Liveness"
import * as Run from "@enrich/domain/runs/Run"
import type { RunEvent } from "@enrich/domain/runs/RunEvents"
import { decodeCredit, decodeRun, withDatabase } from "./Database.ts"
import { CliFailure, errorBody, ExitCode, fail, Format, print, usage, writeErr, writeOut } from "./Output.ts"

// --- audit run ------------------------------------------------------------------------

const describeRunEvent = (event: RunEvent): Record<string, unknown> => {
  switch (event._tag) {
    case "RunRequested":
      return {
        enrichment: event.enrichment.id,
        mode: event.mode,
        scope: event.scope,
        leadCount: event.leadCount,
        reserved: event.cost.required,
        idempotencyKey: event.idempotency?.key ?? null
      }
    case "RunDispatched":
      return { engine: event.engine, triggerRunId: event.triggerRunId }
    case "ItemBatchStarted":
      return { batch: event.batch, items: event.ordinals.length }
    case "ItemBatchRecorded": {
      const count = (s: string) => event.outcomes.filter((o) => o.status === s).length
      return {
        batch: event.batch,
        completed: count("completed"),
        failed: count("failed"),
        skipped: count("skipped"),
        found: event.outcomes.filter((o) => o.found).length
      }
    }
    case "ItemBatchAbandoned":
      return { batch: event.batch, requeued: event.ordinals.length }
    case "RunFailed":
      return { message: event.message }
    case "CreditsSettled":
      return { captured: event.captured, released: event.released }
    default:
      return {}
  }
}

const line = (e: RecordedEvent, stream: string, details: Record<string, unknown>) => ({
  position: e.globalPosition.toString(),
  stream,
  version: e.streamVersion,
  type: e.type,
  at: e.createdAt,
  actor: e.metadata.actor ?? null,
  requestId: e.metadata.requestId ?? null,
  correlationId: e.metadata.correlationId ?? null,
  causationId: e.metadata.causationId ?? null,
  ...details
})

export const auditRun = Effect.fn(function* (id: string) {
  const report = yield* withDatabase(
    Effect.gen(function* () {
      const store = yield* EventStore
      const readModel = yield* AuditReadModel
      const recorded = yield* store.readStream(`run-${id}`)
      if (recorded.length === 0) return yield* fail(errorBody("NOT_FOUND", `no events for run ${id}`))
      const stream = yield* readModel.streamWorkspace(`run-${id}`)
      const workspaceId = stream!.workspaceId
      const timeline: Array<ReturnType<typeof line>> = []
      let state: Run.RunState = Run.initialState
      for (const e of recorded) {
        const event = yield* decodeRun(e)
        state = Run.evolve(state, event)
        timeline.push(line(e, "run", describeRunEvent(event)))
      }
      const credits = { held: 0, captured: 0, released: 0 }
      for (const e of yield* store.readStream(`credits-${workspaceId}`)) {
        const event = yield* decodeCredit(e)
        if (!("runId" in event) || event.runId !== id) continue
        if (event._tag === "CreditsHeld") credits.held += event.amount
        if (event._tag === "CreditsCaptured") credits.captured += event.amount
        if (event._tag === "CreditsReleased") credits.released += event.amount
        timeline.push(line(e, "credits", { amount: event.amount }))
      }
      timeline.sort((a, b) => (BigInt(a.position) < BigInt(b.position) ? -1 : 1))
      const cancel = timeline.find((t) => t.type === "RunCancelled")
      return {
        run: {
          id,
          workspaceId,
          status: state.status,
          ...(state.status === "none" ? {} : { leadCount: state.leadCount, counts: state.counts })
        },
        credits,
        cancelledBy: cancel === undefined ? null : { actor: cancel.actor, at: cancel.at, requestId: cancel.requestId },
        timeline
      }
    })
  )
  const format = yield* Format
  if (format !== "pretty") return yield* print(report)
  const rows = report.timeline.map((t) => {
    const {
      position: _p,
      stream: _s,
      version: _v,
      type,
      at,
      actor,
      requestId,
      correlationId: _c,
      causationId: _x,
      ...rest
    } = t
    return `${at}  ${type.padEnd(18)} ${String(actor ?? "-").padEnd(28)} ${String(requestId ?? "-").padEnd(36)} ${JSON.stringify(rest)}`
  })
  yield* writeOut(
    `run ${report.run.id} (workspace ${report.run.workspaceId}): ${report.run.status}\n` +
      `credits: ${report.credits.held} held, ${report.credits.captured} captured, ${report.credits.released} released\n` +
      (report.cancelledBy === null
        ? ""
        : `cancelled by ${report.cancelledBy.actor} at ${report.cancelledBy.at} (request ${report.cancelledBy.requestId})\n`) +
      `${"time".padEnd(24)}  ${"event".padEnd(18)} ${"actor".padEnd(28)} ${"request".padEnd(36)} details\n${rows.join("\n")}\n`
  )
})

// --- audit verify ----------------------------------------------------------------------

interface Violation {
  readonly check: string
  readonly stream?: string
  readonly message: string
}

/** An unsettled run the watchdog should have ended by now (`runs_settled_within_bound`). */
interface OverdueRun {
  readonly runId: string
  readonly status: string
  readonly ageSeconds: number
  /** how long ago its last lease expired; null when no worker ever held it */
  readonly lastLeaseExpiredSecondsAgo: number | null
}

const toSeconds = (ms: number) => Math.round(ms / 100) / 10

/**
 * Unsettled runs none of whose holders is alive, past the watchdog's bound (domain/runs/Liveness.ts
 * `isOverdue`): from `run_leases` (any alive? when did the last one expire?) and the run's age, on the
 * database's clock (AuditReadModel.unsettledRuns), with the settings of the watchdog (ENRICH_RUN_LEASE_SECONDS, …) of this environment.
 */
const overdueRuns = (watchdog: { readonly policy: LivenessPolicy; readonly intervalMs: number }) =>
  Effect.gen(function* () {
    const rows = yield* (yield* AuditReadModel).unsettledRuns
    const overdue: Array<OverdueRun> = []
    for (const row of rows) {
      const lastLeaseExpiredAgoMs = row.lastExpiredAgoMs ?? undefined
      const late = isOverdue(
        { settled: false, ageMs: row.ageMs, lastLeaseExpiredAgoMs, anyLeaseAlive: row.anyAlive },
        watchdog.policy,
        watchdog.intervalMs
      )
      if (!late) continue
      overdue.push({
        runId: row.id,
        status: row.status,
        ageSeconds: toSeconds(row.ageMs),
        lastLeaseExpiredSecondsAgo: lastLeaseExpiredAgoMs === undefined ? null : toSeconds(lastLeaseExpiredAgoMs)
      })
    }
    return { unsettled: rows.length, overdue }
  })

const verify = Effect.fn(function* (watchdog: { readonly policy: LivenessPolicy; readonly intervalMs: number }) {
  const readModel = yield* AuditReadModel
  const store = yield* EventStore
  const violations: Array<Violation> = []
  const flag = (check: string, stream: string, message: string) => violations.push({ check, stream, message })

  const streams = yield* readModel.streams
  /** what each run's stream says about credits, to match against the credit streams */
  const runCredits = new Map<string, { reserved: number; captured: number; released: number; settled: boolean }>()
  let events = 0
  let runs = 0
  let accounts = 0

  const checkVersions = (stream: string, recorded: ReadonlyArray<RecordedEvent>, version: number) => {
    recorded.forEach((e, i) => {
      if (e.streamVersion !== i + 1)
        flag("stream_contiguous", stream, `version ${i + 1} is missing (next stored: ${e.streamVersion})`)
    })
    if (recorded.length !== version) {
      flag("stream_contiguous", stream, `the stream is at version ${version} but ${recorded.length} events are stored`)
    }
  }

  for (const s of streams.filter((s) => s.streamType === "run")) {
    runs++
    const runId = s.streamId.replace(/^run-/, "")
    const recorded = yield* store.readStream(s.streamId)
    events += recorded.length
    checkVersions(s.streamId, recorded, s.version)
    let state: Run.RunState = Run.initialState
    const started = new Set<number>()
    const recordedOrdinals = new Set<number>()
    let settlements = 0
    let settledCaptured = 0
    let settledReleased = 0
    for (const e of recorded) {
      const event = yield* decodeRun(e)
      if (state.status === "none" && event._tag !== "RunRequested") {
        flag("run_starts_with_request", s.streamId, `event ${e.streamVersion} (${e.type}) comes before RunRequested`)
      }
      if (event._tag === "ItemBatchStarted") {
        for (const o of event.ordinals) {
          if (started.has(o)) flag("item_started_once", s.streamId, `item ${o} is claimed twice`)
          started.add(o)
        }
      }
      if (event._tag === "ItemBatchRecorded") {
        for (const o of event.outcomes) {
          if (recordedOrdinals.has(o.ordinal))
            flag("item_terminal_once", s.streamId, `item ${o.ordinal} is recorded twice`)
          if (!started.has(o.ordinal))
            flag("item_started_before_recorded", s.streamId, `item ${o.ordinal} is recorded but was never claimed`)
          recordedOrdinals.add(o.ordinal)
        }
      }
      if (event._tag === "CreditsSettled") {
        settlements++
        settledCaptured += event.captured
        settledReleased += event.released
      }
      state = Run.evolve(state, event)
    }
    if (state.status === "none") continue
    const c = state.counts
    if (Object.values(c).some((n) => n < 0)) flag("counts_not_negative", s.streamId, `counts ${JSON.stringify(c)}`)
    if (c.pending + c.running + c.completed + c.skipped + c.failed !== state.leadCount) {
      flag("counts_sum_to_scope", s.streamId, `counts ${JSON.stringify(c)} do not add up to ${state.leadCount} items`)
    }
    if (settlements > 1) flag("settled_once", s.streamId, `${settlements} CreditsSettled events`)
    if (state.settled) {
      if (settledCaptured + settledReleased !== state.reserved) {
        flag(
          "reserved_equals_captured_plus_released",
          s.streamId,
          `reserved ${state.reserved} ≠ captured ${settledCaptured} + released ${settledReleased}`
        )
      }
      if (!Run.isTerminal(state.status)) flag("settled_runs_are_terminal", s.streamId, `settled but ${state.status}`)
      if (c.running !== 0 || c.pending !== 0) flag("settled_runs_have_no_open_items", s.streamId, JSON.stringify(c))
    }
    runCredits.set(runId, {
      reserved: state.reserved,
      captured: settledCaptured,
      released: settledReleased,
      settled: state.settled
    })
    const row = yield* readModel.runProjection(runId)
    if (row === undefined) {
      flag("projection_matches_events", s.streamId, "no enrichment_runs row")
      continue
    }
    const expected = {
      status: state.status,
      pending: c.pending,
      running: c.running,
      completed: c.completed,
      skipped: c.skipped,
      failed: c.failed,
      reserved: state.reserved,
      captured: settledCaptured,
      released: settledReleased
    }
    const actual = {
      status: row.status,
      pending: row.countPending,
      running: row.countRunning,
      completed: row.countCompleted,
      skipped: row.countSkipped,
      failed: row.countFailed,
      reserved: row.reserved,
      captured: row.captured,
      released: row.released
    }
    for (const key of Object.keys(expected) as Array<keyof typeof expected>) {
      if (expected[key] !== actual[key]) {
        flag(
          "projection_matches_events",
          s.streamId,
          `enrichment_runs.${key} is ${actual[key]}, the events say ${expected[key]}`
        )
      }
    }
    const items = yield* readModel.runItemCount(runId)
    if (items !== state.leadCount) {
      flag("projection_matches_events", s.streamId, `${items} run_items rows for ${state.leadCount} items`)
    }
  }

  for (const s of streams.filter((s) => s.streamType === "credits")) {
    accounts++
    const recorded = yield* store.readStream(s.streamId)
    events += recorded.length
    checkVersions(s.streamId, recorded, s.version)
    let state = CreditAccount.initialState
    const perRun = new Map<string, { held: number; captured: number; released: number }>()
    for (const e of recorded) {
      const event = yield* decodeCredit(e)
      state = CreditAccount.evolve(state, event)
      if ("runId" in event) {
        const m = perRun.get(event.runId) ?? { held: 0, captured: 0, released: 0 }
        if (event._tag === "CreditsHeld") m.held += event.amount
        if (event._tag === "CreditsCaptured") m.captured += event.amount
        if (event._tag === "CreditsReleased") m.released += event.amount
        perRun.set(event.runId, m)
      }
      if (CreditAccount.balance(state) < 0 || state.held < 0) {
        flag(
          "credits_never_negative",
          s.streamId,
          `after event ${e.streamVersion}: ${JSON.stringify({ ...state, holds: undefined })}`
        )
      }
    }
    for (const [runId, m] of perRun) {
      const run = runCredits.get(runId)
      if (run === undefined) {
        flag("credits_match_runs", s.streamId, `credit movements for run ${runId}, which has no events`)
        continue
      }
      if (m.held !== run.reserved) {
        flag("credits_match_runs", s.streamId, `run ${runId}: ${m.held} held, the run reserved ${run.reserved}`)
      }
      if (run.settled && (m.captured !== run.captured || m.released !== run.released)) {
        flag(
          "credits_match_runs",
          s.streamId,
          `run ${runId}: captured ${m.captured} / released ${m.released} in credits, ${run.captured} / ${run.released} in the run`
        )
      }
      if (run.settled && m.held !== m.captured + m.released) {
        flag(
          "reserved_equals_captured_plus_released",
          s.streamId,
          `run ${runId}: held ${m.held} ≠ captured ${m.captured} + released ${m.released}`
        )
      }
    }
    const projected = yield* readModel.creditAccount(s.workspaceId)
    const replayed = { granted: state.granted, held: state.held, captured: state.captured }
    if (projected === undefined || JSON.stringify(projected) !== JSON.stringify(replayed)) {
      flag(
        "credits_conserved",
        s.streamId,
        `credit_accounts says ${JSON.stringify(projected ?? null)}, the events say ${JSON.stringify(replayed)} (balance ${CreditAccount.balance(state)})`
      )
    }
  }

  // events whose stream has no row (no foreign key says so since migration 0010: the append, their only writer,
  // inserts them under the stream row it writes in the same statement; DECISIONS.md 42)
  const orphans = yield* readModel.orphanEvents
  for (const o of orphans) {
    flag("events_have_a_stream", o.streamId, `${o.n} event(s) of a stream that has no event_streams row`)
  }

  // runs nothing is ending: no live holder, and the watchdog's bound has passed since the last one went
  const bound = settlementBoundMs(watchdog.policy, watchdog.intervalMs)
  const liveness = yield* overdueRuns(watchdog)
  for (const run of liveness.overdue) {
    flag(
      "runs_settled_within_bound",
      `run-${run.runId}`,
      `run ${run.runId} (${run.status}) is not settled ${run.ageSeconds} s after its request, ${
        run.lastLeaseExpiredSecondsAgo === null
          ? "and no worker ever held it"
          : `and its last lease expired ${run.lastLeaseExpiredSecondsAgo} s ago`
      }: the watchdog ends such a run within ${toSeconds(bound)} s (enrich run fail ends it now)`
    )
  }

  const rebuild = yield* readModel.compareWithRebuild
  if (rebuild.failed !== undefined) violations.push({ check: "projections_equal_rebuild", message: rebuild.failed })
  for (const d of rebuild.diffs) {
    violations.push({
      check: "projections_equal_rebuild",
      message: `${d.table}: ${d.onlyProjected.length} row(s) only in the projection, ${d.onlyRebuilt.length} only in a fresh rebuild (${d.projected} vs ${d.rebuilt} rows)`
    })
  }
  return {
    ok: violations.length === 0,
    checked: {
      runs,
      creditAccounts: accounts,
      events,
      replayedByRebuild: rebuild.replayed,
      unsettledRuns: liveness.unsettled,
      settlementBoundSeconds: toSeconds(bound)
    },
    violations,
    tableDiffs: rebuild.diffs,
    overdueRuns: liveness.overdue
  }
})

export const auditVerify = Effect.gen(function* () {
  const watchdog = yield* WatchdogConfig.pipe(
    Effect.catch((error) => usage(`the watchdog's settings are invalid: ${error.message}`))
  )
  const report = yield* withDatabase(verify(watchdog))
  if (report.ok) return yield* print(report)
  return yield* new CliFailure({
    body: errorBody("AUDIT_FAILED", `${report.violations.length} violation(s): ${report.violations[0]!.message}`, {
      details: report
    }),
    exitCode: ExitCode.auditFailed
  })
})

export const replay = Effect.fn(function* (rebuild: boolean) {
  if (!rebuild)
    return yield* fail(errorBody("VALIDATION_FAILED", "replay needs --rebuild (it rewrites the projections)"))
  const started = Date.now()
  const outcome = yield* withDatabase(
    Effect.gen(function* () {
      // the total is counted before the rebuild's lock: appends in between make it a slight underestimate
      const total = yield* (yield* AuditReadModel).eventCount
      yield* writeErr(`rebuilding the projections from ${total} events…\n`)
      const tty = process.stderr.isTTY === true
      let shown = started
      const line = (replayed: number) => {
        const seconds = Math.max((Date.now() - started) / 1000, 0.001)
        const percent = total === 0 ? 100 : Math.min(100, Math.floor((replayed / total) * 100))
        return `replayed ${replayed}/${Math.max(total, replayed)} events (${percent}%) · ${Math.round(replayed / seconds)} events/s`
      }
      const progress = ({ replayed }: { readonly replayed: number }) =>
        Effect.sync(() => {
          // at most one line a second (on a terminal: the same line, redrawn)
          if (Date.now() - shown < 1_000) return
          shown = Date.now()
          process.stderr.write(tty ? `\r\x1b[2K${line(replayed)}` : `${line(replayed)}\n`)
        })
      const rebuilt = yield* rebuildReadModels.pipe(Effect.provideService(RebuildProgress, progress), retryOnDeadlock)
      yield* writeErr(`${tty ? "\r\x1b[2K" : ""}${line(rebuilt.replayed)}\n`)
      return rebuilt
    })
  )
  yield* print({ rebuilt: projectionTables, replayedEvents: outcome.replayed, seconds: (Date.now() - started) / 1000 })
})

export const migrate = Effect.gen(function* () {
  const applied = yield* withDatabase(runMigrations)
  yield* print({ applied: applied.map(([id, name]) => ({ id, name })) })
})
