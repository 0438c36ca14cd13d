import { assert, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { DatabaseUrl } from "../../src/postgres/Database.ts"
import { latestKnownMigration, runMigrations } from "../../src/postgres/Migrations.ts"
import { TestDatabaseUrl } from "../support/TestDatabase.ts"

/** A separate connection pool on the same database, as a second process would have. */
const pool = Layer.unwrap(
  Effect.gen(function* () {
    const { url } = yield* DatabaseUrl
    return PgClient.layer({ url, maxConnections: 2 })
  })
)

layer(pool.pipe(Layer.provideMerge(TestDatabaseUrl)), { timeout: 120_000, excludeTestServices: true })(
  "Migrations (integration)",
  (it) => {
    it.effect("migrations_run_from_two_processes_at_once_and_again_apply_exactly_once", () =>
      Effect.gen(function* () {
        const { url } = yield* DatabaseUrl
        const secondProcess = Effect.scoped(
          Effect.flatMap(Layer.build(PgClient.layer({ url, maxConnections: 2 })), (context) =>
            Effect.provideContext(runMigrations, context)
          )
        )
        const [a, b] = yield* Effect.all([runMigrations, secondProcess], { concurrency: 2 })
        assert.strictEqual(
          a.length + b.length,
          latestKnownMigration,
          "one of the two applies the migrations, the other finds them done"
        )
        const again = yield* runMigrations
        assert.deepStrictEqual(again, [])
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM effect_sql_migrations`
        assert.strictEqual(rows[0]!.n, latestKnownMigration)
      })
    )
  }
)
