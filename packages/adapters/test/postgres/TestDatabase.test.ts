/**
 * The per-file test database of the test support (TestDatabaseUrl): created
 * when the file's layer is built, dropped when it is released, also after the
 * file ran for minutes (property tests at a high ENRICH_TEST_SCALE).
 */
import { assert, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Context, type Duration, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { Reactivity } from "effect/reactivity"
import { inject } from "vitest"
import { DatabaseUrl } from "../../src/postgres/Database.ts"
import { TestDatabaseUrl } from "../support/TestDatabase.ts"
import { testScale } from "@enrich/domain/testing/TestScale"

const exists = (name: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const admin = yield* PgClient.make({ url: Redacted.make(inject("databaseUrl")), maxConnections: 1 })
      const rows = yield* admin<{ n: number }>`SELECT count(*)::int AS n FROM pg_database WHERE datname = ${name}`
      return rows[0]!.n === 1
    })
  ).pipe(Effect.provide(Reactivity.layer), Effect.orDie)

/** Builds the layer, keeps it `idle`, releases it: the database must be there, then gone. */
const lifecycle = (idle: Duration.Input) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(TestDatabaseUrl, scope)
    const name = new URL(Redacted.value(Context.get(context, DatabaseUrl).url)).pathname.slice(1)
    assert.match(name, /^enrich_test_/)
    assert.isTrue(yield* exists(name))
    yield* Effect.sleep(idle)
    yield* Scope.close(scope, Exit.void)
    assert.isFalse(yield* exists(name), `${name} was not dropped`)
  })

it.live("a_test_database_is_created_with_its_layer_and_dropped_when_the_layer_is_released", () => lifecycle("0 millis"))

// The drop ran on an admin pool kept from the creation; after a minute idle the pool had closed its one
// connection, and from a finalizer of its own scope it could not open another: the drop waited forever, so
// every test file that ran for more than about two minutes (the edge fuzz at ENRICH_TEST_SCALE=25) hung in
// its afterAll hook and left its database behind. It takes minutes of waiting, so it runs at a scale above 1.
it.live.runIf(testScale() > 1)(
  "regression_a_test_database_idle_for_minutes_was_never_dropped_and_its_layer_hung",
  () => lifecycle("130 seconds"),
  240_000
)
