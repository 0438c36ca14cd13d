/**
 * A crash never loses a webhook (real processes: an API process and worker processes on one database, a real
 * receiver verifying with `standardwebhooks`):
 * - a worker SIGKILLed after it settled a run and before it delivered (its delivery loop was not due to look
 *   yet): the next worker delivers it, once;
 * - a worker SIGKILLed while its attempt is in flight (the receiver holds the request): once the claim's lease
 *   passes, the next worker sends it again under the same `webhook-id` — a duplicate the spec allows — and
 *   records it delivered.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { DatabaseLive, DatabaseUrl } from "@enrich/adapters/postgres/Database"
import { freePort } from "@enrich/adapters/postgres/EmbeddedPostgres"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { startApiProcess } from "@enrich/http/testing/ApiProcess"
import { eventually, type TestClient } from "@enrich/http/testing/HttpTestClient"
import { ADMIN_TOKEN } from "@enrich/http/testing/TestServer"
import { startProcess, stopProcess } from "./support/Processes.ts"
import { type Receiver, startReceiver } from "./support/Receiver.ts"

const webhookEnv = { ENRICH_WEBHOOK_ALLOW_PRIVATE: "1", ENRICH_WEBHOOK_TIMEOUT_MS: "1000" }

/** An API process on the test database that accepts loopback webhook URLs. */
const apiProcess = Effect.map(startApiProcess({ ENRICH_RATE_LIMIT: "0", ...webhookEnv }), (api) => api.client)

const startWorker = (pollMs: number) =>
  Effect.gen(function* () {
    const { url } = yield* DatabaseUrl
    const port = yield* Effect.promise(freePort)
    return yield* startProcess("packages/worker/src/bin/worker.ts", {
      DATABASE_URL: Redacted.value(url),
      ENRICH_RUNNER_PORT: String(port),
      ENRICH_WEBHOOK_POLL_MS: String(pollMs),
      ...webhookEnv
    })
  })

const setUp = (api: TestClient, receiver: Receiver) =>
  Effect.promise(async () => {
    const created = await api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Crash", credits: 10 } })
    const key = created.body.apiKey as string
    const webhook = await api.post("/api/webhooks", { key, body: { url: receiver.url, events: ["run.completed"] } })
    assert.strictEqual(webhook.status, 201, JSON.stringify(webhook.body))
    receiver.secrets.push(webhook.body.webhook.secret)
    const lead = await api.post("/api/leads", { key, body: { type: "person", email: "ada@example.org" } })
    return { key, webhookId: webhook.body.webhook.id as string, leadId: lead.body.lead.id as string }
  })

const settledRun = (api: TestClient, key: string, leadId: string) =>
  Effect.promise(async () => {
    const dispatched = await api.post("/api/enrichment", {
      key,
      body: { enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds: [leadId] } }
    })
    assert.strictEqual(dispatched.status, 202, JSON.stringify(dispatched.body))
    return await eventually(async () => {
      const run = (await api.get(`/api/enrichment/${dispatched.body.runId}`, { key })).body.run
      return run.timing.settledAt === null ? undefined : run
    }, 60_000)
  })

const deliveryOf = (api: TestClient, key: string, webhookId: string) =>
  Effect.promise(async () => (await api.get(`/api/webhooks/${webhookId}/deliveries`, { key })).body.deliveries)

/** The webhook's one delivery, once it succeeded. */
const delivered = (api: TestClient, key: string, webhookId: string) =>
  Effect.promise(() =>
    eventually(async () => {
      const [d] = (await api.get(`/api/webhooks/${webhookId}/deliveries`, { key })).body.deliveries
      return d.status === "succeeded" ? d : undefined
    }, 60_000)
  )

const Live = DatabaseLive.pipe(Layer.provideMerge(TestDatabaseUrl))

layer(Live, { timeout: 180_000, excludeTestServices: true })("Webhooks across crashes (processes)", (it) => {
  it.effect("a_worker_sigkilled_between_settlement_and_delivery_still_delivers_once", () =>
    Effect.gen(function* () {
      const api = yield* apiProcess
      const receiver = yield* startReceiver()
      const { key, webhookId, leadId } = yield* setUp(api, receiver)
      // its delivery loop looks once at start, then not for a minute: the run settles, nothing is sent
      const first = yield* startWorker(60_000)
      const run = yield* settledRun(api, key, leadId)
      yield* stopProcess(first, "SIGKILL")
      const [written] = yield* deliveryOf(api, key, webhookId)
      assert.include(
        written,
        { runId: run.id, status: "pending", attempts: 0 },
        "the outbox row came with the settlement"
      )
      assert.strictEqual(receiver.received.length, 0)

      yield* startWorker(50)
      const sent = yield* delivered(api, key, webhookId)
      assert.include(sent, { attempts: 1, lastStatusCode: 200 })
      yield* Effect.sleep("500 millis")
      assert.strictEqual(receiver.received.length, 1)
      assert.deepStrictEqual(receiver.received[0]!.verified, [true])
      assert.strictEqual(receiver.received[0]!.id, sent.id)
      assert.deepStrictEqual(receiver.received[0]!.body.data.run, run)
    })
  )

  it.effect("a_worker_sigkilled_during_an_attempt_is_followed_by_a_resend_under_the_same_id", () =>
    Effect.gen(function* () {
      const api = yield* apiProcess
      // the first request is held: the worker dies with it in flight
      const receiver = yield* startReceiver((n) => (n === 1 ? "hang" : 200))
      const { key, webhookId, leadId } = yield* setUp(api, receiver)
      const first = yield* startWorker(50)
      yield* settledRun(api, key, leadId)
      yield* Effect.promise(() => eventually(async () => (receiver.received.length >= 1 ? true : undefined), 30_000))
      yield* stopProcess(first, "SIGKILL")
      const [inFlight] = yield* deliveryOf(api, key, webhookId)
      assert.include(inFlight, { status: "pending", attempts: 1, lastStatusCode: null })

      yield* startWorker(50)
      const sent = yield* delivered(api, key, webhookId)
      assert.include(sent, { attempts: 2, lastStatusCode: 200 })
      assert.strictEqual(receiver.received.length, 2)
      assert.deepStrictEqual(
        receiver.received.map((r) => r.id),
        [sent.id, sent.id]
      )
      assert.strictEqual(receiver.received[1]!.raw, receiver.received[0]!.raw)
      assert.deepStrictEqual(
        receiver.received.map((r) => r.verified[0]),
        [true, true]
      )
    })
  )
})
