/**
 * Credit movements of a workspace, decided by the pure CreditAccount and
 * recorded on the workspace's credit stream. Concurrency is a row lock on the
 * workspace's `credit_accounts` row (`SELECT … FOR UPDATE`), not expected-
 * version retries on a hot stream: every dispatch of a workspace serialises on
 * that row for the length of its transaction, and decides against fresh totals.
 * A command joins the caller's transaction when there is one (./Transaction.ts):
 * a refusal is decided before anything is written.
 */
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { type CreditCommand, decide, encodeCreditEvent, isRejection } from "@enrich/domain/credits/CreditAccount"
import { CreditLedger } from "@enrich/domain/ports/CreditLedger"
import { CommandMetadata, ExpectedVersion } from "@enrich/domain/ports/EventStore"
import { uuidv7 } from "@enrich/domain/Ids"
import { appendEventsPg, ifAppended } from "./EventStorePg.ts"
import { creditEventRows, projectCreditEvent } from "./projections/CreditProjection.ts"
import { inTransaction } from "./Transaction.ts"
import { asStoreFailure, storeFailureOrDie } from "./Transient.ts"

export const creditStreamId = (workspaceId: string) => `credits-${workspaceId}`

export const CreditLedgerPgLive = Layer.effect(
  CreditLedger,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const execute = Effect.fn("CreditLedger.execute")(
      function* (
        workspaceId: string,
        command: CreditCommand,
        metadata?: { readonly correlationId?: string | undefined }
      ) {
        return yield* inTransaction(
          sql,
          Effect.gen(function* () {
            const runId = "runId" in command ? command.runId : undefined
            // the account row locked and the run's hold in one read (a hold only exists beside its account;
            // the hold is read as of the statement's start, which is current: a run's hold only moves under
            // the run's stream lock, which its command holds, or in the transaction that creates the run)
            const [row] = yield* sql<{ granted: string; held: string; captured: string; hold: string | null }>`
                SELECT a.granted::text, a.held::text, a.captured::text,
                  (SELECT h.amount::text FROM credit_holds h WHERE h.run_id = ${runId ?? null}) AS hold
                FROM credit_accounts a WHERE a.workspace_id = ${workspaceId} FOR UPDATE OF a`
            const holds = new Map<string, number>()
            if (runId !== undefined && row !== undefined && row.hold !== null) holds.set(runId, Number(row.hold))
            const state = {
              granted: Number(row?.granted ?? 0),
              held: Number(row?.held ?? 0),
              captured: Number(row?.captured ?? 0),
              holds
            }
            const decided = decide(command, state)
            if (isRejection(decided)) return yield* decided
            const events = decided.map((event) => ({ event, eventId: uuidv7() }))
            const context = yield* CommandMetadata
            // one event (a reservation, a grant): its rows ride on its append, written only if it is appended.
            // Several (a settlement's capture and release) move the same rows, which one statement cannot
            // write twice: each is projected by a statement of its own after the append.
            const [only] = events
            yield* appendEventsPg(
              sql,
              {
                streamId: creditStreamId(workspaceId),
                streamType: "credits",
                workspaceId,
                expected: ExpectedVersion.any,
                events: events.map(({ event, eventId }) => ({ eventId, ...encodeCreditEvent(event) })),
                metadata: { ...context, correlationId: metadata?.correlationId ?? runId ?? context.correlationId }
              },
              events.length === 1 && only !== undefined
                ? creditEventRows(sql, workspaceId, only.eventId, only.event, {
                    gate: ifAppended(sql),
                    prefix: "credit"
                  })
                : []
            )
            if (events.length > 1) {
              for (const { event, eventId } of events) yield* projectCreditEvent(sql, workspaceId, eventId, event)
            }
            return decided
          })
        )
      },
      Effect.catchTags({
        SqlError: storeFailureOrDie,
        EventStoreError: storeFailureOrDie,
        // the credit stream is appended at any version, under the workspace's row lock
        WrongExpectedVersion: Effect.die,
        EventIdsPartiallyAppended: Effect.die
      })
    )

    const balance = Effect.fn("CreditLedger.balance")(function* (workspaceId: string) {
      const rows = yield* sql<{ granted: string; held: string; captured: string }>`
          SELECT granted::text, held::text, captured::text FROM credit_accounts WHERE workspace_id = ${workspaceId}`
      const row = rows[0] ?? { granted: "0", held: "0", captured: "0" }
      const granted = Number(row.granted)
      const held = Number(row.held)
      const captured = Number(row.captured)
      return { balance: granted - held - captured, held, captured, granted }
    }, asStoreFailure)

    return CreditLedger.of({ execute, balance })
  })
)
