/**
 * The rebuild's projection of the event log, set-based: the rows the inline projections
 * (`RunProjection`, `CreditProjection`) write event by event, written with a few statements
 * per page of events instead of one or more per event (a page of 1,000 events was 1,000–3,000
 * round trips, now about ten), and each item row written once instead of once per event.
 *
 * How it stays identical to the inline projections, event for event:
 * - Runs (`enrichment_runs`) are folded by the run's decider (domain/runs/Run.ts `evolve`, the one statement
 *   of how an event moves a run) and their rows written from that state by the same column functions as the
 *   inline projection (RunRow.ts), once per page: a new run inserted, an older one updated.
 * - Credit accounts and holds are folded per row in memory, from the row's state before the page (read once
 *   per page for the rows the page only updates), then written once per page. Every guard of the inline
 *   statements ("the row exists") is evaluated on the folded state, in event order.
 * - Items (`run_items`) of a run requested during the rebuild (every run: the rebuild starts
 *   from empty tables) start `pending`, so their rows are folded in memory exactly, across
 *   pages, and inserted from the frozen scope once, with their final state: at the end of the
 *   page the run completes, is cancelled or fails in, when a memory budget is exceeded, or
 *   after the last page ("deferred" runs).
 * - Items of runs already written are never read into memory: each item a page names is
 *   folded into what its events do — from `pending`, its first `ItemBatchStarted` then the first
 *   `ItemBatchRecorded` after it; from `running` (its first event is a record), that record — and one
 *   UPDATE per run writes the items whose batch ended, exactly what the statements one by one would
 *   have done (a running item's row stays `pending` until then: ItemMoves.ts `storedStatus`; a
 *   terminal item is left alone by both). A cancel or a failure skips the run's pending items that
 *   are in no open batch then (the open batches of every run are followed across pages), after its
 *   batches that precede it; a batch event after it in the same page flushes first.
 * - Values reach PostgreSQL as the inline statements send them (JSON text cast to jsonb,
 *   timestamps as the event's text), so the rows are byte-identical.
 *
 * - Batches (`run_batches`) are inserted per page, as the inline projection inserts them, and
 *   the ones the page records or abandons end.
 *
 * Keep it in step with the inline projections: a change to what an event writes there is a
 * change here (test/postgres/RebuildBatch.test.ts compares the two on random histories, and
 * the rebuild and audit tests compare a rebuild with the rows the service wrote).
 */
import { Effect } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import type { CreditEvent } from "@enrich/domain/credits/CreditAccount"
import { type ActiveRunState, evolve, initialState, type RunState } from "@enrich/domain/runs/Run"
import type { RunEvent } from "@enrich/domain/runs/RunEvents"
import {
  type ItemMove,
  itemMovesOf,
  itemTransitions,
  requestedItemStatus,
  storedStatus
} from "@enrich/domain/runs/ItemMoves"
import { itemIdSql } from "../ItemIdSql.ts"
import { itemMoveRows } from "./RunProjection.ts"
import { requestColumns, stateColumns } from "./RunRow.ts"
import { freshSkippedReason } from "@enrich/domain/runs/Freshness"

type RunRequested = Extract<RunEvent, { _tag: "RunRequested" }>

/** One decoded event of the page, with what its stream says. */
export type PageEvent =
  | { readonly stream: "run"; readonly runId: string; readonly workspaceId: string; readonly event: RunEvent }
  | {
      readonly stream: "credits"
      readonly workspaceId: string
      readonly eventId: string
      readonly event: CreditEvent
    }

type Sql = SqlClient.SqlClient

const json = (value: unknown) => JSON.stringify(value)

export interface PageProjector {
  /** Projects a page of events (in commit order) on the caller's transaction. */
  readonly page: (events: ReadonlyArray<PageEvent>) => Effect.Effect<void, SqlError.SqlError>
  /** Writes what the projector still holds (items of runs not written yet): once, after the last page. */
  readonly finish: Effect.Effect<void, SqlError.SqlError>
}

/** A projector for one rebuild: it keeps item state across pages, so one per transaction. */
/**
 * `run_batches`: a row per `ItemBatchStarted`, as the inline projection inserts it (the first
 * event of a batch id wins), one statement per page; then the batches the page records or
 * abandons end (nothing in the rebuild reads `ended` before: the items' statements follow the
 * open batches in memory, `OpenBatches`).
 */
const projectBatches = (sql: Sql, events: ReadonlyArray<Extract<PageEvent, { stream: "run" }>>) => {
  const rows = new Map<
    string,
    { batch: string; run_id: string; ordinals: string; last: number; at: string; ended: boolean }
  >()
  /** batches the page ends that it did not start: rows of earlier pages, ended before this page's are inserted */
  const endedBefore = new Set<string>()
  for (const e of events) {
    if (e.event._tag === "ItemBatchRecorded" || e.event._tag === "ItemBatchAbandoned") {
      const row = rows.get(e.event.batch)
      if (row === undefined) endedBefore.add(e.event.batch)
      else row.ended = true
      continue
    }
    if (e.event._tag !== "ItemBatchStarted" || rows.has(e.event.batch)) continue
    const ordinals = e.event.ordinals.map((o) => Math.trunc(o))
    rows.set(e.event.batch, {
      batch: e.event.batch,
      run_id: e.runId,
      ordinals: `{${ordinals.join(",")}}`,
      last: Math.max(0, ...ordinals),
      at: e.event.startedAt,
      ended: false
    })
  }
  return Effect.gen(function* () {
    if (endedBefore.size > 0) {
      yield* sql`UPDATE run_batches SET ended = true WHERE batch = ANY(${[...endedBefore]}::text[]) AND NOT ended`
    }
    if (rows.size > 0) {
      yield* sql`INSERT INTO run_batches (batch, run_id, ordinals, last_ordinal, started_at, ended)
        SELECT x.batch, x.run_id, x.ordinals::int[], x.last, x.at::timestamptz, x.ended
        FROM jsonb_to_recordset(${json([...rows.values()])}::jsonb)
          AS x(batch text, run_id text, ordinals text, last int, at text, ended boolean)
        ON CONFLICT (batch) DO NOTHING`
      // a batch id started on an earlier page too keeps that row (the first start wins), and ends here
      const endedHere = [...rows.values()].filter((row) => row.ended).map((row) => row.batch)
      if (endedHere.length > 0) {
        yield* sql`UPDATE run_batches SET ended = true WHERE batch = ANY(${endedHere}::text[]) AND NOT ended`
      }
    }
  })
}

export const makePageProjector = (sql: Sql, budgets: ItemBudgets = {}): PageProjector => {
  const runs = new Map<string, RunState>()
  const items = makeItemProjection(sql, {
    maxDeferredItems: budgets.maxDeferredItems ?? 200_000,
    maxIdleRuns: budgets.maxIdleRuns ?? 10_000
  })
  return {
    page: (events) =>
      Effect.gen(function* () {
        const runEvents: Array<Extract<PageEvent, { stream: "run" }>> = []
        const creditEvents: Array<Extract<PageEvent, { stream: "credits" }>> = []
        for (const e of events) {
          if (e.stream === "run") runEvents.push(e)
          else creditEvents.push(e)
        }
        if (runEvents.length > 0) {
          yield* projectRunRows(sql, runs, runEvents)
          yield* projectBatches(sql, runEvents)
          yield* items.page(runEvents)
        }
        if (creditEvents.length > 0) yield* projectCredits(sql, creditEvents)
      }),
    finish: items.finish
  }
}

// --- enrichment_runs and idempotency_keys -------------------------------------------------------

/**
 * The run rows of a page, from the decider's folded state (RunRow.ts, the columns the inline projection writes):
 * `runs` holds every run of the rebuild as `evolve` leaves it (the rebuild reads the log from its start, so a
 * run's earlier events were folded by an earlier page), ~1 kB a run. A run requested in the page is inserted with
 * its state at the page's end; an older one the page moved is updated with it.
 */
const projectRunRows = (
  sql: Sql,
  runs: Map<string, RunState>,
  events: ReadonlyArray<Extract<PageEvent, { stream: "run" }>>
) =>
  Effect.gen(function* () {
    const created = new Map<string, { readonly workspaceId: string; readonly event: RunRequested }>()
    const moved = new Set<string>()
    const keys = new Map<
      string,
      { workspace_id: string; key: string; fingerprint: string; run_id: string; at: string }
    >()
    for (const { runId, workspaceId, event } of events) {
      const before = runs.get(runId) ?? initialState
      if (event._tag === "RunRequested") {
        if (before.status !== "none") return yield* Effect.die(new Error(`run ${runId} is requested twice`))
        created.set(runId, { workspaceId, event })
        // ON CONFLICT DO NOTHING: the first of a page wins here, the database keeps an earlier page's
        if (event.idempotency !== null) {
          const { key, fingerprint } = event.idempotency
          const id = `${workspaceId}\u0000${key}`
          if (!keys.has(id)) {
            keys.set(id, { workspace_id: workspaceId, key, fingerprint, run_id: runId, at: event.requestedAt })
          }
        }
      }
      const after = evolve(before, event)
      if (after === before) continue
      runs.set(runId, after)
      if (!created.has(runId)) moved.add(runId)
    }

    const folded = (runId: string) => runs.get(runId) as ActiveRunState
    if (created.size > 0) {
      const rows = [...created].map(([runId, { workspaceId, event }]) => ({
        ...requestColumns(runId, workspaceId, event),
        ...stateColumns(folded(runId))
      }))
      yield* sql`INSERT INTO enrichment_runs (id, workspace_id, status, mode, enrichment, scope, resolved_count,
          count_pending, count_running, count_completed, count_skipped, count_failed, output, cost_preview, reserved,
          captured, released, correlation_id, trigger_run_id, dispatch_metadata, error, started_at, completed_at,
          cancelled_at, settled_at, input, created_at, updated_at, retry_of)
        SELECT x.id, x.workspace_id, x.status, x.mode, x.enrichment::jsonb, x.scope::jsonb, x.resolved_count,
          x.count_pending, x.count_running, x.count_completed, x.count_skipped, x.count_failed, x.output::jsonb,
          x.cost_preview::jsonb, x.reserved, x.captured, x.released, x.correlation_id, x.trigger_run_id,
          x.dispatch_metadata::jsonb || coalesce(x.dispatch::jsonb, '{}'::jsonb), x.error::jsonb,
          x.started_at::timestamptz, x.completed_at::timestamptz, x.cancelled_at::timestamptz,
          x.settled_at::timestamptz, x.input::jsonb, x.created_at::timestamptz, x.updated_at::timestamptz, x.retry_of
        FROM json_to_recordset(${json(rows)}::json) AS x(id text, workspace_id text, status text, mode text,
          enrichment text, scope text, resolved_count int, count_pending int, count_running int, count_completed int,
          count_skipped int, count_failed int, output text, cost_preview text, reserved bigint, captured bigint,
          released bigint, correlation_id text, trigger_run_id text, dispatch_metadata text, dispatch text,
          error text, started_at text, completed_at text, cancelled_at text, settled_at text, input text,
          created_at text, updated_at text, retry_of text)`
    }

    if (moved.size > 0) {
      const rows = [...moved].map((runId) => ({ id: runId, ...stateColumns(folded(runId)) }))
      yield* sql`UPDATE enrichment_runs r SET status = x.status, count_pending = x.count_pending,
          count_running = x.count_running, count_completed = x.count_completed, count_skipped = x.count_skipped,
          count_failed = x.count_failed, captured = x.captured, released = x.released,
          trigger_run_id = x.trigger_run_id,
          dispatch_metadata = r.dispatch_metadata || coalesce(x.dispatch::jsonb, '{}'::jsonb),
          error = x.error::jsonb, started_at = x.started_at::timestamptz, completed_at = x.completed_at::timestamptz,
          cancelled_at = x.cancelled_at::timestamptz, settled_at = x.settled_at::timestamptz,
          updated_at = x.updated_at::timestamptz
        FROM json_to_recordset(${json(rows)}::json) AS x(id text, status text, count_pending int, count_running int,
          count_completed int, count_skipped int, count_failed int, captured bigint, released bigint,
          trigger_run_id text, dispatch text, error text, started_at text, completed_at text, cancelled_at text,
          settled_at text, updated_at text)
        WHERE r.id = x.id`
    }

    if (keys.size > 0) {
      yield* sql`INSERT INTO idempotency_keys (workspace_id, key, fingerprint, run_id, created_at)
        SELECT x.workspace_id, x.key, x.fingerprint, x.run_id, x.at::timestamptz
        FROM json_to_recordset(${json([...keys.values()])}::json)
          AS x(workspace_id text, key text, fingerprint text, run_id text, at text)
        ON CONFLICT DO NOTHING`
    }
  })

// --- run_items -----------------------------------------------------------------------------------

/** A run_items row's columns that events move, as the inline statements leave them (a running item's: pending). */
interface ItemRow {
  status: string
  skippedReason: string | null
  attempts: number
  claimToken: string | null
  startedAt: string | null
  completedAt: string | null
  updatedAt: string
}

/**
 * A run requested during the rebuild whose items are not written yet: its items start
 * pending at `requestedAt`, so their rows are folded here, exactly, and inserted once
 * with their final state (a row written once instead of inserted then updated per batch).
 */
interface DeferredRun {
  readonly requestedAt: string
  /** the first ordinal skipped for a fresh result at the request (domain/runs/Freshness.ts); past the last if none */
  readonly freshFrom: number
  /** the first cancel or failure: items pending then (and never touched) are skipped by it */
  stop: { readonly reason: string; readonly at: string } | undefined
  /** the items some event moved; the others are as the run was requested (or stopped) */
  readonly items: Map<number, ItemRow>
  /** completed, cancelled or failed: written at the end of the page */
  ended: boolean
}

/** An item as its run's request left it (skipped for a fresh result from `freshFrom` on), or its stop. */
const untouched = (run: DeferredRun, ordinal?: number): ItemRow =>
  ordinal !== undefined && ordinal >= run.freshFrom
    ? {
        status: itemTransitions.skipPending.to,
        skippedReason: freshSkippedReason,
        attempts: 0,
        claimToken: null,
        startedAt: null,
        completedAt: run.requestedAt,
        updatedAt: run.requestedAt
      }
    : run.stop === undefined
      ? {
          status: requestedItemStatus,
          skippedReason: null,
          attempts: 0,
          claimToken: null,
          startedAt: null,
          completedAt: null,
          updatedAt: run.requestedAt
        }
      : {
          status: itemTransitions.skipPending.to,
          skippedReason: run.stop.reason,
          attempts: 0,
          claimToken: null,
          startedAt: null,
          completedAt: run.stop.at,
          updatedAt: run.stop.at
        }

/**
 * The batches the rebuild has seen, as `run_batches` holds them when each event is projected inline: a batch's
 * start (the first start of its id wins) and, per run, the batches open now (started, not recorded or abandoned)
 * with their ordinals. A running item is a pending row in an open batch (ItemMoves.ts `storedStatus`).
 */
class Batches {
  readonly startedAt = new Map<string, string>()
  readonly open = new Map<string, Map<string, ReadonlySet<number>>>()

  /** what `event` does to the batches: after its items moved (they see the batches as they were before it) */
  follow(runId: string, event: RunEvent): void {
    if (event._tag === "ItemBatchStarted") {
      if (this.startedAt.has(event.batch)) return
      this.startedAt.set(event.batch, event.startedAt)
      const batches = this.open.get(runId) ?? new Map<string, ReadonlySet<number>>()
      this.open.set(runId, batches)
      batches.set(event.batch, new Set(event.ordinals))
    } else if (event._tag === "ItemBatchRecorded" || event._tag === "ItemBatchAbandoned") {
      const batches = this.open.get(runId)
      batches?.delete(event.batch)
      if (batches?.size === 0) this.open.delete(runId)
    }
  }

  isRunning(runId: string, ordinal: number): boolean {
    for (const ordinals of this.open.get(runId)?.values() ?? []) if (ordinals.has(ordinal)) return true
    return false
  }

  running(runId: string): Array<number> {
    const all = new Set<number>()
    for (const ordinals of this.open.get(runId)?.values() ?? []) for (const o of ordinals) all.add(o)
    return [...all]
  }
}

/**
 * A move (domain/runs/ItemMoves.ts) applied to an item row in memory, as its inline statement (RunProjection.ts
 * `itemMoveRows`) applies it: a Finish or a Requeue to a running item (pending, in an open batch) with the
 * attempt its claim made, a SkipPending to a pending item in no open batch.
 */
const applyMove = (row: ItemRow, move: ItemMove, running: boolean, batchStart: string | null): boolean => {
  if (row.status !== requestedItemStatus) return false
  switch (move._tag) {
    case "Claim":
      return false
    case "Finish":
      if (!running) return false
      row.status = move.to
      row.skippedReason = move.skippedReason
      row.completedAt = move.at
      break
    case "Requeue":
      if (!running) return false
      break
    case "SkipPending":
      if (running) return false
      row.status = itemTransitions.skipPending.to
      row.skippedReason = move.skippedReason
      row.completedAt = move.at
      row.updatedAt = move.at
      return true
  }
  row.attempts += 1
  row.claimToken = move.batch
  row.startedAt = batchStart
  row.updatedAt = move.at
  return true
}

/** A deferred run's items moved by one event, as the inline statements move them. */
const evolveDeferred = (run: DeferredRun, runId: string, batches: Batches, event: RunEvent): number => {
  const before = run.items.size
  if (event._tag === "RunCompleted" || event._tag === "RunCancelled" || event._tag === "RunFailed") run.ended = true
  for (const move of itemMovesOf(event)) {
    if (move._tag === "Claim") continue
    if (move._tag === "SkipPending") {
      // the first stop skips the items never touched (`untouched`) but the running ones: those are kept as they
      // are first; every stop, as the inline statement does, skips the folded items pending then
      if (run.stop === undefined) {
        for (const ordinal of batches.running(runId)) {
          if (!run.items.has(ordinal)) run.items.set(ordinal, untouched(run, ordinal))
        }
        run.stop = { reason: move.skippedReason, at: move.at }
      }
      for (const [ordinal, row] of run.items) applyMove(row, move, batches.isRunning(runId, ordinal), null)
      continue
    }
    const batchStart = batches.startedAt.get(move.batch) ?? null
    for (const ordinal of move.ordinals) {
      const row = run.items.get(ordinal) ?? untouched(run, ordinal)
      if (applyMove(row, move, batches.isRunning(runId, ordinal), batchStart)) run.items.set(ordinal, row)
    }
  }
  return run.items.size - before
}

/** Budgets of what the rebuild keeps in memory before writing items (tests make them tiny). */
export interface ItemBudgets {
  /** item rows folded in memory across deferred runs (default 200,000: some tens of MB) */
  readonly maxDeferredItems?: number
  /** deferred runs no item event touched yet, e.g. runs that stay pending (default 10,000) */
  readonly maxIdleRuns?: number
}

/** The batches of one written run in a segment, folded per item: each item's first outcome while it ran. */
interface RunItems {
  /** ordinal → 1-based index into `outcomes` */
  readonly items: Map<number, number>
  /** one row per (event, status, reason): the outcomes of an event share their time and batch */
  readonly outcomes: Array<{
    readonly status: string
    readonly reason: string
    readonly at: string
    readonly batch: string
  }>
}

/**
 * Item statements for runs whose items are written already, in segments: a
 * segment's statements run as UPDATE (the folded batches, per run), then UPDATE
 * (pending items of cancelled or failed runs); a batch event after its run's stop
 * in the segment closes the segment first.
 */
class ItemSegment {
  readonly runs = new Map<string, RunItems>()
  /** a run's first stop in the segment, with the ordinals running then (in its open batches: they finish) */
  readonly stops = new Map<
    string,
    { readonly reason: string; readonly at: string; readonly running: ReadonlyArray<number> }
  >()

  get empty(): boolean {
    return this.runs.size === 0 && this.stops.size === 0
  }

  run(runId: string): RunItems {
    let run = this.runs.get(runId)
    if (run === undefined) {
      run = { items: new Map(), outcomes: [] }
      this.runs.set(runId, run)
    }
    return run
  }
}

/**
 * The run_items side of the rebuild, across pages: runs requested during the rebuild
 * are deferred (folded in memory, inserted once: at the end of the page they end in,
 * when a budget is exceeded, or at the end); events of runs already written are folded
 * per page and applied with one UPDATE per run.
 */
const makeItemProjection = (sql: Sql, budgets: Required<ItemBudgets>) => {
  const deferred = new Map<string, DeferredRun>()
  let deferredItems = 0
  const batches = new Batches()

  /** Inserts the deferred runs that ended, or more past a budget (`all`: every one, after the last page). */
  const writeDeferred = (all: boolean) =>
    Effect.suspend(() => {
      const isIdle = (run: DeferredRun) => run.items.size === 0 && !run.ended
      let idle = 0
      for (const run of deferred.values()) if (isIdle(run)) idle += 1
      const overItems = deferredItems > budgets.maxDeferredItems
      const overIdle = idle > budgets.maxIdleRuns
      const due: Array<[string, DeferredRun]> = []
      for (const [runId, run] of deferred) {
        if (all || run.ended || (isIdle(run) ? overIdle : overItems)) due.push([runId, run])
      }
      if (due.length === 0) return Effect.void
      for (const [runId, run] of due) {
        deferred.delete(runId)
        deferredItems -= run.items.size
      }
      return insertItems(sql, due)
    })

  const page = (events: ReadonlyArray<Extract<PageEvent, { stream: "run" }>>) =>
    Effect.gen(function* () {
      let segment = new ItemSegment()
      /** a batch event after its run's stop in the segment: the segment's statements first */
      const afterStop = (runId: string) =>
        Effect.suspend(() => {
          if (!segment.stops.has(runId)) return Effect.void
          const closed = segment
          segment = new ItemSegment()
          return updateItems(sql, closed)
        })
      for (const { runId, event } of events) {
        yield* projectItems(runId, event)
        batches.follow(runId, event)
      }
      yield* updateItems(sql, segment)
      yield* writeDeferred(false)

      function projectItems(runId: string, event: RunEvent) {
        return Effect.gen(function* () {
          if (event._tag === "RunRequested") {
            // a run requested twice fails in projectRunRows
            deferred.set(runId, {
              requestedAt: event.requestedAt,
              freshFrom: event.leadCount - (event.freshness?.skipped ?? 0) + 1,
              stop: undefined,
              items: new Map(),
              ended: false
            })
            return
          }
          const run = deferred.get(runId)
          if (run !== undefined) {
            deferredItems += evolveDeferred(run, runId, batches, event)
            return
          }
          for (const move of itemMovesOf(event)) {
            switch (move._tag) {
              case "Claim":
                break
              case "Finish": {
                yield* afterStop(runId)
                const items = segment.run(runId)
                const ref = items.outcomes.push({
                  status: move.to,
                  reason: move.skippedReason ?? "",
                  at: move.at,
                  batch: move.batch
                })
                for (const ordinal of move.ordinals) {
                  if (!items.items.has(ordinal) && batches.isRunning(runId, ordinal)) items.items.set(ordinal, ref)
                }
                break
              }
              case "Requeue": {
                // rare: the segment so far is written, then this move, by the inline statement, on the items
                // running now (the rebuild's `run_batches` says which batches end on this page, not when)
                const closed = segment
                segment = new ItemSegment()
                yield* updateItems(sql, closed)
                const running = move.ordinals.filter((o) => batches.isRunning(runId, o))
                if (running.length > 0) {
                  const rows = itemMoveRows(sql, runId, { ...move, ordinals: running }, "items", sql`true`, {
                    runningKnown: true
                  })!
                  yield* sql`WITH ${rows} SELECT 1`
                }
                break
              }
              case "SkipPending":
                // a second stop finds no pending item left: nothing to do
                if (!segment.stops.has(runId)) {
                  segment.stops.set(runId, { reason: move.skippedReason, at: move.at, running: batches.running(runId) })
                }
                break
            }
          }
        })
      }
    })

  return { page, finish: writeDeferred(true) }
}

/** Items of runs as run_scope froze them, with their folded state: one INSERT for all of `runs`. */
const insertItems = (sql: Sql, runs: ReadonlyArray<readonly [string, DeferredRun]>) => {
  const runIds: Array<string> = []
  const base = {
    status: [] as Array<string>,
    reason: [] as Array<string | null>,
    completedAt: [] as Array<string | null>,
    requestedAt: [] as Array<string>,
    updatedAt: [] as Array<string>,
    freshFrom: [] as Array<number>
  }
  const moved = {
    run: [] as Array<number>,
    ordinal: [] as Array<number>,
    status: [] as Array<string>,
    reason: [] as Array<string | null>,
    attempts: [] as Array<number>,
    claimToken: [] as Array<string | null>,
    startedAt: [] as Array<string | null>,
    completedAt: [] as Array<string | null>,
    updatedAt: [] as Array<string>
  }
  for (const [runId, run] of runs) {
    const n = runIds.push(runId)
    const row = untouched(run)
    base.status.push(row.status)
    base.reason.push(row.skippedReason)
    base.completedAt.push(row.completedAt)
    base.requestedAt.push(run.requestedAt)
    base.updatedAt.push(row.updatedAt)
    base.freshFrom.push(run.freshFrom)
    for (const [ordinal, item] of run.items) {
      moved.run.push(n)
      moved.ordinal.push(ordinal)
      moved.status.push(item.status)
      moved.reason.push(item.skippedReason)
      moved.attempts.push(item.attempts)
      moved.claimToken.push(item.claimToken)
      moved.startedAt.push(item.startedAt)
      moved.completedAt.push(item.completedAt)
      moved.updatedAt.push(item.updatedAt)
    }
  }
  // the moved items by (run, ordinal); none (runs that stayed pending): no join to make
  const movedRows =
    moved.ordinal.length === 0
      ? sql`CROSS JOIN (SELECT NULL::int AS ordinal, NULL::text AS status, NULL::text AS reason, NULL::int AS attempts,
          NULL::text AS claim_token, NULL::text AS started_at, NULL::text AS completed_at, NULL::text AS updated_at) m`
      : sql`LEFT JOIN unnest(${moved.run}::int[], ${moved.ordinal}::int[], ${moved.status}::text[],
            ${orEmpty(moved.reason)}::text[], ${moved.attempts}::int[], ${orEmpty(moved.claimToken)}::text[],
            ${orEmpty(moved.startedAt)}::text[], ${orEmpty(moved.completedAt)}::text[], ${moved.updatedAt}::text[])
            AS m(run, ordinal, status, reason, attempts, claim_token, started_at, completed_at, updated_at)
          ON m.run = r.n AND m.ordinal = s.ordinal`
  // `run_id = ANY(…)`: an index scan of run_scope for a few runs, never a scan of every run's scope per page;
  // unprepared: planned with the real sizes of the arrays every time. An item skipped for a fresh result at the
  // request (from `fresh_from` on) is as the scope freeze wrote it: no event moves it.
  return sql`INSERT INTO run_items (id, workspace_id, run_id, ordinal, lead_id, list_id, membership_id, status,
      skipped_reason, attempts, claim_token, started_at, completed_at, created_at, updated_at)
    SELECT ${itemIdSql(sql, sql.literal("s.run_id"), "s.ordinal")}, s.workspace_id, s.run_id, s.ordinal, s.lead_id,
      s.list_id, s.membership_id,
      CASE WHEN s.ordinal >= r.fresh_from THEN ${itemTransitions.skipPending.to} ELSE coalesce(m.status, r.status) END,
      CASE WHEN s.ordinal >= r.fresh_from THEN ${freshSkippedReason}
        WHEN m.ordinal IS NULL THEN r.reason ELSE m.reason END, coalesce(m.attempts, 0), m.claim_token,
      m.started_at::timestamptz,
      (CASE WHEN s.ordinal >= r.fresh_from THEN r.requested_at
        WHEN m.ordinal IS NULL THEN r.completed_at ELSE m.completed_at END)::timestamptz,
      r.requested_at::timestamptz,
      (CASE WHEN s.ordinal >= r.fresh_from THEN r.requested_at
        WHEN m.ordinal IS NULL THEN r.updated_at ELSE m.updated_at END)::timestamptz
    FROM run_scope s
    JOIN unnest(${runIds}::text[], ${base.status}::text[], ${orEmpty(base.reason)}::text[],
        ${orEmpty(base.completedAt)}::text[], ${base.requestedAt}::text[], ${base.updatedAt}::text[],
        ${base.freshFrom}::int[])
        WITH ORDINALITY AS r(run_id, status, reason, completed_at, requested_at, updated_at, fresh_from, n)
      ON r.run_id = s.run_id
    ${movedRows}
    WHERE s.run_id = ANY(${runIds}::text[])`.unprepared
}

/**
 * An array parameter that may hold nulls: an array of nulls only has no type to bind, and
 * `unnest` pads a shorter array with nulls, so it goes as an empty one.
 */
const orEmpty = <A>(values: ReadonlyArray<A | null>): ReadonlyArray<A | null> =>
  values.some((v) => v !== null) ? values : []

const updateItems = (sql: Sql, segment: ItemSegment) =>
  Effect.gen(function* () {
    for (const [runId, run] of segment.runs) yield* updateRunItems(sql, runId, run)
    if (segment.stops.size > 0) {
      const runIds = [...segment.stops.keys()]
      const stops = [...segment.stops.values()]
      yield* sql`UPDATE run_items i SET status = ${itemTransitions.skipPending.to}, skipped_reason = x.reason,
          completed_at = x.at::timestamptz, updated_at = x.at::timestamptz
        FROM unnest(${runIds}::text[], ${stops.map((s) => s.reason)}::text[], ${stops.map((s) => s.at)}::text[],
            ${stops.map((s) => `{${s.running.join(",")}}`)}::text[])
          AS x(run_id, reason, at, running)
        WHERE i.run_id = ANY(${runIds}::text[]) AND i.run_id = x.run_id
          AND i.status = ${itemTransitions.skipPending.from} AND NOT (i.ordinal = ANY(x.running::int[]))`.unprepared
    }
  })

/**
 * One UPDATE for a written run's folded batches: each item that ended while it ran takes its first outcome and the
 * attempt its claim made (one more, the batch, its start: RunProjection.ts `itemMoveRows`); an item still running
 * keeps its row (`pending`, in its open batch), and a terminal one is left alone. `run_id = … AND ordinal = ANY(…)`
 * keeps it a lookup on the run's key whatever the statistics say (see RunProjection), where a join of all runs'
 * items let the planner pick a scan of every item.
 */
const updateRunItems = (sql: Sql, runId: string, run: RunItems) => {
  const ordinals: Array<number> = []
  const statuses: Array<string> = []
  const reasons: Array<string> = []
  const ats: Array<string> = []
  const batches: Array<string> = []
  for (const [ordinal, ref] of run.items) {
    const outcome = run.outcomes[ref - 1]!
    ordinals.push(ordinal)
    statuses.push(outcome.status)
    reasons.push(outcome.reason)
    ats.push(outcome.at)
    batches.push(outcome.batch)
  }
  if (ordinals.length === 0) return Effect.void
  return sql`UPDATE run_items i SET status = x.status, skipped_reason = nullif(x.reason, ''),
      completed_at = x.at::timestamptz, updated_at = x.at::timestamptz, attempts = i.attempts + 1,
      claim_token = x.batch, started_at = (SELECT b.started_at FROM run_batches b WHERE b.batch = x.batch)
    FROM unnest(${ordinals}::int[], ${statuses}::text[], ${reasons}::text[], ${ats}::text[], ${batches}::text[])
      AS x(ordinal, status, reason, at, batch)
    WHERE i.run_id = ${runId} AND i.ordinal = ANY(${ordinals}::int[]) AND i.ordinal = x.ordinal
      AND i.status = ${storedStatus(itemTransitions.finish.from)}`.unprepared.pipe(Effect.asVoid)
}

// --- credit_accounts, credit_holds, credit_ledger -----------------------------------------------

interface Account {
  granted: number
  held: number
  captured: number
}

interface Hold {
  readonly workspaceId: string
  amount: number
}

const projectCredits = (sql: Sql, events: ReadonlyArray<Extract<PageEvent, { stream: "credits" }>>) =>
  Effect.gen(function* () {
    const workspaces = new Set<string>()
    const runIds = new Set<string>()
    for (const { workspaceId, event } of events) {
      workspaces.add(workspaceId)
      if ("runId" in event) runIds.add(event.runId)
    }
    /** the rows before the page (absent: no row) and as folded */
    const accountsBefore = new Map<string, string>()
    const accounts = new Map<string, Account>()
    for (const r of yield* sql<{ workspace_id: string; granted: string; held: string; captured: string }>`
      SELECT workspace_id, granted::text, held::text, captured::text FROM credit_accounts
      WHERE workspace_id = ANY(${[...workspaces]}::text[])`) {
      const account = { granted: Number(r.granted), held: Number(r.held), captured: Number(r.captured) }
      accounts.set(r.workspace_id, account)
      accountsBefore.set(r.workspace_id, json(account))
    }
    const holdsBefore = new Map<string, string>()
    const holds = new Map<string, Hold>()
    if (runIds.size > 0) {
      for (const r of yield* sql<{ run_id: string; workspace_id: string; amount: string }>`
        SELECT run_id, workspace_id, amount::text FROM credit_holds WHERE run_id = ANY(${[...runIds]}::text[])`) {
        const hold = { workspaceId: r.workspace_id, amount: Number(r.amount) }
        holds.set(r.run_id, hold)
        holdsBefore.set(r.run_id, json(hold))
      }
    }

    const lines: Array<{
      id: string
      workspace_id: string
      type: string
      amount: number
      run_id: string | null
      reason: string | null
      at: string
    }> = []
    const line = (
      e: (typeof events)[number],
      type: string,
      amount: number,
      runId: string | null,
      reason: string | null,
      at: string
    ) => lines.push({ id: e.eventId, workspace_id: e.workspaceId, type, amount, run_id: runId, reason, at })
    const grant = (workspaceId: string, amount: number) => {
      const account = accounts.get(workspaceId)
      if (account === undefined) accounts.set(workspaceId, { granted: amount, held: 0, captured: 0 })
      else account.granted += amount
    }
    const move = (workspaceId: string, held: number, captured: number) => {
      const account = accounts.get(workspaceId)
      if (account === undefined) return
      account.held += held
      account.captured += captured
    }
    const drawHold = (runId: string, amount: number) => {
      const hold = holds.get(runId)
      if (hold === undefined) return
      hold.amount -= amount
      if (hold.amount === 0) holds.delete(runId)
    }
    for (const e of events) {
      const { workspaceId, event } = e
      switch (event._tag) {
        case "CreditsGranted":
          grant(workspaceId, event.amount)
          line(e, "grant", event.amount, null, event.reason, event.grantedAt)
          break
        case "CreditsAdjusted":
          if (event.amount < 0) {
            const account = accounts.get(workspaceId)
            if (account !== undefined) account.granted += event.amount
          } else grant(workspaceId, event.amount)
          line(e, "adjust", event.amount, null, event.reason, event.adjustedAt)
          break
        case "CreditsHeld":
          move(workspaceId, event.amount, 0)
          if (holds.has(event.runId)) return yield* Effect.die(new Error(`a second hold for run ${event.runId}`))
          holds.set(event.runId, { workspaceId, amount: event.amount })
          line(e, "reserve", event.amount, event.runId, null, event.heldAt)
          break
        case "CreditsCaptured":
          move(workspaceId, -event.amount, event.amount)
          drawHold(event.runId, event.amount)
          line(e, "capture", event.amount, event.runId, null, event.capturedAt)
          break
        case "CreditsReleased":
          move(workspaceId, -event.amount, 0)
          drawHold(event.runId, event.amount)
          line(e, "release", event.amount, event.runId, null, event.releasedAt)
          break
      }
    }

    const accountRows = [...accounts]
      .filter(([workspaceId, account]) => accountsBefore.get(workspaceId) !== json(account))
      .map(([workspaceId, a]) => ({ workspace_id: workspaceId, ...a }))
    if (accountRows.length > 0) {
      yield* sql`INSERT INTO credit_accounts (workspace_id, granted, held, captured)
        SELECT x.workspace_id, x.granted, x.held, x.captured
        FROM json_to_recordset(${json(accountRows)}::json)
          AS x(workspace_id text, granted bigint, held bigint, captured bigint)
        ON CONFLICT (workspace_id) DO UPDATE
          SET granted = EXCLUDED.granted, held = EXCLUDED.held, captured = EXCLUDED.captured`
    }
    const closed = [...holdsBefore.keys()].filter((runId) => !holds.has(runId))
    if (closed.length > 0) yield* sql`DELETE FROM credit_holds WHERE run_id = ANY(${closed}::text[])`
    const holdRows = [...holds]
      .filter(([runId, hold]) => holdsBefore.get(runId) !== json(hold))
      .map(([runId, hold]) => ({ run_id: runId, workspace_id: hold.workspaceId, amount: hold.amount }))
    if (holdRows.length > 0) {
      yield* sql`INSERT INTO credit_holds (run_id, workspace_id, amount)
        SELECT x.run_id, x.workspace_id, x.amount
        FROM json_to_recordset(${json(holdRows)}::json) AS x(run_id text, workspace_id text, amount bigint)
        ON CONFLICT (run_id) DO UPDATE SET workspace_id = EXCLUDED.workspace_id, amount = EXCLUDED.amount`
    }
    yield* sql`INSERT INTO credit_ledger (id, workspace_id, type, amount, run_id, reason, created_at)
      SELECT x.id, x.workspace_id, x.type, x.amount, x.run_id, x.reason, x.at::timestamptz
      FROM json_to_recordset(${json(lines)}::json)
        AS x(id text, workspace_id text, type text, amount bigint, run_id text, reason text, at text)`
  })
