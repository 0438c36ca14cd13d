/**
 * Webhooks end to end (API + runner in one process, real receivers on loopback, verified with the
 * `standardwebhooks` package): one `run.completed` per run whose body is the run's status, retries after
 * failures shown in the delivery log, both signatures during a rotation, 410 disabling the endpoint. The
 * deployment allows private URLs (ENRICH_WEBHOOK_ALLOW_PRIVATE=1: the receivers are on 127.0.0.1) and retries
 * fast (100 ms doubling by 4). A SIGKILLed worker is in webhooks-crash.test.ts.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { eventually, type TestClient } from "@enrich/http/testing/HttpTestClient"
import { ADMIN_TOKEN, TestServer } from "@enrich/http/testing/TestServer"
import { fullApp } from "./support/FullApp.ts"
import { type Receiver, startReceiver } from "./support/Receiver.ts"

export const webhookTestEnv = {
  ENRICH_WEBHOOK_ALLOW_PRIVATE: "1",
  ENRICH_WEBHOOK_POLL_MS: "50",
  ENRICH_WEBHOOK_BACKOFF_BASE_MS: "100",
  ENRICH_WEBHOOK_TIMEOUT_MS: "2000"
}

const call = <A>(f: (api: TestClient) => Promise<A>) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    return yield* Effect.promise(() => f(api))
  })

const workspace = (credits = 100) =>
  call(async (api) => {
    const created = await api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Hooks", credits } })
    assert.strictEqual(created.status, 201)
    return created.body.apiKey as string
  })

const createWebhook = (key: string, receiver: Receiver, events = ["run.completed"]) =>
  call(async (api) => {
    const reply = await api.post("/api/webhooks", { key, body: { url: receiver.url, events } })
    assert.strictEqual(reply.status, 201, JSON.stringify(reply.body))
    receiver.secrets.push(reply.body.webhook.secret)
    return reply.body.webhook as { id: string; secret: string }
  })

/** A run over `count` new person Leads (addresses at a reserved domain: judged at once, no DNS), settled. */
const settledRun = (key: string, count = 2) =>
  call(async (api) => {
    const imported = await api.post("/api/lists/import", {
      key,
      body: {
        leads: Array.from({ length: count }, (_, i) => ({
          type: "person",
          email: `p${i}-${Math.random().toString(36).slice(2)}@example.org`
        }))
      }
    })
    assert.strictEqual(imported.status, 200, JSON.stringify(imported.body))
    const dispatched = await api.post("/api/enrichment", {
      key,
      body: { enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds: imported.body.leadIds } }
    })
    assert.strictEqual(dispatched.status, 202, JSON.stringify(dispatched.body))
    const runId = dispatched.body.runId as string
    return await eventually(async () => {
      const run = (await api.get(`/api/enrichment/${runId}`, { key })).body.run
      return run.timing.settledAt === null ? undefined : run
    })
  })

const deliveriesOf = (key: string, webhookId: string) =>
  call(async (api) => {
    const page = await api.get(`/api/webhooks/${webhookId}/deliveries?limit=100`, { key })
    assert.strictEqual(page.status, 200, JSON.stringify(page.body))
    return page.body.deliveries as Array<any>
  })

const until = <A>(check: () => A | undefined, timeoutMs = 30_000) =>
  Effect.promise(() => eventually(async () => check(), timeoutMs))

/** The webhook's newest delivery, once `done` holds of it. */
const untilDelivery = (key: string, webhookId: string, done: (delivery: any) => boolean) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    return yield* Effect.promise(() =>
      eventually(async () => {
        const page = await api.get(`/api/webhooks/${webhookId}/deliveries?limit=1`, { key })
        const delivery = page.body.deliveries?.[0]
        return delivery !== undefined && done(delivery) ? delivery : undefined
      })
    )
  })

layer(fullApp(webhookTestEnv), { timeout: 120_000, excludeTestServices: true })(
  "Webhooks (end to end, real receivers)",
  (it) => {
    it.effect(
      "a_receiver_verifying_with_standardwebhooks_gets_exactly_one_run_completed_per_run_equal_to_its_status",
      () =>
        Effect.gen(function* () {
          const receiver = yield* startReceiver()
          const key = yield* workspace()
          const webhook = yield* createWebhook(key, receiver)
          const runs = [yield* settledRun(key), yield* settledRun(key, 3), yield* settledRun(key, 1)]
          yield* until(() => (receiver.received.length >= 3 ? true : undefined))
          // nothing more comes: each run is told once
          yield* Effect.sleep("600 millis")
          assert.strictEqual(receiver.received.length, 3)
          const statuses = yield* call(async (api) =>
            Promise.all(runs.map(async (run) => (await api.get(`/api/enrichment/${run.id}`, { key })).body.run))
          )
          const deliveries = yield* deliveriesOf(key, webhook.id)
          for (const [i, status] of statuses.entries()) {
            const got = receiver.received.find((r) => r.body.data.run.id === status.id)
            assert.isDefined(got, `run ${i} was not delivered`)
            assert.deepStrictEqual(got!.verified, [true])
            assert.strictEqual(got!.body.type, "run.completed")
            assert.strictEqual(got!.body.timestamp, status.timing.settledAt)
            assert.deepStrictEqual(got!.body.data.run, status)
            const delivery = deliveries.find((d) => d.runId === status.id)
            assert.strictEqual(got!.id, delivery.id, "webhook-id is the delivery's id")
            assert.include(delivery, {
              status: "succeeded",
              attempts: 1,
              lastStatusCode: 200,
              eventType: "run.completed"
            })
            assert.isNull(delivery.nextAttemptAt)
          }
          assert.strictEqual(new Set(receiver.received.map((r) => r.id)).size, 3)
        })
    )

    it.effect("a_receiver_failing_the_first_3_attempts_gets_the_4th_and_the_deliveries_page_shows_the_attempts", () =>
      Effect.gen(function* () {
        const receiver = yield* startReceiver((n) => (n <= 3 ? 500 : 204))
        const key = yield* workspace()
        const webhook = yield* createWebhook(key, receiver)
        const run = yield* settledRun(key)
        // after the first failure, the page shows the attempt and when the next one is due
        const retrying = yield* untilDelivery(key, webhook.id, (d) => d.attempts >= 1 && d.lastStatusCode === 500)
        assert.include(retrying, { status: "pending", lastError: "the endpoint answered 500" })
        const delivered = yield* untilDelivery(key, webhook.id, (d) => d.status === "succeeded")
        assert.include(delivered, { runId: run.id, attempts: 4, lastStatusCode: 204 })
        assert.isNull(delivered.lastError)
        assert.strictEqual(receiver.received.length, 4)
        assert.deepStrictEqual(
          receiver.received.map((r) => r.id),
          Array(4).fill(delivered.id),
          "every attempt carries the same webhook-id"
        )
        assert.deepStrictEqual(
          receiver.received.map((r) => r.verified[0]),
          [true, true, true, true]
        )
        assert.deepStrictEqual(
          receiver.received.map((r) => r.raw),
          Array(4).fill(receiver.received[0]!.raw),
          "every attempt sends the same body"
        )
      })
    )

    it.effect("after_a_rotation_a_delivery_verifies_with_the_new_secret_and_with_the_previous_one", () =>
      Effect.gen(function* () {
        const receiver = yield* startReceiver()
        const key = yield* workspace()
        const webhook = yield* createWebhook(key, receiver)
        const rotated = yield* call(async (api) => {
          const reply = await api.post(`/api/webhooks/${webhook.id}/rotate-secret`, { key })
          assert.strictEqual(reply.status, 200, JSON.stringify(reply.body))
          return reply.body.webhook
        })
        assert.match(rotated.secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
        assert.notStrictEqual(rotated.secret, webhook.secret)
        receiver.secrets.push(rotated.secret)
        yield* settledRun(key)
        yield* until(() => (receiver.received.length >= 1 ? true : undefined))
        const [got] = receiver.received
        assert.deepStrictEqual(got!.verified, [true, true], "verified with the previous secret and with the new one")
        assert.strictEqual(got!.signature.split(" ").length, 2)
        assert.isTrue(got!.signature.split(" ").every((s) => s.startsWith("v1,")))
      })
    )

    it.effect("an_endpoint_that_answers_410_is_disabled_and_nothing_more_is_sent_to_it", () =>
      Effect.gen(function* () {
        const receiver = yield* startReceiver(() => 410)
        const key = yield* workspace()
        const webhook = yield* createWebhook(key, receiver)
        yield* settledRun(key)
        const failed = yield* untilDelivery(key, webhook.id, (d) => d.status === "failed")
        assert.include(failed, { attempts: 1, lastStatusCode: 410 })
        const listed = yield* call(async (api) => (await api.get("/api/webhooks", { key })).body.webhooks)
        assert.isString(listed[0].disabledAt)
        // a later run: no delivery for a disabled endpoint
        yield* settledRun(key)
        yield* Effect.sleep("300 millis")
        assert.strictEqual((yield* deliveriesOf(key, webhook.id)).length, 1)
        assert.strictEqual(receiver.received.length, 1)
        const redeliver = yield* call((api) =>
          api.post(`/api/webhooks/${webhook.id}/deliveries/${failed.id}/redeliver`, { key })
        )
        assert.strictEqual(redeliver.status, 409)
        assert.strictEqual(redeliver.body.code, "WEBHOOK_DISABLED")
      })
    )

    it.effect("a_delivery_redelivered_is_sent_once_more_under_the_same_id", () =>
      Effect.gen(function* () {
        const receiver = yield* startReceiver((n) => (n === 1 ? 503 : 200))
        const key = yield* workspace()
        const created = yield* call(async (api) => {
          const reply = await api.post("/api/webhooks", {
            key,
            body: { url: receiver.url, events: ["run.completed", "run.failed"], description: "one try" }
          })
          receiver.secrets.push(reply.body.webhook.secret)
          return reply.body.webhook
        })
        assert.deepStrictEqual(created.events, ["run.completed", "run.failed"])
        assert.strictEqual(created.description, "one try")
        // delivered at the second attempt; redelivered, it is sent once more with the same id
        yield* settledRun(key)
        const delivered = yield* untilDelivery(key, created.id, (d) => d.status === "succeeded")
        assert.strictEqual(delivered.attempts, 2)
        const again = yield* call((api) =>
          api.post(`/api/webhooks/${created.id}/deliveries/${delivered.id}/redeliver`, { key })
        )
        assert.strictEqual(again.status, 202, JSON.stringify(again.body))
        assert.include(again.body.delivery, { id: delivered.id, status: "pending" })
        const redelivered = yield* untilDelivery(key, created.id, (d) => d.status === "succeeded" && d.attempts === 3)
        assert.strictEqual(redelivered.lastStatusCode, 200)
        assert.deepStrictEqual(
          receiver.received.map((r) => r.id),
          [delivered.id, delivered.id, delivered.id]
        )
        yield* Effect.sleep("300 millis")
        assert.strictEqual(receiver.received.length, 3, "a redeliver is one more attempt")
      })
    )
  }
)
