/**
 * The inline projection of credit events: `credit_accounts` (one row per
 * workspace: granted, held, captured), `credit_holds` (each run's open
 * reservation) and `credit_ledger` (one line per movement, keyed by event id).
 * Values come from the events only, so a replay rebuilds identical rows.
 */
import type { Effect } from "effect"
import type { SqlClient, SqlError, Statement } from "effect/sql"
import type { CreditEvent } from "@enrich/domain/credits/CreditAccount"

/**
 * A credit event's rows as data-modifying CTEs (`<prefix>_account AS (…)`, …) that write only where
 * `gate` holds: the credit ledger puts them in the event's append statement with the gate "the append
 * happened", so the event and its rows are one statement.
 */
export const creditEventRows = (
  sql: SqlClient.SqlClient,
  workspaceId: string,
  eventId: string,
  event: CreditEvent,
  options: { readonly gate: Statement.Fragment; readonly prefix: string }
): ReadonlyArray<Statement.Fragment> => {
  const { gate, prefix } = options
  const cte = (name: string, body: Statement.Fragment) => sql`${sql.literal(`${prefix}_${name}`)} AS (${body})`
  // the row is born with the first grant; holds and captures only move an existing row
  // (a hold needs a positive balance, so a grant came first; a hold of 0 changes nothing)
  const grant = (amount: number) =>
    cte(
      "account",
      sql`INSERT INTO credit_accounts (workspace_id, granted) SELECT ${workspaceId}::text, ${amount}::bigint WHERE ${gate}
      ON CONFLICT (workspace_id) DO UPDATE SET granted = credit_accounts.granted + ${amount}::bigint`
    )
  // a negative adjustment only lowers an existing row: the CHECK on the row an upsert would
  // insert (granted < 0) fails before ON CONFLICT is considered
  const lower = (amount: number) =>
    cte(
      "account",
      sql`UPDATE credit_accounts SET granted = granted + ${amount}::bigint WHERE workspace_id = ${workspaceId} AND ${gate}`
    )
  const account = (held: number, captured: number) =>
    cte(
      "account",
      sql`UPDATE credit_accounts SET held = held + ${held}::bigint, captured = captured + ${captured}::bigint
      WHERE workspace_id = ${workspaceId} AND ${gate}`
    )
  const line = (type: string, amount: number, runId: string | null, reason: string | null, at: string) =>
    cte(
      "line",
      sql`INSERT INTO credit_ledger (id, workspace_id, type, amount, run_id, reason, created_at)
      SELECT ${eventId}::text, ${workspaceId}::text, ${type}::text, ${amount}::bigint, ${runId}::text, ${reason}::text,
        ${at}::timestamptz WHERE ${gate}`
    )
  // a hold drawn down to 0 is deleted, otherwise lowered (one statement sees the rows as they were before it,
  // so the two conditions split the hold's two cases)
  const drawHold = (runId: string, amount: number) => [
    cte("held_deleted", sql`DELETE FROM credit_holds WHERE run_id = ${runId} AND amount = ${amount} AND ${gate}`),
    cte(
      "held_lowered",
      sql`UPDATE credit_holds SET amount = amount - ${amount}::bigint WHERE run_id = ${runId} AND amount <> ${amount}
        AND ${gate}`
    )
  ]
  switch (event._tag) {
    case "CreditsGranted":
      return [grant(event.amount), line("grant", event.amount, null, event.reason, event.grantedAt)]
    case "CreditsAdjusted":
      return [
        event.amount < 0 ? lower(event.amount) : grant(event.amount),
        line("adjust", event.amount, null, event.reason, event.adjustedAt)
      ]
    case "CreditsHeld":
      return [
        account(event.amount, 0),
        cte(
          "hold",
          sql`INSERT INTO credit_holds (run_id, workspace_id, amount)
          SELECT ${event.runId}::text, ${workspaceId}::text, ${event.amount}::bigint WHERE ${gate}`
        ),
        line("reserve", event.amount, event.runId, null, event.heldAt)
      ]
    case "CreditsCaptured":
      return [
        account(-event.amount, event.amount),
        ...drawHold(event.runId, event.amount),
        line("capture", event.amount, event.runId, null, event.capturedAt)
      ]
    case "CreditsReleased":
      return [
        account(-event.amount, 0),
        ...drawHold(event.runId, event.amount),
        line("release", event.amount, event.runId, null, event.releasedAt)
      ]
  }
}

/** A credit event's rows as one statement of its own (a rebuild's page writes them set-based instead). */
export const projectCreditEvent = (
  sql: SqlClient.SqlClient,
  workspaceId: string,
  eventId: string,
  event: CreditEvent
): Effect.Effect<unknown, SqlError.SqlError> =>
  sql`WITH ${sql.join(", ", false)(creditEventRows(sql, workspaceId, eventId, event, { gate: sql`true`, prefix: "c" }))}
    SELECT 1`
