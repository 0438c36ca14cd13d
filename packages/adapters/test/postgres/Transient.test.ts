/**
 * What the processes retry (postgres/Transient.ts): a failure PostgreSQL says may pass, whether it comes as the
 * driver's SqlError, typed by a port as a StoreFailure, carried out of a unit of work (the Transactions port), or
 * inside the event store's error.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { SqlError } from "effect/sql"
import { EventStoreError } from "@enrich/domain/ports/EventStore"
import { StoreFailure } from "@enrich/domain/ports/StoreFailure"
import { Inside, isTransient, storeFailureOrDie, toStoreFailure } from "../../src/postgres/Transient.ts"

const deadlock = new SqlError.SqlError({
  reason: new SqlError.DeadlockError({ cause: new Error("deadlock detected") })
})
const timeout = new SqlError.SqlError({
  reason: new SqlError.StatementTimeoutError({ cause: new Error("canceling statement due to statement timeout") })
})

describe("Transient failures (unit)", () => {
  it("a_deadlock_is_transient_however_it_arrives", () => {
    for (const failure of [
      deadlock,
      toStoreFailure(deadlock),
      new Inside(toStoreFailure(deadlock)),
      new Inside(deadlock)
    ]) {
      assert.isTrue(isTransient(Cause.fail(failure)), String(failure))
      assert.isTrue(isTransient(Cause.die(failure)), `${String(failure)} as a defect`)
    }
    assert.isTrue(toStoreFailure(deadlock).retryable)
  })

  it("a_statement_past_its_timeout_is_not_run_again", () => {
    assert.isFalse(isTransient(Cause.fail(timeout)))
    assert.isFalse(toStoreFailure(timeout).retryable)
    assert.isFalse(isTransient(Cause.fail(new Inside(toStoreFailure(timeout)))))
  })

  it("the_event_stores_error_caused_by_the_database_is_a_store_failure_and_anything_else_a_defect", () => {
    const viaStore = Effect.runSyncExit(storeFailureOrDie(new EventStoreError({ message: "read", cause: deadlock })))
    assert.isTrue(Exit.isFailure(viaStore))
    const failure = Exit.isFailure(viaStore) ? Cause.squash(viaStore.cause) : undefined
    assert.instanceOf(failure, StoreFailure)
    assert.isTrue((failure as StoreFailure).retryable)
    const broken = Effect.runSyncExit(storeFailureOrDie(new Error("an event that does not decode")))
    assert.isTrue(Exit.isFailure(broken) && Cause.hasDies(broken.cause))
  })
})
