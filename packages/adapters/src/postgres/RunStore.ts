/**
 * Run command handling on the event store: read the run's snapshot and the
 * events after it, fold them, decide, append with the expected version, and
 * project the new events (and the new snapshot) inline in the same transaction. The run's credit movements (the reservation at
 * request, the capture and release at settlement) go through the CreditLedger
 * in that transaction too, so a run and its money never disagree.
 */
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { CreditRejection } from "@enrich/domain/credits/CreditAccount"
import {
  CommandMetadata,
  EventStore,
  type EventMetadata,
  ExpectedVersion,
  type WrongExpectedVersion
} from "@enrich/domain/ports/EventStore"
import {
  decide,
  evolve,
  initialState,
  type RunCommand,
  RunCommandRejected,
  type RunState
} from "@enrich/domain/runs/Run"
import { decodeRunEvent, encodeRunEvent, type RunEvent } from "@enrich/domain/runs/RunEvents"
import { uuidv7 } from "../Ids.ts"
import { CreditLedger } from "@enrich/domain/ports/CreditLedger"
import { projectRunEvent } from "./projections/RunProjection.ts"

export const runStreamId = (runId: string) => `run-${runId}`

export class RunStore extends Context.Service<
  RunStore,
  {
    /** Decides `command` against the run's history and appends + projects the outcome. */
    readonly execute: (input: {
      readonly runId: string
      readonly workspaceId: string
      readonly command: RunCommand
      readonly metadata?: EventMetadata | undefined
    }) => Effect.Effect<
      { readonly state: RunState; readonly events: ReadonlyArray<RunEvent> },
      RunCommandRejected | WrongExpectedVersion | CreditRejection
    >
    readonly load: (runId: string) => Effect.Effect<RunState>
  }
>()("@enrich/adapters/postgres/RunStore") {
  static readonly layer = Layer.effect(
    RunStore,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const store = yield* EventStore
      const ledger = yield* CreditLedger

      /** The run's state and stream version: its snapshot plus the events appended after it. */
      const current = Effect.fnUntraced(function* (runId: string) {
        const [snapshot] = yield* sql<{ version: number; state: RunState }>`
          SELECT version, state FROM run_snapshots WHERE run_id = ${runId}`
        const after = snapshot?.version ?? 0
        const tail = yield* store.readStream(runStreamId(runId), { after })
        const events = yield* Effect.forEach(tail, (e) => decodeRunEvent(e.type, e.version, e.data))
        return { state: events.reduce(evolve, snapshot?.state ?? initialState), version: after + events.length }
      }, Effect.orDie)

      /** The credit movements a run event implies. */
      const moveCredits = (runId: string, workspaceId: string, before: RunState, event: RunEvent) => {
        if (event._tag === "RunRequested" && event.cost.required > 0) {
          return ledger.execute(workspaceId, {
            _tag: "Reserve",
            runId,
            amount: event.cost.required,
            now: event.requestedAt
          })
        }
        if (event._tag === "CreditsSettled" && before.status !== "none" && before.reserved > 0) {
          return ledger.execute(workspaceId, {
            _tag: "Settle",
            runId,
            captured: event.captured,
            released: event.released,
            now: event.settledAt
          })
        }
        return Effect.void
      }

      const execute: RunStore["Service"]["execute"] = ({ command, metadata, runId, workspaceId }) =>
        sql
          .withTransaction(
            Effect.gen(function* () {
              // commands on one run take its stream row first, so they queue instead of deadlocking with a claim
              yield* sql`SELECT 1 FROM event_streams WHERE stream_id = ${runStreamId(runId)} FOR UPDATE`
              const { state, version } = yield* current(runId)
              const decision = decide(command, state)
              if (decision instanceof RunCommandRejected) return yield* decision
              if (decision.length > 0) {
                const context = yield* CommandMetadata
                yield* store.append({
                  streamId: runStreamId(runId),
                  streamType: "run",
                  workspaceId,
                  expected: ExpectedVersion.exact(version),
                  events: decision.map((event) => ({ eventId: uuidv7(), ...encodeRunEvent(event) })),
                  metadata: { ...context, correlationId: runId, ...metadata }
                })
                let before = state
                for (const event of decision) {
                  yield* projectRunEvent(sql, runId, workspaceId, event)
                  yield* moveCredits(runId, workspaceId, before, event)
                  before = evolve(before, event)
                }
                yield* sql`INSERT INTO run_snapshots (run_id, version, state)
                  VALUES (${runId}, ${version + decision.length}, ${JSON.stringify(before)}::jsonb)
                  ON CONFLICT (run_id) DO UPDATE SET version = excluded.version, state = excluded.state`
              }
              return { state: decision.reduce(evolve, state), events: decision }
            })
          )
          .pipe(
            Effect.catchTags({
              SqlError: Effect.die,
              EventStoreError: Effect.die,
              EventIdsPartiallyAppended: Effect.die
            }),
            // another command appended first (a batch, a cancel): decide again on the new history
            Effect.retry({ while: (e) => e._tag === "WrongExpectedVersion", times: 5 })
          )

      const load = (runId: string) => Effect.map(current(runId), (c) => c.state)

      return RunStore.of({ execute, load })
    })
  )
}
