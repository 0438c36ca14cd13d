/**
 * Drop the read models and replay every event into them, in commit order,
 * a page of events at a time: each page is decoded, then projected set-based
 * (`projections/RebuildBatch.ts`: a few statements per page, the rows the
 * inline projections of the append transaction write event by event). Runs in
 * one transaction under an exclusive advisory lock (appends keep working and
 * wait for it at their projection step), so readers see the old models or the
 * new ones, never half of each.
 *
 * Not rebuilt (they are data, not projections): workspaces, API keys, Leads,
 * Lists and memberships, the frozen scope of each run (`run_scope`) and what
 * each item produced (the result columns of `run_items`, `itemResultColumns`:
 * kept aside before the truncate and put back on the rebuilt rows).
 */
import { Context, Effect, Schedule } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { decodeCreditEvent } from "@enrich/domain/credits/CreditAccount"
import { decodeRunEvent } from "@enrich/domain/runs/RunEvents"
import { type ItemBudgets, makePageProjector, type PageEvent } from "./projections/RebuildBatch.ts"
import { withoutTimeouts } from "./Transient.ts"

/** Tables whose every row comes from events. */
export const projectionTables = [
  "enrichment_runs",
  "run_items",
  "run_batches",
  "idempotency_keys",
  "credit_accounts",
  "credit_holds",
  "credit_ledger"
] as const

/**
 * The columns of `run_items` that are data, not projections of the events: what each item produced, written by
 * the batch's record with its outcome (ItemBatchesPg.ts `writeResults`), cleared by its Lead's erasure.
 */
export const itemResultColumns = [
  "result",
  "error",
  "lead_snapshot",
  "provider_result",
  "provider_result_is_result",
  "provider",
  "provider_submission_id",
  "recorded_at",
  "lead_erased"
] as const

/** Caches derived from events that the rebuild empties and the next command refills. */
export const cacheTables = ["run_snapshots"] as const

/**
 * Told how far a rebuild has got after each page of events (`replay --rebuild` prints it
 * on stderr): the events replayed so far and the position of the last one. Does nothing
 * unless a caller provides it.
 */
export const RebuildProgress = Context.Reference<
  (progress: { readonly replayed: number; readonly position: string }) => Effect.Effect<void>
>("@enrich/adapters/postgres/Rebuild/RebuildProgress", { defaultValue: () => () => Effect.void })

/** A transaction PostgreSQL failed to break a deadlock (SQLSTATE 40P01). */
const isDeadlock = (error: unknown): boolean => SqlError.isSqlError(error) && error.reason._tag === "DeadlockError"

const REBUILD_LOCK = 727_431_002
const PAGE = 1_000

/**
 * The rebuild, reading `pageSize` events per page (1,000 unless told) and keeping item
 * state in memory within `budgets` (see RebuildBatch): tests make both small, to split
 * streams across pages and runs between the deferred and the written paths.
 */
export const rebuildReadModelsWith = (options: { readonly pageSize?: number } & ItemBudgets = {}) =>
  Effect.gen(function* () {
    const pageSize = options.pageSize ?? PAGE
    const sql = yield* SqlClient.SqlClient
    const onProgress = yield* RebuildProgress
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        // the operator's long work: no statement or lock timeout of the connection's (Database.ts)
        yield* withoutTimeouts(sql)
        yield* sql`SELECT pg_advisory_xact_lock(${REBUILD_LOCK})`
        const tables = [...projectionTables, ...cacheTables].join(", ")
        yield* sql.unsafe(`LOCK TABLE ${tables} IN ACCESS EXCLUSIVE MODE`)
        const kept = itemResultColumns.join(", ")
        yield* sql.unsafe(`CREATE TEMPORARY TABLE rebuild_item_results ON COMMIT DROP AS
          SELECT id, ${kept} FROM run_items
          WHERE recorded_at IS NOT NULL OR error IS NOT NULL OR result IS NOT NULL OR lead_erased`)
        yield* sql.unsafe(`TRUNCATE ${tables}`)
        const projector = makePageProjector(sql, options)
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
           ORDER BY e.global_position LIMIT ${pageSize}`
          const events: Array<PageEvent> = []
          for (const e of page) {
            if (e.stream_type === "run") {
              const event = yield* decodeRunEvent(e.type, e.schema_version, e.data)
              events.push({
                stream: "run",
                runId: e.stream_id.replace(/^run-/, ""),
                workspaceId: e.workspace_id,
                event
              })
            } else if (e.stream_type === "credits") {
              const event = yield* decodeCreditEvent(e.type, e.schema_version, e.data)
              events.push({ stream: "credits", workspaceId: e.workspace_id, eventId: e.event_id, event })
            }
          }
          yield* projector.page(events)
          replayed += page.length
          if (page.length > 0) yield* onProgress({ replayed, position: page[page.length - 1]!.global_position })
          if (page.length < pageSize) break
          after = page[page.length - 1]!.global_position
        }
        yield* projector.finish
        yield* sql.unsafe(`UPDATE run_items i SET ${itemResultColumns.map((c) => `${c} = k.${c}`).join(", ")}
          FROM rebuild_item_results k WHERE k.id = i.id`)
        yield* sql.unsafe(`DROP TABLE rebuild_item_results`)
        return { replayed }
      })
    )
  }).pipe(
    // its LOCK TABLE takes the tables one by one, in its own order; a live command that holds one of them and
    // asks for another the rebuild already has is a deadlock, which PostgreSQL breaks by failing the rebuild
    // (the first to wait). Nothing is done yet when the locks are taken: the whole rebuild runs again.
    Effect.retry({ while: isDeadlock, schedule: Schedule.exponential("50 millis"), times: 5 }),
    Effect.orDie
  )

export const rebuildReadModels = rebuildReadModelsWith()
