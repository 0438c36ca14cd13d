/**
 * The run store against real Postgres: a command decided on a stale history is
 * refused by its append and decided again, and the refused attempt writes none
 * of its rows (they ride on the append's statement, gated on the append).
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { CommandMetadata } from "@enrich/domain/ports/EventStore"
import { Leads } from "@enrich/domain/ports/Leads"
import { ClientOnlyClusterLive, WorkflowDispatcherLive } from "../../src/engine/RunWorkflow.ts"
import { RunStore } from "@enrich/application/ports/RunStore"
import { runStreamId } from "../../src/postgres/RunStore.ts"
import { Workspaces } from "../../src/postgres/Workspaces.ts"
import { DispatchRun } from "@enrich/application/runs/DispatchRun"
import { ServicesLive } from "../support/Services.ts"
import { dispatchRequest } from "../support/DispatchRequests.ts"
import { TestDatabaseLive } from "../support/TestDatabase.ts"

const Live = ServicesLive.pipe(
  Layer.provide(WorkflowDispatcherLive),
  Layer.provideMerge(ClientOnlyClusterLive),
  Layer.provideMerge(TestDatabaseLive)
)

/** A dispatched run of `count` Leads. */
const aRun = (count: number) =>
  Effect.gen(function* () {
    const { workspace } = yield* (yield* Workspaces).create({ name: "Stale", credits: count })
    const imported = yield* (yield* Leads).importLeads(
      workspace.id,
      Array.from({ length: count }, (_, i) => ({ type: "person" as const, email: `p${i}@corp.example` })),
      undefined
    )
    const accepted = yield* (yield* DispatchRun).dispatch(
      workspace.id,
      dispatchRequest({ scope: { type: "explicit_leads", leadIds: imported.leadIds } })
    )
    assert.strictEqual(accepted._tag, "Accepted")
    return { runId: accepted._tag === "Accepted" ? accepted.runId : "", workspaceId: workspace.id }
  })

layer(Live, { timeout: 120_000, excludeTestServices: true })("RunStore (integration)", (it) => {
  it.effect(
    "when_a_command_is_decided_on_a_stale_version_its_refused_append_writes_nothing_and_it_is_decided_again",
    () =>
      Effect.gen(function* () {
        const { runId, workspaceId } = yield* aRun(5)
        const runs = yield* RunStore
        const startBatch = (name: string, ordinals: ReadonlyArray<number>) =>
          ({ _tag: "StartBatch", batch: `${runId}/${name}`, ordinals, now: new Date().toISOString() }) as const
        const withActor = Effect.provideService(CommandMetadata, { actor: "test" })
        // a first batch starts the run: the next batch is one event (ItemBatchStarted), whose rows ride on its append
        yield* runs.execute({ runId, workspaceId, command: startBatch("first", [1]) }).pipe(withActor)
        const current = yield* runs.lock(runId)
        // the run as it is, but one version behind: the first append is refused (WrongExpectedVersion) and the
        // command decided again in the same (caller's) transaction, which nothing rolls back in between
        const sql = yield* SqlClient.SqlClient
        const done = yield* sql.withTransaction(
          runs
            .execute({
              runId,
              workspaceId,
              known: { state: current.state, version: current.version - 1 },
              command: startBatch("stale", [2, 3])
            })
            .pipe(withActor)
        )
        assert.strictEqual(done.version, current.version + 1)
        const [run] = yield* sql<{ pending: number; running: number }>`
        SELECT count_pending AS pending, count_running AS running FROM enrichment_runs WHERE id = ${runId}`
        assert.deepStrictEqual(run, { pending: 2, running: 3 }, "each batch is counted once")
        // running: pending rows in an open batch, with the attempt their batch's end will write (ItemMoves.ts)
        const items = yield* sql<{ ordinal: number; attempts: number }>`
        SELECT i.ordinal, i.attempts + 1 AS attempts FROM run_items i
        WHERE i.run_id = ${runId} AND i.status = 'pending'
          AND EXISTS (SELECT 1 FROM run_batches b WHERE b.run_id = i.run_id AND NOT b.ended AND i.ordinal = ANY(b.ordinals))
        ORDER BY i.ordinal`
        assert.deepStrictEqual(items, [
          { ordinal: 1, attempts: 1 },
          { ordinal: 2, attempts: 1 },
          { ordinal: 3, attempts: 1 }
        ])
        const batches = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM run_batches WHERE run_id = ${runId}`
        assert.strictEqual(batches[0]!.n, 2)
        const events = yield* sql<{ type: string }>`
        SELECT type FROM events WHERE stream_id = ${runStreamId(runId)} AND type = 'ItemBatchStarted'`
        assert.strictEqual(events.length, 2)
        const [snapshot] = yield* sql<{ version: number }>`SELECT version FROM run_snapshots WHERE run_id = ${runId}`
        assert.strictEqual(snapshot!.version, current.version + 1)
      })
  )

  it.effect("when_the_lock_waits_for_another_command_it_takes_the_snapshot_that_command_committed_not_its_events", () =>
    Effect.gen(function* () {
      const { runId, workspaceId } = yield* aRun(5)
      const runs = yield* RunStore
      const sql = yield* SqlClient.SqlClient
      const locked = yield* Deferred.make<void>()
      // A holds the run's stream row, records a batch's start, and commits a moment later
      const first = yield* sql
        .withTransaction(
          Effect.gen(function* () {
            const known = yield* runs.lock(runId)
            yield* Deferred.succeed(locked, undefined)
            const done = yield* runs.execute({
              runId,
              workspaceId,
              known,
              command: { _tag: "StartBatch", batch: `${runId}/a`, ordinals: [1, 2], now: new Date().toISOString() }
            })
            yield* Effect.sleep("300 millis")
            return done
          })
        )
        .pipe(Effect.provideService(CommandMetadata, { actor: "test" }), Effect.forkChild)
      yield* Deferred.await(locked)
      // B queues on the row while A holds it: its statement began before A's snapshot committed
      // reads of `events` by this backend: counted in this transaction, but on PostgreSQL 15 with what earlier
      // transactions on the connection left unflushed, so compared before and after the lock
      const eventReads = sql<{ reads: number }>`
        SELECT (coalesce(seq_scan, 0) + coalesce(idx_scan, 0))::int AS reads
        FROM pg_stat_xact_user_tables WHERE relname = 'events'`.pipe(Effect.map((rows) => rows[0]?.reads ?? 0))
      const second = yield* sql.withTransaction(
        Effect.gen(function* () {
          const before = yield* eventReads
          const known = yield* runs.lock(runId)
          return { known, eventReads: (yield* eventReads) - before }
        })
      )
      const a = yield* Fiber.join(first)
      assert.strictEqual(second.known.version, a.version)
      assert.deepStrictEqual(second.known.state, a.state)
      assert.strictEqual(second.eventReads, 0, "the events after the old snapshot were not read")
    })
  )

  it.effect(
    "regression_a_snapshot_taken_before_the_run_kept_its_record_is_ignored_and_the_run_folded_from_its_events",
    () =>
      Effect.gen(function* () {
        const { runId, workspaceId } = yield* aRun(4)
        const runs = yield* RunStore
        const sql = yield* SqlClient.SqlClient
        const withActor = Effect.provideService(CommandMetadata, { actor: "test" })
        const startedAt = new Date().toISOString()
        yield* runs
          .execute({
            runId,
            workspaceId,
            command: { _tag: "StartBatch", batch: `${runId}/a`, ordinals: [1, 2], now: startedAt }
          })
          .pipe(withActor)
        // the snapshot as an older version wrote it: the state without its record
        yield* sql`UPDATE run_snapshots SET state = state - 'record' WHERE run_id = ${runId}`
        const known = yield* runs.lock(runId)
        assert.strictEqual(known.state.status, "running")
        assert.isTrue(known.state.status !== "none" && known.state.record.startedAt === startedAt)
        // the next command writes the run's row from the whole state, and a snapshot with its record
        const cancelledAt = new Date().toISOString()
        yield* runs.execute({ runId, workspaceId, command: { _tag: "CancelRun", now: cancelledAt } }).pipe(withActor)
        const [row] = yield* sql<{ status: string; started: boolean; cancelled: boolean; pending: number }>`
          SELECT status, started_at = ${startedAt}::timestamptz AS started,
            cancelled_at = ${cancelledAt}::timestamptz AS cancelled, count_pending AS pending
          FROM enrichment_runs WHERE id = ${runId}`
        assert.deepStrictEqual(row, { status: "cancelled", started: true, cancelled: true, pending: 0 })
        const [snapshot] = yield* sql<{ has: boolean }>`
          SELECT state ? 'record' AS has FROM run_snapshots WHERE run_id = ${runId}`
        assert.isTrue(snapshot!.has)
      })
  )
})
