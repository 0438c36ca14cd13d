/**
 * The workflow dispatcher wakes the runners after the dispatch transaction
 * commits, never in it (DECISIONS.md 40): a commit is heard on
 * HANDED_OVER_CHANNEL, a rollback is not, and a burst of dispatches is heard
 * at least once and at most once per dispatch, with no wake lost at its end.
 */
import { assert, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Fiber, Layer, Queue } from "effect"
import { SqlClient } from "effect/sql"
import { Dispatcher } from "@enrich/domain/ports/Dispatcher"
import { ClientOnlyClusterLive, HANDED_OVER_CHANNEL, WorkflowDispatcherLive } from "../../src/engine/RunWorkflow.ts"
import { uuidv7 } from "@enrich/domain/Ids"
import { TestDatabaseLive } from "../support/TestDatabase.ts"

const aRun = () => ({ runId: uuidv7(), workspaceId: uuidv7() })

/** How long a notification may take to arrive once sent (a local server: milliseconds). */
const SETTLE = "300 millis"

/**
 * Runs `body` with a LISTEN on HANDED_OVER_CHANNEL open; `heard()` is how many
 * notifications arrived so far.
 */
const listening = <A, E, R>(body: (heard: () => number) => Effect.Effect<A, E, R>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const pg = yield* PgClient.PgClient
      const notifications = yield* pg.listen(HANDED_OVER_CHANNEL)
      let count = 0
      const counter = yield* Effect.forkScoped(
        Effect.forever(Effect.map(Queue.take(notifications), () => void count++))
      )
      const result = yield* body(() => count)
      yield* Fiber.interrupt(counter)
      return result
    })
  )

const dispatchIn = (transaction: "commit" | "rollback") =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const dispatcher = yield* Dispatcher
    const attempt = sql.withTransaction(
      Effect.gen(function* () {
        yield* dispatcher.dispatch(aRun())
        if (transaction === "rollback") return yield* Effect.fail("rolled back" as const)
      })
    )
    yield* Effect.ignore(attempt)
  })

layer(WorkflowDispatcherLive.pipe(Layer.provideMerge(ClientOnlyClusterLive), Layer.provideMerge(TestDatabaseLive)), {
  timeout: 60_000,
  excludeTestServices: true
})("WorkflowDispatcher wakes the runners after the commit", (it) => {
  it.effect("when_a_dispatch_commits_the_runners_hear_it_once", () =>
    listening((heard) =>
      Effect.gen(function* () {
        yield* dispatchIn("commit")
        yield* Effect.sleep(SETTLE)
        assert.strictEqual(heard(), 1)
      })
    )
  )

  it.effect("when_a_dispatch_rolls_back_nobody_is_woken", () =>
    listening((heard) =>
      Effect.gen(function* () {
        yield* dispatchIn("rollback")
        yield* Effect.sleep(SETTLE)
        assert.strictEqual(heard(), 0)
      })
    )
  )

  it.effect("when_a_transaction_is_still_open_its_dispatch_has_woken_nobody", () =>
    listening((heard) =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const dispatcher = yield* Dispatcher
        const before = yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* dispatcher.dispatch(aRun())
            yield* Effect.sleep(SETTLE)
            return heard()
          })
        )
        yield* Effect.sleep(SETTLE)
        assert.deepStrictEqual({ before, after: heard() }, { before: 0, after: 1 })
      })
    )
  )

  it.effect("when_dispatches_commit_in_bursts_each_burst_is_heard_and_the_last_commit_is_never_left_unheard", () =>
    listening((heard) =>
      Effect.gen(function* () {
        for (const size of [2, 10, 25]) {
          const start = heard()
          yield* Effect.forEach(Array.from({ length: size }), () => dispatchIn("commit"), { concurrency: "unbounded" })
          yield* Effect.sleep(SETTLE)
          const burst = heard() - start
          assert.isAtLeast(burst, 1, `a burst of ${size}`)
          assert.isAtMost(burst, size, `a burst of ${size}`)
          // the coalescing has ended: the next dispatch sends a NOTIFY of its own
          yield* dispatchIn("commit")
          yield* Effect.sleep(SETTLE)
          assert.strictEqual(heard() - start - burst, 1, `the dispatch after a burst of ${size}`)
        }
      })
    )
  )
})
