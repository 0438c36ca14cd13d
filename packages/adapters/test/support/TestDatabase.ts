/**
 * A fresh database per test file, in the PostgreSQL the test run uses (the
 * machine's service when DATABASE_URL is set, else the embedded one started by
 * the global setup). Dropped when the file's layer is released.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import { Reactivity } from "effect/reactivity"
import { inject } from "vitest"
import { DatabaseLive, DatabaseUrl } from "../../src/postgres/Database.ts"

declare module "vitest" {
  export interface ProvidedContext {
    /** the PostgreSQL server of this test run (see test/global-setup.ts) */
    databaseUrl: string
  }
}

/** `f` on an admin connection of its own, closed after. */
const withAdmin = <A, E, R>(base: string, f: (admin: PgClient.PgClient) => Effect.Effect<A, E, R>) =>
  Effect.scoped(Effect.flatMap(PgClient.make({ url: Redacted.make(base), maxConnections: 1 }), f))

export const TestDatabaseUrl = Layer.effect(
  DatabaseUrl,
  Effect.gen(function* () {
    const base = inject("databaseUrl")
    const name = `enrich_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
    yield* withAdmin(base, (admin) => admin`CREATE DATABASE ${admin(name)}`)
    // dropped on a connection opened for it: a pool whose scope is closing cannot open one, and a pool
    // kept for the drop closes its idle connection after a minute (test files longer than that hung here)
    yield* Effect.addFinalizer(() =>
      Effect.ignore(withAdmin(base, (admin) => admin`DROP DATABASE IF EXISTS ${admin(name)} WITH (FORCE)`))
    )
    const url = new URL(base)
    url.pathname = `/${name}`
    return DatabaseUrl.of({ url: Redacted.make(url.toString()), embedded: false })
  }).pipe(Effect.orDie)
).pipe(Layer.provide(Reactivity.layer))

/** SqlClient on a fresh, migrated database (and its DatabaseUrl). */
export const TestDatabaseLive = DatabaseLive.pipe(Layer.provideMerge(TestDatabaseUrl))
