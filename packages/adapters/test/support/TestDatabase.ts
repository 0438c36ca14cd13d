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

export const TestDatabaseUrl = Layer.effect(
  DatabaseUrl,
  Effect.gen(function* () {
    const base = inject("databaseUrl")
    const admin = yield* PgClient.make({ url: Redacted.make(base), maxConnections: 1 })
    const name = `enrich_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
    yield* admin`CREATE DATABASE ${admin(name)}`
    yield* Effect.addFinalizer(() => Effect.ignore(admin`DROP DATABASE IF EXISTS ${admin(name)} WITH (FORCE)`))
    const url = new URL(base)
    url.pathname = `/${name}`
    return DatabaseUrl.of({ url: Redacted.make(url.toString()), embedded: false })
  }).pipe(Effect.orDie)
).pipe(Layer.provide(Reactivity.layer))

/** SqlClient on a fresh, migrated database (and its DatabaseUrl). */
export const TestDatabaseLive = DatabaseLive.pipe(Layer.provideMerge(TestDatabaseUrl))
