/**
 * Webhook delivery on Trigger.dev (trigger/WebhookDeliveryTask.ts runs `deliverDue` every minute): it
 * delivers what is due and returns once nothing is — the last attempts recorded —, leaves retries to their
 * time (a failed attempt is recorded as due later, not waited for), and returns at once when nothing is due.
 * Real stores, a real PostgreSQL, a real receiver.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { DatabaseLive } from "@enrich/adapters/postgres/Database"
import { Stores } from "@enrich/adapters/Services"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { DeliverWebhooks } from "@enrich/application/webhooks/DeliverWebhooks"
import { testConfig } from "@enrich/http/testing/TestServer"
import { deliverDue } from "../src/WebhookDelivery.ts"
import { outbox } from "./support/Outbox.ts"
import { countingReceiver } from "./support/Receiver.ts"

const Live = DeliverWebhooks.layer.pipe(
  Layer.provide(Stores),
  Layer.provideMerge(DatabaseLive),
  Layer.provideMerge(TestDatabaseUrl),
  testConfig({ ENRICH_WEBHOOK_ALLOW_PRIVATE: "1", ENRICH_WEBHOOK_POLL_MS: "50", ENRICH_WEBHOOK_MAX_PER_SECOND: "0" })
)

const statuses = (name: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql<{ status: string; attempts: number; later: boolean }>`
      SELECT status, attempts, next_attempt_at > now() AS later FROM webhook_deliveries
      WHERE workspace_id = ${name} ORDER BY id`
  })

layer(Live, { timeout: 60_000, excludeTestServices: true })("Webhook delivery as a scheduled task", (it) => {
  it.effect("what_is_due_is_delivered_and_the_task_returns_with_every_attempt_recorded", () =>
    Effect.gen(function* () {
      const ok = yield* countingReceiver({ status: 200 })
      yield* outbox("task-ok", ok.url, 30)
      yield* deliverDue(20_000)
      assert.strictEqual(ok.ids.length, 30)
      assert.strictEqual(new Set(ok.ids).size, 30)
      const rows = yield* statuses("task-ok")
      assert.deepStrictEqual(
        rows.map((r) => [r.status, r.attempts]),
        Array(30).fill(["succeeded", 1])
      )
    })
  )

  it.effect("a_failed_attempt_is_left_to_its_retry_and_nothing_due_returns_at_once", () =>
    Effect.gen(function* () {
      const failing = yield* countingReceiver({ status: 500 })
      yield* outbox("task-failing", failing.url, 3)
      yield* deliverDue(20_000)
      assert.strictEqual(failing.ids.length, 3)
      for (const row of yield* statuses("task-failing")) {
        assert.deepStrictEqual([row.status, row.attempts, row.later], ["pending", 1, true])
      }
      const started = performance.now()
      yield* deliverDue(20_000)
      assert.isBelow(performance.now() - started, 1_000)
      assert.strictEqual(failing.ids.length, 3)
    })
  )
})
