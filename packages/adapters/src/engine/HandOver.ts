/**
 * The hand-over fence for an engine that is not part of our transaction
 * (Trigger.dev). The dispatcher holds an exclusive, transaction-scoped
 * advisory lock keyed by the run id while it calls the engine, inside the
 * dispatch transaction; the engine's task takes the same lock (shared) before
 * it reads the run. A task that starts while the dispatch transaction is still
 * open therefore waits for its end, then sees the run (committed) or no run
 * (rolled back: nothing to do) — never "no run yet".
 *
 * The two-key form of the advisory lock functions has its own key space, apart
 * from the single-key locks of migrations, rebuilds, identities and the cluster.
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"

/** Arbitrary constant: the first key of every hand-over lock. */
const HAND_OVER_LOCK = 727_431_003

/** Holds the run's hand-over lock until the caller's transaction ends. */
export const holdHandOver = (sql: SqlClient.SqlClient, runId: string) =>
  sql`SELECT pg_advisory_xact_lock(${HAND_OVER_LOCK}::int4, hashtext(${runId}))`.pipe(Effect.asVoid)

/** Waits until no dispatch transaction holds the run's hand-over lock (call inside a transaction). */
export const awaitHandOver = (sql: SqlClient.SqlClient, runId: string) =>
  sql`SELECT pg_advisory_xact_lock_shared(${HAND_OVER_LOCK}::int4, hashtext(${runId}))`.pipe(Effect.asVoid)
