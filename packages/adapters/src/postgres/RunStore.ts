/**
 * Run command handling on the event store: read the run's stream, fold it,
 * decide, append with the expected version, and project the new events inline
 * in the same transaction. The run's credit movements (the reservation at
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
import { decide, evolve, fold, type RunCommand, RunCommandRejected, type RunState } from "@enrich/domain/runs/Run"
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

      const history = Effect.fnUntraced(function* (runId: string) {
        const recorded = yield* store.readStream(runStreamId(runId))
        return yield* Effect.forEach(recorded, (e) => decodeRunEvent(e.type, e.version, e.data))
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
              const past = yield* history(runId)
              const state = fold(past)
              const decision = decide(command, state)
              if (decision instanceof RunCommandRejected) return yield* decision
              if (decision.length > 0) {
                const context = yield* CommandMetadata
                yield* store.append({
                  streamId: runStreamId(runId),
                  streamType: "run",
                  workspaceId,
                  expected: ExpectedVersion.exact(past.length),
                  events: decision.map((event) => ({ eventId: uuidv7(), ...encodeRunEvent(event) })),
                  metadata: { ...context, correlationId: runId, ...metadata }
                })
                let before = state
                for (const event of decision) {
                  yield* projectRunEvent(sql, runId, workspaceId, event)
                  yield* moveCredits(runId, workspaceId, before, event)
                  before = evolve(before, event)
                }
              }
              return { state: fold([...past, ...decision]), events: decision }
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

      const load = (runId: string) => Effect.map(history(runId), fold)

      return RunStore.of({ execute, load })
    })
  )
}
