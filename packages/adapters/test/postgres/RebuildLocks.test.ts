/**
 * The rebuild against live commands (integration): its LOCK TABLE takes the read models one by
 * one, so a command holding one it has not reached and asking for one it has is a deadlock.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { SqlClient } from "effect/sql"
import { rebuildReadModels } from "../../src/postgres/Rebuild.ts"
import { lockWaiters } from "../support/LockWaiters.ts"
import { TestDatabaseLive } from "../support/TestDatabase.ts"

layer(TestDatabaseLive, { timeout: 60_000, excludeTestServices: true })("Rebuild and live commands", (it) => {
  it.effect("regression_a_rebuild_that_deadlocked_with_a_batch_claim_failed_instead_of_running_again", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const reading = yield* Deferred.make<void>()
      const claim = yield* Deferred.make<void>()
      // a command that has read the run's snapshot (the last table the rebuild locks) and then claims items
      // (the second), as a batch's claim does
      const command = yield* sql
        .withTransaction(
          Effect.gen(function* () {
            yield* sql`SELECT count(*) FROM run_snapshots`
            yield* Deferred.succeed(reading, undefined)
            yield* Deferred.await(claim)
            yield* sql`SELECT ordinal FROM run_items WHERE run_id = 'none' FOR UPDATE`
          })
        )
        .pipe(Effect.exit, Effect.forkChild)
      yield* Deferred.await(reading)
      const rebuild = yield* Effect.forkChild(Effect.exit(rebuildReadModels))
      // the rebuild holds run_items and waits for run_snapshots; the claim now waits for run_items
      yield* lockWaiters(1)
      yield* Deferred.succeed(claim, undefined)
      const [commandExit, rebuildExit] = [yield* Fiber.join(command), yield* Fiber.join(rebuild)]
      assert.strictEqual(commandExit._tag, "Success", String(commandExit))
      assert.strictEqual(rebuildExit._tag, "Success", String(rebuildExit))
    })
  )
})
