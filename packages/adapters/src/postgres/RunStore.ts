/**
 * Run command handling on the event store: read the run's stream, fold it,
 * decide, append with the expected version, and project the new events inline
 * (run status with live counts, credit account) in the same transaction.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import {
  EventStore,
  type EventMetadata,
  ExpectedVersion,
  type WrongExpectedVersion
} from "@enrich/domain/ports/EventStore"
import { decide, fold, type RunCommand, RunCommandRejected, type RunState } from "@enrich/domain/runs/Run"
import { decodeRunEvent, encodeRunEvent, type RunEvent } from "@enrich/domain/runs/RunEvents"
import { uuidv7 } from "../Ids.ts"

export class InsufficientCredits extends Schema.TaggedError<InsufficientCredits>()("InsufficientCredits", {
  required: Schema.Int,
  balance: Schema.Int
}) {}

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
      RunCommandRejected | WrongExpectedVersion | InsufficientCredits
    >
    readonly load: (runId: string) => Effect.Effect<RunState>
  }
>()("@enrich/adapters/postgres/RunStore") {
  static readonly layer = Layer.effect(
    RunStore,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const store = yield* EventStore

      const history = Effect.fnUntraced(function* (runId: string) {
        const recorded = yield* store.readStream(runStreamId(runId))
        const events = yield* Effect.forEach(recorded, (e) => decodeRunEvent(e.type, e.version, e.data))
        return events
      }, Effect.orDie)

      /** Inline projection of one event into the read models. */
      const project = (
        runId: string,
        workspaceId: string,
        event: RunEvent
      ): Effect.Effect<unknown, SqlError.SqlError | InsufficientCredits> => {
        switch (event._tag) {
          case "RunRequested":
            return sql`INSERT INTO enrichment_runs (id, workspace_id, status, mode, enrichment, scope, resolved_count,
                count_pending, output, cost_preview, correlation_id, dispatch_metadata, created_at, updated_at)
              VALUES (${runId}, ${workspaceId}, 'pending', ${event.mode}, ${JSON.stringify(event.enrichment)}::jsonb,
                ${JSON.stringify(event.scope)}::jsonb, ${event.leadCount}, ${event.leadCount},
                ${JSON.stringify({ ...event.output, persistResults: event.mode === "persisted" })}::jsonb,
                ${JSON.stringify({ creditAction: event.cost.creditAction, unitCost: event.cost.unitCost, required: event.cost.required })}::jsonb,
                ${runId}, ${JSON.stringify({ displayRequest: event.displayRequest })}::jsonb,
                ${event.requestedAt}, ${event.requestedAt})`
          case "CreditsReserved":
            return Effect.gen(function* () {
              const rows = yield* sql`UPDATE credit_accounts SET held = held + ${event.amount}
                WHERE workspace_id = ${workspaceId} AND granted - held - captured >= ${event.amount} RETURNING 1`
              if (rows.length === 0) {
                const balance = yield* sql<{ balance: number }>`
                  SELECT (granted - held - captured)::int AS balance FROM credit_accounts WHERE workspace_id = ${workspaceId}`
                return yield* new InsufficientCredits({ required: event.amount, balance: balance[0]?.balance ?? 0 })
              }
              yield* sql`UPDATE enrichment_runs SET reserved = reserved + ${event.amount} WHERE id = ${runId}`
            })
          case "RunDispatched":
            return sql`UPDATE enrichment_runs SET trigger_run_id = ${event.triggerRunId},
                dispatch_metadata = dispatch_metadata || ${JSON.stringify({ engine: event.engine, dispatchedAt: event.dispatchedAt })}::jsonb,
                updated_at = ${event.dispatchedAt}
              WHERE id = ${runId}`
          case "RunStarted":
            return sql`UPDATE enrichment_runs SET status = 'running', started_at = ${event.startedAt}, updated_at = ${event.startedAt}
              WHERE id = ${runId} AND status = 'pending'`
          case "ItemBatchStarted":
            return sql`UPDATE enrichment_runs SET count_pending = count_pending - ${event.count},
                count_running = count_running + ${event.count}, updated_at = ${event.startedAt}
              WHERE id = ${runId}`
          case "ItemBatchRecorded":
            return sql`UPDATE enrichment_runs SET
                count_running = count_running - ${event.completed + event.failed + event.skipped},
                count_completed = count_completed + ${event.completed},
                count_failed = count_failed + ${event.failed},
                count_skipped = count_skipped + ${event.skipped},
                updated_at = ${event.recordedAt}
              WHERE id = ${runId}`
          case "RunFailed":
            return sql`UPDATE enrichment_runs SET status = 'failed', completed_at = ${event.failedAt},
                error = ${JSON.stringify({ message: event.message, details: null })}::jsonb, updated_at = ${event.failedAt}
              WHERE id = ${runId} AND status IN ('pending', 'running')`
          case "RunCompleted":
            return sql`UPDATE enrichment_runs SET status = 'completed', completed_at = ${event.completedAt},
                updated_at = ${event.completedAt}
              WHERE id = ${runId} AND status IN ('pending', 'running')`
          case "CreditsSettled":
            return Effect.gen(function* () {
              yield* sql`UPDATE credit_accounts SET held = held - ${event.captured + event.released},
                  captured = captured + ${event.captured}
                WHERE workspace_id = ${workspaceId}`
              yield* sql`UPDATE enrichment_runs SET captured = ${event.captured}, released = ${event.released},
                  settled_at = ${event.settledAt}, updated_at = ${event.settledAt}
                WHERE id = ${runId}`
            })
        }
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
                yield* store.append({
                  streamId: runStreamId(runId),
                  streamType: "run",
                  workspaceId,
                  expected: ExpectedVersion.exact(past.length),
                  events: decision.map((event) => ({ eventId: uuidv7(), ...encodeRunEvent(event) })),
                  metadata: { correlationId: runId, ...metadata }
                })
                yield* Effect.forEach(decision, (event) => project(runId, workspaceId, event), { discard: true })
              }
              return { state: fold([...past, ...decision]), events: decision }
            })
          )
          .pipe(Effect.catchTags({ SqlError: Effect.die, EventStoreError: Effect.die }))

      const load = (runId: string) => Effect.map(history(runId), fold)

      return RunStore.of({ execute, load })
    })
  )
}
