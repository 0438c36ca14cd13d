/**
 * The rebuild's set-based projection (projections/RebuildBatch.ts) against the inline
 * projections applied event by event, in commit order (what the append transaction does,
 * and what the rebuild did before it was set-based): the six projection tables must come
 * out byte-identical.
 *
 * Histories: several runs interleaved, batches started and recorded in the same page or in
 * different pages, cancels and failures with pending and running items (and batches
 * recorded after them), odd events (items out of scope, started twice, recorded without a
 * start, runs that were never requested), idempotency keys reused, credit grants,
 * adjustments, holds, captures and releases from the credit decider. Each is rebuilt with
 * big and small pages (a stream split across page boundaries) and with tiny memory budgets
 * (runs move from the deferred, in-memory path to the written, UPDATE path mid-history).
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { SqlClient } from "effect/sql"
import {
  type CreditAccountState,
  type CreditCommand,
  type CreditEvent,
  decide,
  decodeCreditEvent,
  encodeCreditEvent,
  evolve,
  initialState,
  isRejection
} from "@enrich/domain/credits/CreditAccount"
import { initialState as initialRunState, type RunState } from "@enrich/domain/runs/Run"
import { decodeRunEvent, encodeRunEvent, type RunEvent } from "@enrich/domain/runs/RunEvents"
import { cacheTables, projectionTables, rebuildReadModelsWith } from "../../src/postgres/Rebuild.ts"
import { projectCreditEvent } from "../../src/postgres/projections/CreditProjection.ts"
import { projectRunEvent } from "../../src/postgres/projections/RunProjection.ts"
import { scaled } from "@enrich/domain/testing/TestScale"
import { TestDatabaseLive } from "../support/TestDatabase.ts"
import { projectionSnapshot as snapshot } from "../support/ProjectionSnapshot.ts"

// --- histories -----------------------------------------------------------------------------------

interface Entry {
  readonly streamId: string
  readonly streamType: "run" | "credits"
  readonly workspaceId: string
  readonly event: RunEvent | CreditEvent
}

interface History {
  /** every run's frozen scope: its size (ordinals 1 … size) and workspace */
  readonly scopes: ReadonlyArray<{ readonly runId: string; readonly workspaceId: string; readonly size: number }>
  /** in commit order */
  readonly entries: ReadonlyArray<Entry>
}

const T0 = Date.parse("2026-03-01T09:00:00.000Z")
/** Event times as the services write them, now and then with an offset instead of Z (the text is cast either way). */
const at = (i: number) => {
  const iso = new Date(T0 + i * 1_537).toISOString()
  return i % 7 === 3 ? iso.replace("Z", "+00:00") : iso
}

const requested = (
  runId: string,
  workspaceId: string,
  size: number,
  time: string,
  options: {
    readonly key?: string | null
    readonly input?: boolean
    readonly display?: boolean
    /** Leads skipped as fresh at the request (the last ordinals), clamped to the size */
    readonly fresh?: number
    readonly retryOf?: string
  } = {}
): RunEvent => ({
  _tag: "RunRequested",
  runId,
  workspaceId,
  enrichment: { id: "email_validation", slug: "email-validation", version: 2, snapshot: { cost: 1, tags: ["a", "é"] } },
  mode: size % 2 === 0 ? "persisted" : "preview",
  scope: { type: "list", listId: "list-1", leadIdCount: null },
  leadCount: size,
  output: { target: "lead_attribute", attributeKey: "email_status", writePolicy: "overwrite" },
  cost: { creditAction: "email_validation", unitCost: 1, chargeOn: "completed", required: size },
  displayRequest: options.display === true ? { fieldId: "f-1" } : null,
  idempotency: options.key == null ? null : { key: options.key, fingerprint: `fp-${runId}` },
  ...(options.input === true ? { input: { threshold: 0.5, mode: "strict" } } : {}),
  ...(options.fresh === undefined ? {} : { freshness: { maxAgeDays: 30, skipped: Math.min(options.fresh, size) } }),
  ...(options.retryOf === undefined ? {} : { retryOf: options.retryOf }),
  requestedAt: time
})

type Outcome = { readonly status: "completed" | "failed" | "skipped"; readonly reason: number }
const reasons = [null, "attribute_exists", "lead_deleted", "run_cancelled"] as const

type RunOp =
  | { readonly _tag: "Dispatched" | "Started" | "Completed" | "Cancelled" }
  | { readonly _tag: "Failed"; readonly message: string }
  | { readonly _tag: "Settled"; readonly captured: number; readonly released: number }
  | { readonly _tag: "BatchStarted"; readonly ordinals: ReadonlyArray<number> }
  | {
      readonly _tag: "BatchRecorded"
      /** the items of the run's last started batch, else `ordinals` */
      readonly ofLastStart: boolean
      readonly ordinals: ReadonlyArray<number>
      readonly outcomes: ReadonlyArray<Outcome>
    }
  | {
      readonly _tag: "BatchAbandoned"
      /** the items of the run's last started batch, else `ordinals` */
      readonly ofLastStart: boolean
      readonly ordinals: ReadonlyArray<number>
    }

interface RunSpec {
  readonly size: number
  readonly workspace: number
  readonly key: number | null
  readonly input: boolean
  readonly display: boolean
  /** a freshness window's skipped Leads, when it had one */
  readonly fresh: number | null
  readonly retryOf: boolean
  /** false: a stream of events for a run that was never requested */
  readonly requested: boolean
  readonly ops: ReadonlyArray<RunOp>
}

type CreditStep =
  | { readonly _tag: "Grant"; readonly amount: number }
  | { readonly _tag: "Adjust"; readonly amount: number }
  | { readonly _tag: "Reserve"; readonly run: number; readonly amount: number }
  | { readonly _tag: "Settle"; readonly run: number; readonly share: number }
  | { readonly _tag: "ReleaseAll"; readonly run: number }

const MAX_SIZE = 8
const ordinal = fc.integer({ min: 0, max: MAX_SIZE + 1 }) // now and then out of scope
const outcome: fc.Arbitrary<Outcome> = fc.record({
  status: fc.constantFrom("completed", "failed", "skipped"),
  reason: fc.integer({ min: 0, max: reasons.length - 1 })
})
const runOp: fc.Arbitrary<RunOp> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.constantFrom("Dispatched", "Started", "Completed", "Cancelled").map((_tag) => ({ _tag }))
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("boom", 'provider "down"', "é ✓ \\n").map((message) => ({
      _tag: "Failed" as const,
      message
    }))
  },
  {
    weight: 1,
    arbitrary: fc.record({ _tag: fc.constant("Settled" as const), captured: fc.nat(40), released: fc.nat(40) })
  },
  {
    weight: 5,
    arbitrary: fc.record({ _tag: fc.constant("BatchStarted" as const), ordinals: fc.array(ordinal, { maxLength: 6 }) })
  },
  {
    weight: 5,
    arbitrary: fc.record({
      _tag: fc.constant("BatchRecorded" as const),
      ofLastStart: fc.boolean(),
      ordinals: fc.uniqueArray(ordinal, { maxLength: 6 }),
      outcomes: fc.array(outcome, { minLength: MAX_SIZE + 2, maxLength: MAX_SIZE + 2 })
    })
  },
  {
    weight: 2,
    arbitrary: fc.record({
      _tag: fc.constant("BatchAbandoned" as const),
      ofLastStart: fc.boolean(),
      ordinals: fc.uniqueArray(ordinal, { maxLength: 6 })
    })
  }
)
const runSpec: fc.Arbitrary<RunSpec> = fc.record({
  size: fc.integer({ min: 0, max: MAX_SIZE }),
  workspace: fc.integer({ min: 0, max: 1 }),
  key: fc.option(fc.integer({ min: 0, max: 2 })),
  input: fc.boolean(),
  display: fc.boolean(),
  fresh: fc.option(fc.integer({ min: 0, max: MAX_SIZE })),
  retryOf: fc.boolean(),
  requested: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  ops: fc.array(runOp, { maxLength: 24 })
})
const creditStep = (runs: number): fc.Arbitrary<CreditStep> => {
  const run = fc.integer({ min: 0, max: Math.max(0, runs - 1) })
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({ _tag: fc.constant("Grant" as const), amount: fc.integer({ min: 1, max: 80 }) })
    },
    {
      weight: 1,
      arbitrary: fc.record({ _tag: fc.constant("Adjust" as const), amount: fc.integer({ min: -40, max: 40 }) })
    },
    { weight: 3, arbitrary: fc.record({ _tag: fc.constant("Reserve" as const), run, amount: fc.nat(30) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        _tag: fc.constant("Settle" as const),
        run,
        share: fc.double({ min: 0, max: 1, noNaN: true })
      })
    },
    { weight: 1, arbitrary: fc.record({ _tag: fc.constant("ReleaseAll" as const), run }) }
  )
}

const workspaces = ["ws-a", "ws-b"]
const runIdOf = (i: number) => `01run-${String(i).padStart(3, "0")}`

/** A deterministic PRNG (mulberry32) for the interleaving, so a seed replays it. */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The next append of a stream: its events (none when the decider refused the command). */
type Step = (time: string) => ReadonlyArray<Entry>

/** The runs' and credit accounts' streams, interleaved at random (each stream keeps its order). */
const buildHistory = (
  runs: ReadonlyArray<RunSpec>,
  credits: ReadonlyArray<{ readonly workspace: number; readonly step: CreditStep }>,
  seed: number
): History => {
  const queues: Array<Array<Step>> = []
  runs.forEach((spec, i) => {
    const runId = runIdOf(i)
    const workspaceId = workspaces[spec.workspace]!
    const entry = (event: RunEvent): ReadonlyArray<Entry> => [
      { streamId: `run-${runId}`, streamType: "run", workspaceId, event }
    ]
    const queue: Array<Step> = []
    if (spec.requested) {
      queue.push((time) =>
        entry(
          requested(runId, workspaceId, spec.size, time, {
            key: spec.key === null ? null : `key-${spec.key}`,
            input: spec.input,
            display: spec.display,
            ...(spec.fresh === null ? {} : { fresh: spec.fresh }),
            ...(spec.retryOf ? { retryOf: "run-source" } : {})
          })
        )
      )
    }
    let lastStart: ReadonlyArray<number> = []
    let batches = 0
    for (const op of spec.ops) {
      switch (op._tag) {
        case "Dispatched":
          queue.push((time) =>
            entry({ _tag: "RunDispatched", engine: "cluster", triggerRunId: `t-${runId}`, dispatchedAt: time })
          )
          break
        case "Started":
          queue.push((time) => entry({ _tag: "RunStarted", startedAt: time }))
          break
        case "Completed":
          queue.push((time) => entry({ _tag: "RunCompleted", completedAt: time }))
          break
        case "Cancelled":
          queue.push((time) => entry({ _tag: "RunCancelled", cancelledAt: time }))
          break
        case "Failed":
          queue.push((time) => entry({ _tag: "RunFailed", message: op.message, failedAt: time }))
          break
        case "Settled":
          queue.push((time) =>
            entry({ _tag: "CreditsSettled", captured: op.captured, released: op.released, settledAt: time })
          )
          break
        case "BatchStarted": {
          const batch = `${runId}/batch-${batches++}`
          lastStart = op.ordinals
          queue.push((time) => entry({ _tag: "ItemBatchStarted", batch, ordinals: op.ordinals, startedAt: time }))
          break
        }
        case "BatchRecorded": {
          const batch = `${runId}/batch-${Math.max(0, batches - 1)}`
          const ordinals = op.ofLastStart ? [...new Set(lastStart)] : op.ordinals
          const outcomes = ordinals.map((o, k) => {
            const { status, reason } = op.outcomes[k % op.outcomes.length]!
            return {
              ordinal: o,
              status,
              skippedReason: status === "skipped" ? reasons[reason]! : null,
              found: k % 2 === 0
            }
          })
          queue.push((time) => entry({ _tag: "ItemBatchRecorded", batch, outcomes, recordedAt: time }))
          break
        }
        case "BatchAbandoned": {
          const batch = `${runId}/batch-${Math.max(0, batches - 1)}`
          const ordinals = op.ofLastStart ? [...new Set(lastStart)] : op.ordinals
          queue.push((time) => entry({ _tag: "ItemBatchAbandoned", batch, ordinals, abandonedAt: time }))
          break
        }
      }
    }
    queues.push(queue)
  })
  // credits through the decider: only what a workspace's account accepts is ever appended
  const states = workspaces.map((): CreditAccountState => initialState)
  const creditQueues = workspaces.map((): Array<Step> => [])
  for (const { workspace, step } of credits) {
    const workspaceId = workspaces[workspace]!
    creditQueues[workspace]!.push((time) => {
      const state = states[workspace]!
      // a run's credits move in its own workspace: a step naming another workspace's run holds for a run of its own
      // that was never requested (hold ids are run ids, unique across workspaces)
      const runId =
        "run" in step
          ? runs[step.run]?.workspace === workspace
            ? runIdOf(step.run)
            : `01hold-w${workspace}-${String(step.run).padStart(3, "0")}`
          : ""
      const command: CreditCommand =
        step._tag === "Grant"
          ? { _tag: "Grant", amount: step.amount, reason: "top-up", now: time }
          : step._tag === "Adjust"
            ? { _tag: "Adjust", amount: step.amount, reason: "correction", now: time }
            : step._tag === "Reserve"
              ? { _tag: "Reserve", runId, amount: step.amount, now: time }
              : step._tag === "ReleaseAll"
                ? { _tag: "ReleaseAll", runId, now: time }
                : (() => {
                    const hold = state.holds.get(runId) ?? 0
                    const captured = Math.min(hold, Math.floor(hold * step.share))
                    return { _tag: "Settle", runId, captured, released: hold - captured, now: time }
                  })()
      const outcome = decide(command, state)
      if (isRejection(outcome)) return []
      states[workspace] = outcome.reduce(evolve, state)
      // a settle's capture and release are one append: they stay together
      return outcome.map((event) => ({ streamId: `credits-${workspaceId}`, streamType: "credits", workspaceId, event }))
    })
  }
  const all = [...queues, ...creditQueues]
  const random = prng(seed)
  const entries: Array<Entry> = []
  for (;;) {
    const open = all.filter((q) => q.length > 0)
    if (open.length === 0) break
    const queue = open[Math.floor(random() * open.length)]!
    entries.push(...queue.shift()!(at(entries.length)))
  }
  return {
    scopes: runs.map((spec, i) => ({ runId: runIdOf(i), workspaceId: workspaces[spec.workspace]!, size: spec.size })),
    entries
  }
}

// --- the database side ---------------------------------------------------------------------------

/** Replaces the log (events, streams, scopes) with `history`, positions 1, 2, … in its order. */
const load = (history: History) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(
      `TRUNCATE events, event_streams, run_scope_chunks, ${[...projectionTables, ...cacheTables].join(", ")}
       RESTART IDENTITY`
    )
    // each run's frozen scope as the dispatch writes it: one chunk, ordinals 1 … size
    const chunks = history.scopes
      .filter((s) => s.size > 0)
      .map(({ runId, workspaceId, size }) => ({
        run_id: runId,
        workspace_id: workspaceId,
        list_id: size % 2 === 0 ? null : "list-1",
        lead_ids: Array.from({ length: size }, (_, i) => `lead-${i + 1}`),
        membership_ids: Array.from({ length: size }, (_, i) => (size % 2 === 0 ? null : `m-${runId}-${i + 1}`))
      }))
    yield* sql`INSERT INTO run_scope_chunks (run_id, first_ordinal, workspace_id, list_id, lead_ids, membership_ids)
      SELECT x.run_id, 1, x.workspace_id, x.list_id, x.lead_ids, x.membership_ids
      FROM json_to_recordset(${JSON.stringify(chunks)}::json)
        AS x(run_id text, workspace_id text, list_id text, lead_ids text[], membership_ids text[])`
    const versions = new Map<string, { type: string; workspaceId: string; version: number }>()
    const events = history.entries.map((e, i) => {
      const stream = versions.get(e.streamId) ?? { type: e.streamType, workspaceId: e.workspaceId, version: 0 }
      stream.version += 1
      versions.set(e.streamId, stream)
      const stored =
        e.streamType === "run" ? encodeRunEvent(e.event as RunEvent) : encodeCreditEvent(e.event as CreditEvent)
      return {
        position: i + 1,
        stream_id: e.streamId,
        version: stream.version,
        event_id: `00000000-0000-4000-8000-${String(i + 1).padStart(12, "0")}`,
        type: stored.type,
        schema_version: stored.version,
        data: stored.data
      }
    })
    const streams = [...versions].map(([id, s]) => ({
      id,
      type: s.type,
      workspace_id: s.workspaceId,
      version: s.version
    }))
    if (streams.length === 0) return
    yield* sql`INSERT INTO event_streams (stream_id, stream_type, workspace_id, version)
      SELECT x.id, x.type, x.workspace_id, x.version
      FROM json_to_recordset(${JSON.stringify(streams)}::json) AS x(id text, type text, workspace_id text, version int)`
    yield* sql`INSERT INTO events (global_position, stream_id, stream_version, event_id, type, schema_version, data)
      SELECT x.position, x.stream_id, x.version, x.event_id::uuid, x.type, x.schema_version, x.data
      FROM json_to_recordset(${JSON.stringify(events)}::json) AS x(position bigint, stream_id text, version int,
        event_id text, type text, schema_version int, data jsonb)`
  })

/** The reference: every event through the inline projections, one after the other, in commit order. */
const projectInline = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.withTransaction(
    Effect.gen(function* () {
      yield* sql.unsafe(`TRUNCATE ${[...projectionTables, ...cacheTables].join(", ")}`)
      const events = yield* sql<{
        stream_id: string
        stream_type: string
        workspace_id: string
        event_id: string
        type: string
        schema_version: number
        data: unknown
      }>`SELECT e.stream_id, s.stream_type, s.workspace_id, e.event_id::text, e.type, e.schema_version, e.data
        FROM events e JOIN event_streams s ON s.stream_id = e.stream_id ORDER BY e.global_position`
      // each run as the decider folds it, event by event, as the run store holds it between appends
      const runs = new Map<string, RunState>()
      for (const e of events) {
        if (e.stream_type === "run") {
          const event = yield* decodeRunEvent(e.type, e.schema_version, e.data)
          const runId = e.stream_id.replace(/^run-/, "")
          runs.set(runId, yield* projectRunEvent(sql, runId, e.workspace_id, runs.get(runId) ?? initialRunState, event))
        } else {
          const event = yield* decodeCreditEvent(e.type, e.schema_version, e.data)
          yield* projectCreditEvent(sql, e.workspace_id, e.event_id, event)
        }
      }
    })
  )
}).pipe(Effect.orDie)

/** Page sizes and budgets: one page, streams split across pages, and runs moving to the written path early. */
const rebuilds = [
  {},
  { pageSize: 1, maxDeferredItems: 0, maxIdleRuns: 0 },
  { pageSize: 4, maxDeferredItems: 0, maxIdleRuns: 0 },
  { pageSize: 5, maxDeferredItems: 6, maxIdleRuns: 1 },
  { pageSize: 9, maxDeferredItems: 0, maxIdleRuns: 0 },
  { pageSize: 13 }
] as const

/** The set-based rebuild, at every page size and budget, against the inline projections. */
const assertRebuildsMatchInline = (history: History) =>
  Effect.gen(function* () {
    yield* load(history)
    yield* projectInline
    const expected = yield* snapshot
    for (const options of rebuilds) {
      const { replayed } = yield* rebuildReadModelsWith(options)
      assert.strictEqual(replayed, history.entries.length)
      const actual = yield* snapshot
      for (const table of projectionTables) {
        assert.strictEqual(actual[table], expected[table], `${table} differs, rebuilt with ${JSON.stringify(options)}`)
      }
    }
    return expected
  })

// --- tests ---------------------------------------------------------------------------------------

layer(TestDatabaseLive, { timeout: 300_000, excludeTestServices: true })("Rebuild, set-based (integration)", (it) => {
  it.effect("a_set_based_rebuild_writes_what_the_inline_projections_write_on_a_mixed_history", () =>
    Effect.gen(function* () {
      let t = 0
      const time = () => at(t++)
      const run = (id: string, event: RunEvent, workspaceId = "ws-a"): Entry => ({
        streamId: `run-${id}`,
        streamType: "run",
        workspaceId,
        event
      })
      const credit = (event: CreditEvent, workspaceId = "ws-a"): Entry => ({
        streamId: `credits-${workspaceId}`,
        streamType: "credits",
        workspaceId,
        event
      })
      const started = (id: string, batch: string, ordinals: ReadonlyArray<number>) =>
        run(id, { _tag: "ItemBatchStarted", batch: `${id}/${batch}`, ordinals, startedAt: time() })
      const recorded = (
        id: string,
        batch: string,
        outcomes: ReadonlyArray<readonly [number, Outcome["status"], string | null]>
      ) =>
        run(id, {
          _tag: "ItemBatchRecorded",
          batch: `${id}/${batch}`,
          outcomes: outcomes.map(([ordinal, status, reason]) => ({
            ordinal,
            status,
            skippedReason: reason as (typeof reasons)[number],
            found: status === "completed"
          })),
          recordedAt: time()
        })
      const entries: Array<Entry> = [
        credit({ _tag: "CreditsGranted", amount: 100, reason: "opening", grantedAt: time() }),
        run("A", requested("A", "ws-a", 8, time(), { key: "k" })),
        credit({ _tag: "CreditsHeld", runId: "A", amount: 8, heldAt: time() }),
        run("B", requested("B", "ws-a", 3, time(), { key: "k", input: true, display: true })),
        run("A", { _tag: "RunDispatched", engine: "cluster", triggerRunId: "t-A", dispatchedAt: time() }),
        run("A", { _tag: "RunStarted", startedAt: time() }),
        started("A", "b1", [1, 2, 3]),
        credit({ _tag: "CreditsHeld", runId: "B", amount: 3, heldAt: time() }),
        run("B", { _tag: "RunStarted", startedAt: time() }),
        started("B", "b1", [1, 2, 3, 7]), // 7 is out of scope
        recorded("A", "b1", [
          [1, "completed", null],
          [2, "failed", null],
          [3, "skipped", "attribute_exists"]
        ]),
        started("A", "b2", [3, 4, 5]), // 3 is done already
        run("C", requested("C", "ws-b", 4, time()), "ws-b"),
        run("C", { _tag: "RunFailed", message: 'provider "down"', failedAt: time() }, "ws-b"),
        run("A", { _tag: "RunCancelled", cancelledAt: time() }), // 4 and 5 are running, 6 to 8 pending
        started("A", "b3", [6]), // after the cancel: skipped already
        recorded("A", "b2", [
          [4, "completed", null],
          [5, "skipped", "lead_deleted"]
        ]),
        recorded("B", "b1", [
          [1, "completed", null],
          [2, "completed", null],
          [3, "failed", null]
        ]),
        run("B", { _tag: "RunCompleted", completedAt: time() }),
        credit({ _tag: "CreditsCaptured", runId: "A", amount: 1, capturedAt: time() }),
        credit({ _tag: "CreditsReleased", runId: "A", amount: 7, releasedAt: time() }),
        run("A", { _tag: "CreditsSettled", captured: 1, released: 7, settledAt: time() }),
        credit({ _tag: "CreditsCaptured", runId: "B", amount: 2, capturedAt: time() }),
        credit({ _tag: "CreditsAdjusted", amount: -5, reason: "correction", adjustedAt: time() }),
        credit({ _tag: "CreditsGranted", amount: 9, reason: "opening", grantedAt: time() }, "ws-b"),
        credit({ _tag: "CreditsHeld", runId: "D", amount: 0, heldAt: time() }, "ws-b"),
        run("D", requested("D", "ws-b", 2, time(), { key: "k" }), "ws-b"), // same key, other workspace
        run("Z", { _tag: "RunStarted", startedAt: time() }), // a run never requested
        credit({ _tag: "CreditsReleased", runId: "B", amount: 1, releasedAt: time() }),
        run("B", { _tag: "CreditsSettled", captured: 2, released: 1, settledAt: time() })
      ]
      const expected = yield* assertRebuildsMatchInline({
        scopes: [
          { runId: "A", workspaceId: "ws-a", size: 8 },
          { runId: "B", workspaceId: "ws-a", size: 3 },
          { runId: "C", workspaceId: "ws-b", size: 4 },
          { runId: "D", workspaceId: "ws-b", size: 2 }
        ],
        entries
      })
      // the history did what it says (so the comparison above compares something)
      const items = JSON.parse(expected["run_items"]!) as Array<{ id: string; status: string; skipped_reason: string }>
      assert.deepStrictEqual(
        items.filter((i) => i.id.startsWith("A.")).map((i) => `${i.status}:${i.skipped_reason ?? ""}`),
        [
          "completed:",
          "failed:",
          "skipped:attribute_exists",
          "completed:",
          "skipped:lead_deleted",
          "skipped:run_cancelled",
          "skipped:run_cancelled",
          "skipped:run_cancelled"
        ]
      )
      assert.deepStrictEqual(
        items.filter((i) => i.id.startsWith("C.")).map((i) => i.skipped_reason),
        ["run_failed", "run_failed", "run_failed", "run_failed"]
      )
      assert.strictEqual((JSON.parse(expected["idempotency_keys"]!) as Array<unknown>).length, 2)
      assert.strictEqual((JSON.parse(expected["credit_holds"]!) as Array<unknown>).length, 1) // D holds 0
    })
  )

  it.effect(
    "a_set_based_rebuild_writes_what_the_inline_projections_write_on_random_histories",
    () =>
      Effect.gen(function* () {
        const context = yield* Effect.context<SqlClient.SqlClient>()
        const history = fc.array(runSpec, { minLength: 1, maxLength: 6 }).chain((runs) =>
          fc.record({
            runs: fc.constant(runs),
            credits: fc.array(fc.record({ workspace: fc.integer({ min: 0, max: 1 }), step: creditStep(runs.length) }), {
              maxLength: 24
            }),
            seed: fc.integer()
          })
        )
        const run = Effect.runPromiseWith(context)
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(history, ({ runs, credits, seed }) =>
              run(assertRebuildsMatchInline(buildHistory(runs, credits, seed))).then(() => undefined)
            ),
            { numRuns: scaled(25) }
          )
        )
      }),
    240_000
  )
})
