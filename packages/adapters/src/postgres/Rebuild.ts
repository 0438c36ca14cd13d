/**
 * Drop the read models and replay every event into them, in commit order,
 * with the same projection code the append transaction uses. Runs in one
 * transaction under an exclusive advisory lock (appends keep working and wait
 * for it at their projection step), so readers see the old models or the new
 * ones, never half of each.
 *
 * Not rebuilt (they are data, not projections): workspaces, API keys, Leads,
 * Lists and memberships, the frozen scope of each run (`run_scope`) and what
 * each item produced (`item_results`).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { decodeCreditEvent } from "@enrich/domain/credits/CreditAccount"
import { decodeRunEvent } from "@enrich/domain/runs/RunEvents"
import { projectCreditEvent } from "./projections/CreditProjection.ts"
import { projectRunEvent } from "./projections/RunProjection.ts"

/** Tables whose every row comes from events. */
export const projectionTables = [
  "enrichment_runs",
  "run_items",
  "idempotency_keys",
  "credit_accounts",
  "credit_holds",
  "credit_ledger"
] as const

/** Caches derived from events that the rebuild empties and the next command refills. */
export const cacheTables = ["run_snapshots"] as const

const REBUILD_LOCK = 727_431_002
const PAGE = 1_000

export const rebuildReadModels = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql.withTransaction(
    Effect.gen(function* () {
      yield* sql`SELECT pg_advisory_xact_lock(${REBUILD_LOCK})`
      const tables = [...projectionTables, ...cacheTables].join(", ")
      yield* sql.unsafe(`LOCK TABLE ${tables} IN ACCESS EXCLUSIVE MODE`)
      yield* sql.unsafe(`TRUNCATE ${tables}`)
      let after = "0"
      let replayed = 0
      for (;;) {
        const page = yield* sql<{
          global_position: string
          stream_id: string
          stream_type: string
          workspace_id: string
          event_id: string
          type: string
          schema_version: number
          data: unknown
        }>`SELECT e.global_position::text, e.stream_id, s.stream_type, s.workspace_id, e.event_id::text, e.type,
                  e.schema_version, e.data
           FROM events e JOIN event_streams s ON s.stream_id = e.stream_id
           WHERE e.global_position > ${after}::bigint
           ORDER BY e.global_position LIMIT ${PAGE}`
        for (const e of page) {
          if (e.stream_type === "run") {
            const event = yield* decodeRunEvent(e.type, e.schema_version, e.data)
            yield* projectRunEvent(sql, e.stream_id.replace(/^run-/, ""), e.workspace_id, event)
          } else if (e.stream_type === "credits") {
            const event = yield* decodeCreditEvent(e.type, e.schema_version, e.data)
            yield* projectCreditEvent(sql, e.workspace_id, e.event_id, event)
          }
        }
        replayed += page.length
        if (page.length < PAGE) break
        after = page[page.length - 1]!.global_position
      }
      return { replayed }
    })
  )
}).pipe(Effect.orDie)
