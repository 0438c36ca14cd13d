/**
 * Every connection's limits and the transactions that run again (decision 48): no statement runs past
 * ENRICH_DB_STATEMENT_TIMEOUT_MS and it is not run again (it would run as long again); a transaction that
 * waited past ENRICH_DB_LOCK_TIMEOUT_MS is run again, and goes through once the lock is free; the operator's
 * long work lifts both in its own transaction.
 */
import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Fiber, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { withoutTimeouts } from "@enrich/adapters/postgres/Transient"
import { TestDatabaseLive } from "@enrich/adapters/testing/TestDatabase"

const Limited = TestDatabaseLive.pipe(
  Layer.provide(
    ConfigProvider.layer(
      ConfigProvider.fromEnv({
        env: { ...process.env, ENRICH_DB_STATEMENT_TIMEOUT_MS: "400", ENRICH_DB_LOCK_TIMEOUT_MS: "300" } as Record<
          string,
          string
        >
      })
    )
  )
)

layer(Limited, { timeout: 60_000, excludeTestServices: true })("Connection limits (integration)", (it) => {
  it.effect("a_statement_past_the_timeout_fails_once_and_is_not_run_again", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const [shown] = yield* sql<{ statement_timeout: string }>`SHOW statement_timeout`
      assert.strictEqual(shown!.statement_timeout, "400ms")
      const started = Date.now()
      const failed = yield* Effect.flip(sql.withTransaction(sql`SELECT pg_sleep(2)`))
      assert.strictEqual(failed.reason._tag, "StatementTimeoutError")
      assert.isBelow(Date.now() - started, 1_500, "one attempt, not six")
    })
  )

  it.effect("a_transaction_that_waited_past_the_lock_timeout_runs_again_and_goes_through", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE lock_probe (id int PRIMARY KEY, n int NOT NULL)`
      yield* sql`INSERT INTO lock_probe VALUES (1, 0)`
      const held = yield* Deferred.make<void>()
      const holder = yield* sql
        .withTransaction(
          Effect.gen(function* () {
            yield* sql`SELECT n FROM lock_probe WHERE id = 1 FOR UPDATE`
            yield* Deferred.succeed(held, undefined)
            yield* Effect.sleep(900)
          })
        )
        .pipe(Effect.forkChild)
      yield* Deferred.await(held)
      // waits 300 ms, fails with a lock timeout, runs again (100 ms doubling) until the holder is done
      yield* sql.withTransaction(sql`UPDATE lock_probe SET n = n + 1 WHERE id = 1`)
      yield* Fiber.join(holder)
      const [row] = yield* sql<{ n: number }>`SELECT n FROM lock_probe WHERE id = 1`
      assert.strictEqual(row!.n, 1, "the update went through once")
    })
  )

  it.effect("the_operators_long_work_lifts_the_limits_in_its_transaction", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* withoutTimeouts(sql)
          yield* sql`SELECT pg_sleep(0.6)`
        })
      )
      const [after] = yield* sql<{ statement_timeout: string }>`SHOW statement_timeout`
      assert.strictEqual(after!.statement_timeout, "400ms", "only for that transaction")
    })
  )
})
