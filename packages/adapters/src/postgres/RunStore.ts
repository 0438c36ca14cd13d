/**
 * The RunStore port (application/ports/RunStore.ts) on the event store: lock the run's stream row, read the
 * run's snapshot and the events after it, fold them, decide, append with the expected version, and project
 * the new events (and the new snapshot) inline in the same transaction — in the append's own statement, as
 * CTEs written only if the append happened (DECISIONS.md 33). The credits the events move are the
 * application's to move (application/runs/RunCommands.ts), in the same transaction.
 *
 * A command runs in the caller's transaction when there is one (no savepoint:
 * nothing is written before the append or by a refused one, which is where a
 * stale history is refused, so deciding again needs nothing undone; any later failure fails
 * the caller's transaction). A caller that already knows the run as of its own
 * transaction (it created the stream, or executed the previous command in
 * it) passes that `known` state and the lock and the reads are skipped.
 */
import { Effect, Layer } from "effect"
import { SqlClient, type Statement } from "effect/sql"
import { CommandMetadata, EventStore, ExpectedVersion } from "@enrich/domain/ports/EventStore"
import { decideInOrder, evolve, initialState, RunCommandRejected, type RunState } from "@enrich/domain/runs/Run"
import { decodeRunEvent, encodeRunEvent } from "@enrich/domain/runs/RunEvents"
import { uuidv7 } from "@enrich/domain/Ids"
import { type KnownRun, type RunCommandInput, RunStore } from "@enrich/application/ports/RunStore"
import { appendEventsPg, ifAppended } from "./EventStorePg.ts"
import { projectRunEvents, runEventRows } from "./projections/RunProjection.ts"
import { inTransaction } from "./Transaction.ts"
import { storeFailureOrDie } from "./Transient.ts"

export const runStreamId = (runId: string) => `run-${runId}`

const newRun = RunStore.newRun

/**
 * A snapshot this version can use: one taken before the run's state kept its record (RunRecord: the times the
 * run's row shows) is ignored, and the run is folded from its events.
 */
const current = <S extends { readonly state: RunState }>(snapshot: S | undefined | null): S | undefined =>
  snapshot != null && (snapshot.state.status === "none" || snapshot.state.record !== undefined) ? snapshot : undefined

/** The RunStore port on PostgreSQL: needs the EventStore on the same database. */
export const RunStorePgLive = Layer.effect(
  RunStore,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const store = yield* EventStore

    /** The run from `snapshot` on: the events appended after it, folded into it. */
    const fromSnapshot = Effect.fnUntraced(function* (
      runId: string,
      stored: { readonly version: number; readonly state: RunState } | undefined
    ) {
      const snapshot = current(stored)
      const after = snapshot?.version ?? 0
      const tail = yield* store.readStream(runStreamId(runId), { after })
      const events = yield* Effect.forEach(tail, (e) => decodeRunEvent(e.type, e.version, e.data))
      return { state: events.reduce(evolve, snapshot?.state ?? initialState), version: after + events.length }
    })

    /** The run's state and stream version: its snapshot plus the events appended after it. */
    const read = Effect.fnUntraced(function* (runId: string) {
      const [snapshot] = yield* sql<{ version: number; state: RunState }>`
          SELECT version, state FROM run_snapshots WHERE run_id = ${runId}`
      return yield* fromSnapshot(runId, snapshot)
    }, Effect.catch(storeFailureOrDie))

    /**
     * Takes the run's stream row (commands on one run queue on it, so they do not deadlock with a claim) and
     * reads the run with it, in one statement when the snapshot is as new as the stream. A lock that had to
     * wait sees the snapshot as it was when the statement began: the stream's version then says it is older,
     * and the events after it are read.
     */
    const lock = Effect.fnUntraced(function* (runId: string) {
      const [row] = yield* sql<{ stream_version: number; version: number | null; state: RunState | null }>`
          SELECT e.version AS stream_version, s.version, s.state
          FROM event_streams e LEFT JOIN run_snapshots s ON s.run_id = ${runId}
          WHERE e.stream_id = ${runStreamId(runId)}
          FOR UPDATE OF e`
      if (row === undefined) return newRun
      const snapshot =
        row.version === null || row.state === null ? undefined : { version: row.version, state: row.state }
      if (current(snapshot) !== undefined && snapshot!.version === row.stream_version) return snapshot!
      if (current(snapshot) !== undefined) {
        // the lock waited for another command: its snapshot committed with it, and a new statement sees it. One
        // small row instead of the events after the old snapshot (a batch's record is 500 outcomes), read and
        // decoded by every command that queued on a busy run — 8 batches of one run queue there all the time.
        const [fresh] = yield* sql<{ version: number; state: RunState }>`
            SELECT version, state FROM run_snapshots WHERE run_id = ${runId}`
        if (current(fresh) !== undefined && fresh!.version === row.stream_version) return fresh!
        return yield* fromSnapshot(runId, fresh ?? snapshot)
      }
      return yield* fromSnapshot(runId, snapshot)
    }, Effect.catch(storeFailureOrDie))

    const attempt = ({ command, metadata, runId, workspaceId }: RunCommandInput, known: KnownRun | undefined) =>
      inTransaction(
        sql,
        Effect.gen(function* () {
          const { state, version } = known ?? (yield* lock(runId))
          const decision = decideInOrder("_tag" in command ? [command] : command, state)
          if (decision instanceof RunCommandRejected) return yield* decision
          const after = decision.reduce(evolve, state)
          if (decision.length > 0) {
            const context = yield* CommandMetadata
            // the events' rows and the new snapshot ride on the append's statement, written only if the append
            // happened (a refused append writes nothing, so deciding again needs nothing undone); events that
            // move the same rows twice are projected by statements of their own after it
            const snapshot = (gate: Statement.Fragment) => sql`snapshot AS (
                  INSERT INTO run_snapshots (run_id, version, state)
                  SELECT ${runId}::text, ${version + decision.length}::int, ${JSON.stringify(after)}::jsonb WHERE ${gate}
                  ON CONFLICT (run_id) DO UPDATE SET version = excluded.version, state = excluded.state
                )`
            const appended = ifAppended(sql)
            const rows = runEventRows(sql, runId, workspaceId, decision, after, appended)
            yield* appendEventsPg(
              sql,
              {
                streamId: runStreamId(runId),
                streamType: "run",
                workspaceId,
                expected: ExpectedVersion.exact(version),
                events: decision.map((event) => ({ eventId: uuidv7(), ...encodeRunEvent(event) })),
                metadata: { ...context, correlationId: runId, ...metadata }
              },
              rows === undefined ? [] : [...rows, snapshot(appended)]
            )
            if (rows === undefined) {
              yield* projectRunEvents(sql, runId, workspaceId, decision, after, [snapshot(sql`true`)])
            }
          }
          return { from: state, state: after, version: version + decision.length, events: decision }
        })
      ).pipe(
        Effect.catchTags({
          SqlError: storeFailureOrDie,
          EventStoreError: storeFailureOrDie,
          EventIdsPartiallyAppended: Effect.die
        })
      )

    const execute: RunStore["Service"]["execute"] = (input) =>
      attempt(input, input.known).pipe(
        // another command appended first (a batch, a cancel), or `known` was stale: decide again on the
        // history as it is now (nothing was written before the refused append)
        Effect.catchTag("WrongExpectedVersion", () =>
          attempt(input, undefined).pipe(Effect.retry({ while: (e) => e._tag === "WrongExpectedVersion", times: 4 }))
        )
      )

    const load = (runId: string) => Effect.map(read(runId), (c) => c.state)

    return RunStore.of({ execute, load, lock })
  })
)
