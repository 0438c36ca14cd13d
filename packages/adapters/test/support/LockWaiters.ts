/** Waiting until other fibers' statements queue on locks, for tests that order two sides of a race. */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { eventually } from "./EventStoreConformance.ts"

/** Until at least `n` server processes of this database wait for a lock; dies if fewer do after ~10 s. */
export const lockWaiters = (n: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [waiting] = yield* eventually(
      sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      (rows) => rows[0]!.n >= n
    )
    if (waiting!.n < n) return yield* Effect.die(new Error(`fewer than ${n} lock waiters after 10 s`))
  })
