/**
 * The KeyBudgets port on `api_key_usage` and `api_key_charges` (migration 0015; the rule: domain/credits/
 * KeyBudget.ts). A reservation locks the key's row of the month (`FOR UPDATE`), decides against the limit the
 * key has in `api_keys` now, and records the new usage and the run's charge; a settlement's release locks the same
 * row through the run's charge and gives the release back. Both join the caller's transaction, which has locked
 * the workspace's `credit_accounts` row first (CreditLedger): every transaction that takes a key's row holds its
 * workspace's before, so no two wait on each other in the other order (DECISIONS.md 69).
 */
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { budgetMonth, releaseToBudget, reserveFromBudget, KeyLimitReached } from "@enrich/domain/credits/KeyBudget"
import { KeyBudgets } from "@enrich/domain/ports/KeyBudgets"
import { inTransaction } from "./Transaction.ts"
import { failAsStore } from "./Transient.ts"

export const KeyBudgetsPgLive = Layer.effect(
  KeyBudgets,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /** The key's row of `month` locked, with the key's limit now; created first when the month has none. */
    const lockedUsage = (keyId: string, month: string) =>
      Effect.gen(function* () {
        const locked = () => sql<{ used: string; credit_limit: string | null }>`
          SELECT u.used::text, k.credit_limit::text
          FROM api_key_usage u JOIN api_keys k ON k.id = u.api_key_id
          WHERE u.api_key_id = ${keyId} AND u.month = ${month}::date
          FOR UPDATE OF u`
        const [row] = yield* locked()
        if (row !== undefined) return row
        yield* sql`INSERT INTO api_key_usage (api_key_id, month) VALUES (${keyId}, ${month}::date)
          ON CONFLICT (api_key_id, month) DO NOTHING`
        const [created] = yield* locked()
        return created
      })

    const reserve = Effect.fn("KeyBudgets.reserve")(
      function* (input: {
        readonly keyId: string
        readonly runId: string
        readonly amount: number
        readonly at: string
      }) {
        const month = `${budgetMonth(input.at)}-01`
        return yield* inTransaction(
          sql,
          Effect.gen(function* () {
            const row = yield* lockedUsage(input.keyId, month)
            // no such key, or none with a limit: nothing to count (limits are set when a key is created)
            if (row === undefined || row.credit_limit === null) return
            const decided = reserveFromBudget({ limit: Number(row.credit_limit), used: Number(row.used) }, input.amount)
            if (decided instanceof KeyLimitReached) return yield* decided
            yield* sql`
              WITH usage AS (
                UPDATE api_key_usage SET used = ${decided.used}
                WHERE api_key_id = ${input.keyId} AND month = ${month}::date
              )
              INSERT INTO api_key_charges (run_id, api_key_id, month, reserved)
              VALUES (${input.runId}, ${input.keyId}, ${month}::date, ${input.amount})`
          })
        )
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const release = Effect.fn("KeyBudgets.release")(
      function* (input: { readonly runId: string; readonly amount: number }) {
        return yield* inTransaction(
          sql,
          Effect.gen(function* () {
            const [charge] = yield* sql<{
              api_key_id: string
              month: string
              used: string
              credit_limit: string | null
            }>`
              SELECT c.api_key_id, c.month::text, u.used::text, k.credit_limit::text
              FROM api_key_charges c
              JOIN api_key_usage u ON u.api_key_id = c.api_key_id AND u.month = c.month
              JOIN api_keys k ON k.id = c.api_key_id
              WHERE c.run_id = ${input.runId}
              FOR UPDATE OF u, c`
            if (charge === undefined) return
            const released = releaseToBudget(
              { limit: Number(charge.credit_limit ?? 0), used: Number(charge.used) },
              input.amount
            )
            yield* sql`
              WITH usage AS (
                UPDATE api_key_usage SET used = ${released.used}
                WHERE api_key_id = ${charge.api_key_id} AND month = ${charge.month}::date
              )
              UPDATE api_key_charges SET released = released + ${input.amount} WHERE run_id = ${input.runId}`
          })
        )
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    return KeyBudgets.of({ reserve, release })
  })
)
