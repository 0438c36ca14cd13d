/**
 * The hand-over fence for an engine that is not part of our transaction
 * (Trigger.dev): its task takes a shared, transaction-scoped advisory lock
 * keyed by the run id before it reads the run (`RunExecutor.awaitHandOver`).
 *
 * The dispatcher no longer holds that lock: the dispatch commits the run before
 * it calls the engine (docs/DECISIONS.md 16), so a task always finds its run
 * committed — or none, when the trigger outlived a dispatch that never stored
 * it. The wait is kept because it costs one uncontended statement and keeps a
 * task of this version safe next to an API process of an earlier one (the two
 * are deployed apart), which called Trigger.dev inside its dispatch transaction
 * holding the lock exclusively until its end: the task then waits for that
 * transaction, and sees the run committed or rolled back — never "no run yet".
 *
 * The two-key form of the advisory lock functions has its own key space, apart
 * from the single-key locks of migrations, rebuilds, identities and the cluster.
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"

/** Arbitrary constant: the first key of every hand-over lock (as earlier dispatchers took it). */
const HAND_OVER_LOCK = 727_431_003

/** Waits until no dispatch transaction holds the run's hand-over lock (call inside a transaction). */
export const awaitHandOver = (sql: SqlClient.SqlClient, runId: string) =>
  sql`SELECT pg_advisory_xact_lock_shared(${HAND_OVER_LOCK}::int4, hashtext(${runId}))`.pipe(Effect.asVoid)
