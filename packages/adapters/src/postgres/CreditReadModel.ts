/**
 * Reads of the credit ledger projection (`credit_ledger`), scoped to a
 * workspace, as the API shows them: every amount positive, newest first.
 *
 * The projection keeps one line per credit event; the API maps them so:
 * - `grant` → `grant`; a positive `adjust` → `grant` (it raises `granted`), with its reason;
 * - a negative `adjust` → `debit` with the amount taken back (positive), with its reason;
 * - `reserve`, `capture`, `release` as they are;
 * - lines of amount 0 (the hold of a run that costs nothing, and its release) are left
 *   out: they move nothing.
 */
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"

export type LedgerEntryType = "grant" | "debit" | "reserve" | "capture" | "release"

export interface LedgerEntry {
  readonly id: string
  readonly type: LedgerEntryType
  readonly amount: number
  readonly runId: string | null
  readonly reason: string | null
  readonly createdAt: string
}

export interface LedgerPage {
  readonly entries: ReadonlyArray<LedgerEntry>
  readonly nextCursor: string | null
  readonly hasMore: boolean
}

interface LedgerRow {
  readonly id: string
  readonly type: string
  readonly amount: string
  readonly run_id: string | null
  readonly reason: string | null
  readonly created_at: Date
}

const toEntry = (row: LedgerRow): LedgerEntry => {
  const signed = Number(row.amount)
  const type: LedgerEntryType = row.type === "adjust" ? (signed < 0 ? "debit" : "grant") : (row.type as LedgerEntryType)
  return {
    id: row.id,
    type,
    amount: Math.abs(signed),
    runId: row.run_id,
    reason: row.reason,
    createdAt: new Date(row.created_at).toISOString()
  }
}

export class CreditReadModel extends Context.Service<
  CreditReadModel,
  {
    /** Newest first; `cursor` is the id of the last entry of the previous page. */
    readonly ledger: (
      workspaceId: string,
      query: { readonly cursor: string | undefined; readonly limit: number }
    ) => Effect.Effect<LedgerPage>
  }
>()("@enrich/adapters/postgres/CreditReadModel") {
  static readonly layer = Layer.effect(
    CreditReadModel,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const ledger = Effect.fn("CreditReadModel.ledger")(function* (
        workspaceId: string,
        query: { readonly cursor: string | undefined; readonly limit: number }
      ) {
        const rows = yield* sql<LedgerRow>`
          SELECT id, type, amount::text, run_id, reason, created_at FROM credit_ledger
          WHERE workspace_id = ${workspaceId} AND amount <> 0
          ${query.cursor === undefined ? sql`` : sql`AND id < ${query.cursor}`}
          ORDER BY id DESC LIMIT ${query.limit + 1}`
        const entries = rows.slice(0, query.limit).map(toEntry)
        const hasMore = rows.length > query.limit
        return { entries, hasMore, nextCursor: hasMore ? entries[entries.length - 1]!.id : null }
      }, Effect.orDie)

      return CreditReadModel.of({ ledger })
    })
  )
}
