/**
 * The inline projection of credit events: `credit_accounts` (one row per
 * workspace: granted, held, captured), `credit_holds` (each run's open
 * reservation) and `credit_ledger` (one line per movement, keyed by event id).
 * Values come from the events only, so a replay rebuilds identical rows.
 */
import type { Effect } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import type { CreditEvent } from "@enrich/domain/credits/CreditAccount"

export const projectCreditEvent = (
  sql: SqlClient.SqlClient,
  workspaceId: string,
  eventId: string,
  event: CreditEvent
): Effect.Effect<unknown, SqlError.SqlError> => {
  // the row is born with the first grant; holds and captures only move an existing row
  // (a hold needs a positive balance, so a grant came first; a hold of 0 changes nothing)
  const grant = (amount: number) =>
    sql`INSERT INTO credit_accounts (workspace_id, granted) VALUES (${workspaceId}, ${amount})
      ON CONFLICT (workspace_id) DO UPDATE SET granted = credit_accounts.granted + ${amount}`
  // a negative adjustment only lowers an existing row: the CHECK on the row an upsert would
  // insert (granted < 0) fails before ON CONFLICT is considered
  const lower = (amount: number) =>
    sql`UPDATE credit_accounts SET granted = granted + ${amount} WHERE workspace_id = ${workspaceId}`
  const account = (held: number, captured: number) =>
    sql`UPDATE credit_accounts SET held = held + ${held}, captured = captured + ${captured}
      WHERE workspace_id = ${workspaceId}`
  const line = (type: string, amount: number, runId: string | null, reason: string | null, at: string) =>
    sql`INSERT INTO credit_ledger (id, workspace_id, type, amount, run_id, reason, created_at)
      VALUES (${eventId}, ${workspaceId}, ${type}, ${amount}, ${runId}, ${reason}, ${at})`
  // a hold drawn down to 0 is deleted, otherwise lowered (one statement sees the rows as they were before it,
  // so the two conditions split the hold's two cases)
  const drawHold = (runId: string, amount: number) =>
    sql`held_deleted AS (DELETE FROM credit_holds WHERE run_id = ${runId} AND amount = ${amount}),
      held_lowered AS (UPDATE credit_holds SET amount = amount - ${amount} WHERE run_id = ${runId} AND amount <> ${amount})`
  // an event's rows in one statement: its other writes as data-modifying CTEs beside the ledger line
  switch (event._tag) {
    case "CreditsGranted":
      return sql`WITH account AS (${grant(event.amount)}) ${line("grant", event.amount, null, event.reason, event.grantedAt)}`
    case "CreditsAdjusted":
      return sql`WITH account AS (${event.amount < 0 ? lower(event.amount) : grant(event.amount)})
        ${line("adjust", event.amount, null, event.reason, event.adjustedAt)}`
    case "CreditsHeld":
      return sql`WITH account AS (${account(event.amount, 0)}),
        hold AS (INSERT INTO credit_holds (run_id, workspace_id, amount) VALUES (${event.runId}, ${workspaceId}, ${event.amount}))
        ${line("reserve", event.amount, event.runId, null, event.heldAt)}`
    case "CreditsCaptured":
      return sql`WITH account AS (${account(-event.amount, event.amount)}), ${drawHold(event.runId, event.amount)}
        ${line("capture", event.amount, event.runId, null, event.capturedAt)}`
    case "CreditsReleased":
      return sql`WITH account AS (${account(-event.amount, 0)}), ${drawHold(event.runId, event.amount)}
        ${line("release", event.amount, event.runId, null, event.releasedAt)}`
  }
}
