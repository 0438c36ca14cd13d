/**
 * A Trigger.dev run of `enrich-run` that exceeds its `maxDuration` on every attempt: Trigger.dev kills each
 * attempt mid-batch (here: the task's run function, `executeRun`, cut off by a deadline, as Trigger.dev
 * cuts its process), retries it, and gives up. Nothing took the run up again: it stayed `running` with its
 * credits held. Now each attempt's lease stops with it, and the watchdog ends the run.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Workspaces } from "@enrich/adapters/postgres/Workspaces"
import { fakeVendor } from "@enrich/catalog/testing/FakeVendor"
import { TestDatabaseLive } from "@enrich/adapters/testing/TestDatabase"
import { executeRun } from "../src/trigger/EnrichRunTask.ts"
import {
  assertSettled,
  dispatchAll,
  httpEntry,
  insertPeople,
  servicesWith,
  sweepUntilSettled
} from "./support/Failures.ts"

layer(TestDatabaseLive, { timeout: 60_000, excludeTestServices: true })("Trigger.dev attempts that never end", (it) => {
  it.effect("regression_a_trigger_dev_run_past_its_max_duration_on_every_attempt_never_settled", () =>
    Effect.gen(function* () {
      // a vendor slower than the task's maxDuration: every attempt is killed while it holds a batch
      const vendor = yield* fakeVendor(() => ({ delayMs: 60_000, json: { title: "late" } }))
      const entry = yield* httpEntry(vendor.url, { timeoutMs: 120_000 })
      yield* Effect.gen(function* () {
        const { workspace } = yield* (yield* Workspaces).create({ name: "max-duration", credits: 5 })
        yield* insertPeople(
          workspace.id,
          Array.from({ length: 5 }, (_, i) => `p${i + 1}@corp.example`)
        )
        const run = { runId: yield* dispatchAll(workspace.id, "vendor_title"), workspaceId: workspace.id }
        for (let attempt = 1; attempt <= 3; attempt++) {
          const outcome = yield* Effect.exit(executeRun(run).pipe(Effect.timeout("700 millis")))
          assert.strictEqual(outcome._tag, "Failure", `attempt ${attempt} was cut off`)
        }
        assert.isAtLeast(vendor.requests.length, 5, "the attempts reached the vendor")
        const sweeps = yield* sweepUntilSettled(run.runId)
        assert.isAtMost(sweeps, 5)
        const end = yield* assertSettled(run.runId)
        assert.strictEqual(end.status, "failed")
        assert.deepStrictEqual([end.captured, end.released], [0, 5])
      }).pipe(Effect.provide(servicesWith([entry])))
    })
  )
})
