/**
 * What the operator's audit commands (`enrich audit`, `events tail`, `replay`) read of the database
 * besides the event store: stream rows, the projections to check against the events, the runs nothing
 * is ending, and every projection table against a fresh rebuild made inside a transaction that is
 * rolled back (`compareWithRebuild`). The commands fold the events themselves (the deciders' own
 * `evolve`); this module holds only the SQL and the connection (`directDatabase`).
 *
 * Database failures stay in the error channel (the CLI turns them into its exit 5). Rebuild.ts (the
 * projection code) loads only when `compareWithRebuild` runs, so `audit credits` and `events tail`
 * load none.
 */
import { PgClient } from "@effect/sql-pg"
import { Cause, Context, Effect, Layer, type Redacted, Schema } from "effect"
import { SqlClient, type SqlError } from "effect/sql"

/**
 * The database of the audit commands, straight from a URL (`DATABASE_URL`; never an embedded one):
 * a small pool with no statement or lock timeout of the service's (Database.ts).
 */
export const directDatabase = (url: Redacted.Redacted<string>, maxConnections: number) =>
  PgClient.layer({ url, maxConnections })

/** A row of `event_streams`. */
export interface StreamRow {
  readonly streamId: string
  readonly streamType: string
  readonly workspaceId: string
  readonly version: number
}

/** A run's projection (`enrichment_runs`), its amounts as numbers. */
export interface RunProjectionRow {
  readonly status: string
  readonly countPending: number
  readonly countRunning: number
  readonly countCompleted: number
  readonly countSkipped: number
  readonly countFailed: number
  readonly reserved: number
  readonly captured: number
  readonly released: number
}

/** A workspace's credit account projection (`credit_accounts`), as numbers. */
export interface CreditAccountRow {
  readonly granted: number
  readonly held: number
  readonly captured: number
}

/** An unsettled run with its lease facts, on the database's clock. */
export interface UnsettledRunRow {
  readonly id: string
  readonly status: string
  readonly ageMs: number
  /** whether any of its leases has not expired */
  readonly anyAlive: boolean
  /** how long ago its last lease expired; null when no worker ever held it */
  readonly lastExpiredAgoMs: number | null
}

/** A projection table that differs from its fresh rebuild (at most 10 rows of each side). */
export interface TableDiff {
  readonly table: string
  readonly projected: number
  readonly rebuilt: number
  readonly onlyProjected: ReadonlyArray<unknown>
  readonly onlyRebuilt: ReadonlyArray<unknown>
}

/** The outcome of `compareWithRebuild`: `failed` when the rebuild itself failed. */
export interface RebuildComparison {
  readonly replayed: number
  readonly diffs: Array<TableDiff>
  readonly failed?: string
}

class Rollback extends Schema.TaggedError<Rollback>()("Rollback", { diffs: Schema.Unknown }) {}

class Deadlocked extends Schema.TaggedError<Deadlocked>()("Deadlocked", { cause: Schema.Defect() }) {}

const isDeadlock = (error: unknown): boolean => {
  let current = error as {
    readonly code?: unknown
    readonly reason?: { readonly _tag?: unknown }
    readonly cause?: unknown
  }
  for (let depth = 0; depth < 6 && typeof current === "object" && current !== null; depth++) {
    if (current.code === "40P01" || current.reason?._tag === "DeadlockError") return true
    current = current.cause as typeof current
  }
  return false
}

/**
 * Runs a transaction that rebuilds the projections again when PostgreSQL picked it as a
 * deadlock victim (its table locks can cross a live service's transactions): the victim was
 * rolled back whole, so running it again is safe. Other failures pass through.
 */
export const retryOnDeadlock = <A, E, R>(transaction: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const attempt: Effect.Effect<A, E | Deadlocked, R> = transaction.pipe(
    Effect.catchCause((cause): Effect.Effect<never, E | Deadlocked> => {
      const error = Cause.squash(cause)
      return isDeadlock(error) ? Effect.fail(new Deadlocked({ cause: error })) : Effect.failCause(cause)
    })
  )
  return attempt.pipe(
    Effect.retry({ times: 3, while: (error) => error instanceof Deadlocked }),
    Effect.catchIf(
      (error): error is Deadlocked => error instanceof Deadlocked,
      (error) => Effect.die(error.cause)
    )
  )
}

export class AuditReadModel extends Context.Service<
  AuditReadModel,
  {
    /** Whether a stream of that id exists. */
    readonly streamExists: (streamId: string) => Effect.Effect<boolean, SqlError.SqlError>
    /** The stream's workspace (undefined when there is no such stream). */
    readonly streamWorkspace: (
      streamId: string
    ) => Effect.Effect<{ readonly workspaceId: string } | undefined, SqlError.SqlError>
    /** Every stream, by id. */
    readonly streams: Effect.Effect<ReadonlyArray<StreamRow>, SqlError.SqlError>
    /** The position of the last stored event at or before `position` (null when there is none). */
    readonly lastPositionAtOrBefore: (position: bigint) => Effect.Effect<bigint | null, SqlError.SqlError>
    /** How many events are stored (counted as text, then a number). */
    readonly eventCount: Effect.Effect<number, SqlError.SqlError>
    /** Events whose stream has no row, per stream (at most 100 streams). */
    readonly orphanEvents: Effect.Effect<
      ReadonlyArray<{ readonly streamId: string; readonly n: number }>,
      SqlError.SqlError
    >
    /** Whether the workspace exists, and whether a stream of that id (its credit stream) does. */
    readonly workspaceKnown: (
      workspaceId: string,
      streamId: string
    ) => Effect.Effect<{ readonly workspace: boolean; readonly stream: boolean }, SqlError.SqlError>
    /** The run's frozen scope (`run_scope`) by ordinal. */
    readonly runScope: (
      runId: string
    ) => Effect.Effect<ReadonlyArray<{ readonly ordinal: number; readonly leadId: string }>, SqlError.SqlError>
    /** The run's `enrichment_runs` row. */
    readonly runProjection: (runId: string) => Effect.Effect<RunProjectionRow | undefined, SqlError.SqlError>
    /** How many `run_items` rows the run has. */
    readonly runItemCount: (runId: string) => Effect.Effect<number, SqlError.SqlError>
    /** The workspace's `credit_accounts` row. */
    readonly creditAccount: (workspaceId: string) => Effect.Effect<CreditAccountRow | undefined, SqlError.SqlError>
    /** Every unsettled run with its lease facts, by id. */
    readonly unsettledRuns: Effect.Effect<ReadonlyArray<UnsettledRunRow>, SqlError.SqlError>
    /**
     * Every projection table against a fresh rebuild, in a transaction that is rolled back (the
     * tables locked in SHARE mode first, so no write lands between the snapshots and the rebuild's
     * own locks). Never fails: a failed rebuild is told in `failed`.
     */
    readonly compareWithRebuild: Effect.Effect<RebuildComparison>
  }
>()("@enrich/adapters/postgres/AuditReadModel") {
  static readonly layer = Layer.effect(
    AuditReadModel,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const streamExists = Effect.fn("AuditReadModel.streamExists")(function* (streamId: string) {
        const [known] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM event_streams
            WHERE stream_id = ${streamId}`
        return known!.n !== 0
      })

      const streamWorkspace = Effect.fn("AuditReadModel.streamWorkspace")(function* (streamId: string) {
        const [stream] = yield* sql<{ workspace_id: string }>`SELECT workspace_id FROM event_streams
            WHERE stream_id = ${streamId}`
        return stream === undefined ? undefined : { workspaceId: stream.workspace_id }
      })

      const streams = Effect.gen(function* () {
        const rows = yield* sql<{ stream_id: string; stream_type: string; workspace_id: string; version: number }>`
          SELECT stream_id, stream_type, workspace_id, version FROM event_streams ORDER BY stream_id`
        return rows.map(
          (r): StreamRow => ({
            streamId: r.stream_id,
            streamType: r.stream_type,
            workspaceId: r.workspace_id,
            version: r.version
          })
        )
      }).pipe(Effect.withSpan("AuditReadModel.streams"))

      const lastPositionAtOrBefore = Effect.fn("AuditReadModel.lastPositionAtOrBefore")(function* (position: bigint) {
        const [row] = yield* sql<{ p: string | null }>`SELECT max(global_position)::text AS p FROM events
            WHERE global_position <= ${position.toString()}::bigint`
        const p = row?.p ?? null
        return p === null ? null : BigInt(p)
      })

      const eventCount = Effect.gen(function* () {
        const [count] = yield* sql<{ n: string }>`SELECT count(*)::text AS n FROM events`
        return Number(count!.n)
      }).pipe(Effect.withSpan("AuditReadModel.eventCount"))

      // events whose stream has no row (no foreign key says so since migration 0010: the append, their only writer,
      // inserts them under the stream row it writes in the same statement; DECISIONS.md 42)
      const orphanEvents = Effect.gen(function* () {
        const rows = yield* sql<{ stream_id: string; n: number }>`
          SELECT e.stream_id, count(*)::int AS n FROM events e
          WHERE NOT EXISTS (SELECT 1 FROM event_streams s WHERE s.stream_id = e.stream_id)
          GROUP BY e.stream_id ORDER BY e.stream_id LIMIT 100`
        return rows.map((r) => ({ streamId: r.stream_id, n: r.n }))
      }).pipe(Effect.withSpan("AuditReadModel.orphanEvents"))

      const workspaceKnown = Effect.fn("AuditReadModel.workspaceKnown")(function* (
        workspaceId: string,
        streamId: string
      ) {
        const [known] = yield* sql<{ workspace: boolean; stream: boolean }>`SELECT
            EXISTS (SELECT 1 FROM workspaces WHERE id = ${workspaceId}) AS workspace,
            EXISTS (SELECT 1 FROM event_streams WHERE stream_id = ${streamId}) AS stream`
        return { workspace: known!.workspace, stream: known!.stream }
      })

      const runScope = Effect.fn("AuditReadModel.runScope")(function* (runId: string) {
        const rows = yield* sql<{ ordinal: number; lead_id: string }>`SELECT ordinal, lead_id FROM run_scope
            WHERE run_id = ${runId} ORDER BY ordinal`
        return rows.map((r) => ({ ordinal: r.ordinal, leadId: r.lead_id }))
      })

      const runProjection = Effect.fn("AuditReadModel.runProjection")(function* (runId: string) {
        const [row] = yield* sql<{
          status: string
          count_pending: number
          count_running: number
          count_completed: number
          count_skipped: number
          count_failed: number
          reserved: string
          captured: string
          released: string
        }>`SELECT status, count_pending, count_running, count_completed, count_skipped, count_failed,
                reserved::text, captured::text, released::text FROM enrichment_runs WHERE id = ${runId}`
        if (row === undefined) return undefined
        return {
          status: row.status,
          countPending: row.count_pending,
          countRunning: row.count_running,
          countCompleted: row.count_completed,
          countSkipped: row.count_skipped,
          countFailed: row.count_failed,
          reserved: Number(row.reserved),
          captured: Number(row.captured),
          released: Number(row.released)
        } satisfies RunProjectionRow
      })

      const runItemCount = Effect.fn("AuditReadModel.runItemCount")(function* (runId: string) {
        const [items] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM run_items WHERE run_id = ${runId}`
        return items!.n
      })

      const creditAccount = Effect.fn("AuditReadModel.creditAccount")(function* (workspaceId: string) {
        const [account] = yield* sql<{ granted: string; held: string; captured: string }>`
          SELECT granted::text, held::text, captured::text FROM credit_accounts WHERE workspace_id = ${workspaceId}`
        if (account === undefined) return undefined
        return {
          granted: Number(account.granted),
          held: Number(account.held),
          captured: Number(account.captured)
        } satisfies CreditAccountRow
      })

      const unsettledRuns = Effect.gen(function* () {
        const rows = yield* sql<{
          id: string
          status: string
          age_ms: number
          any_alive: boolean
          last_expired_ago_ms: number | null
        }>`
          SELECT r.id, r.status,
            (extract(epoch FROM now() - r.created_at) * 1000)::float8 AS age_ms,
            coalesce(l.any_alive, false) AS any_alive,
            (extract(epoch FROM now() - l.last_expiry) * 1000)::float8 AS last_expired_ago_ms
          FROM enrichment_runs r
          CROSS JOIN LATERAL (
            SELECT bool_or(expires_at > now()) AS any_alive, max(expires_at) AS last_expiry
            FROM run_leases WHERE run_id = r.id
          ) l
          WHERE r.settled_at IS NULL
          ORDER BY r.id`
        return rows.map(
          (r): UnsettledRunRow => ({
            id: r.id,
            status: r.status,
            ageMs: r.age_ms,
            anyAlive: r.any_alive,
            lastExpiredAgoMs: r.last_expired_ago_ms
          })
        )
      }).pipe(Effect.withSpan("AuditReadModel.unsettledRuns"))

      const compareWithRebuild = Effect.gen(function* () {
        // the projection code, only for the commands that rebuild
        const { projectionTables, rebuildReadModels } = yield* Effect.promise(() => import("./Rebuild.ts"))
        const outcome = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              // no write lands between the snapshots below and the rebuild's own locks
              yield* sql.unsafe(`LOCK TABLE ${projectionTables.join(", ")} IN SHARE MODE`)
              for (const table of projectionTables) {
                yield* sql.unsafe(`CREATE TEMP TABLE audit_${table} ON COMMIT DROP AS SELECT * FROM ${table}`)
              }
              const replayed = yield* rebuildReadModels
              const diffs: Array<TableDiff> = []
              for (const table of projectionTables) {
                const [counts] = yield* sql.unsafe<{ projected: number; rebuilt: number }>(
                  `SELECT (SELECT count(*)::int FROM audit_${table}) AS projected, (SELECT count(*)::int FROM ${table}) AS rebuilt`
                )
                const onlyProjected = yield* sql.unsafe<{ row: unknown }>(
                  `SELECT to_jsonb(x) AS row FROM (SELECT * FROM audit_${table} EXCEPT ALL SELECT * FROM ${table}) x LIMIT 10`
                )
                const onlyRebuilt = yield* sql.unsafe<{ row: unknown }>(
                  `SELECT to_jsonb(x) AS row FROM (SELECT * FROM ${table} EXCEPT ALL SELECT * FROM audit_${table}) x LIMIT 10`
                )
                if (onlyProjected.length > 0 || onlyRebuilt.length > 0) {
                  diffs.push({
                    table,
                    projected: counts!.projected,
                    rebuilt: counts!.rebuilt,
                    onlyProjected: onlyProjected.map((r) => r.row),
                    onlyRebuilt: onlyRebuilt.map((r) => r.row)
                  })
                }
              }
              return yield* new Rollback({ diffs: { replayed: replayed.replayed, diffs } })
            })
          )
          .pipe(
            Effect.provideService(SqlClient.SqlClient, sql),
            retryOnDeadlock,
            Effect.catchTag("Rollback", (r) =>
              Effect.succeed(r.diffs as { replayed: number; diffs: Array<TableDiff> })
            ),
            Effect.catchCause((cause) =>
              Effect.succeed({ replayed: 0, diffs: [], failed: `the rebuild failed: ${String(cause).slice(0, 2000)}` })
            )
          )
        return outcome as RebuildComparison
      }).pipe(Effect.withSpan("AuditReadModel.compareWithRebuild"))

      return AuditReadModel.of({
        streamExists,
        streamWorkspace,
        streams,
        lastPositionAtOrBefore,
        eventCount,
        orphanEvents,
        workspaceKnown,
        runScope,
        runProjection,
        runItemCount,
        creditAccount,
        unsettledRuns,
        compareWithRebuild
      })
    })
  )
}
