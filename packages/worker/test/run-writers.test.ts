/**
 * A run's write transactions are gated in the process (ENRICH_RUN_WRITERS, decision 39): with one writer,
 * many concurrent batches of one run never queue on its stream row in PostgreSQL, and every item still ends
 * recorded exactly once.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Ref } from "effect"
import { SqlClient } from "effect/sql"
import { RunExecutor } from "../src/RunExecutor.ts"
import { executorWith } from "./support/Executor.ts"
import { listRun } from "./support/ListRuns.ts"

const Live = executorWith({ ENRICH_BATCH_SIZE: "10", ENRICH_RUN_WRITERS: "1" })

layer(Live, { timeout: 120_000, excludeTestServices: true })("A run's writers (integration)", (it) => {
  it.effect("with_one_writer_concurrent_batches_of_a_run_never_wait_on_its_locks_in_postgres", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const { runId, run } = yield* listRun("writers", 300)
      const executor = yield* RunExecutor

      // backends of this database waiting for a lock, sampled while the batches run
      const mostWaiting = yield* Ref.make(0)
      const sampler = yield* Effect.forkChild(
        Effect.forever(
          Effect.gen(function* () {
            const [row] = yield* sql<{ n: number }>`
              SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'`
            yield* Ref.update(mostWaiting, (n) => Math.max(n, row?.n ?? 0))
            yield* Effect.sleep("2 millis")
          })
        )
      )
      const outcomes = yield* Effect.all(
        Array.from({ length: 40 }, (_, i) => executor.runBatch(run, `${runId}/w-${i}`)),
        { concurrency: "unbounded" }
      )
      yield* Fiber.interrupt(sampler)

      assert.strictEqual(
        outcomes.reduce((n, o) => n + o.claimed, 0),
        300,
        "the 40 batches claimed every item once"
      )
      assert.strictEqual(yield* Ref.get(mostWaiting), 0, "no write transaction queued in PostgreSQL")
      const [counts] = yield* sql<{ completed: number; running: number; pending: number; results: number }>`
        SELECT count_completed AS completed, count_running AS running, count_pending AS pending,
               (SELECT count(*)::int FROM run_items WHERE run_id = ${runId} AND recorded_at IS NOT NULL) AS results
        FROM enrichment_runs WHERE id = ${runId}`
      assert.deepStrictEqual(counts, { completed: 300, running: 0, pending: 0, results: 300 })
    })
  )
})
