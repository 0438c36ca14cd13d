/**
 * The delivery rounds (records, then claims) of WebhookStorePgLive on a real PostgreSQL: the per-endpoint bound holds
 * for claimers racing from separate connections (as separate processes do), a claim whose holder died is
 * taken again once its lease passes, a last attempt whose holder died ends the delivery as failed, a stale
 * holder's record is ignored, and a 410 disables the endpoint and fails what was pending for it.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { type AttemptRecord, type ClaimedDelivery, WebhookStore } from "@enrich/application/ports/Webhooks"
import { WebhookStorePgLive } from "../../src/postgres/WebhooksPg.ts"
import { TestDatabaseLive } from "../support/TestDatabase.ts"

const WS = "ws-webhooks"

const Fixtures = Layer.effectDiscard(
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO workspaces (id, name) VALUES (${WS}, 'webhooks')`
  })
)

const Live = WebhookStorePgLive.pipe(Layer.provideMerge(Fixtures), Layer.provideMerge(TestDatabaseLive))

/** An endpoint with `count` due deliveries (for runs that need not exist: their bodies render `run: null`). */
const endpointWithDeliveries = (count: number, attemptsAllowed = 8) =>
  Effect.gen(function* () {
    const store = yield* WebhookStore
    const { webhook } = yield* store.create(
      WS,
      { url: "https://1.1.1.1/hook", events: ["run.completed"], description: null },
      100
    )
    for (let i = 0; i < count; i++) {
      yield* store.enqueue({
        workspaceId: WS,
        runId: `run-${webhook.id}-${i}`,
        type: "run.completed",
        occurredAt: new Date().toISOString(),
        attemptsAllowed
      })
    }
    return webhook
  })

const answered = (statusCode: number) => ({ _tag: "Answered" as const, statusCode })

/** The store, with a claim alone and a record alone as rounds of `exchange`. */
const ops = Effect.map(Effect.service(WebhookStore), (store) => ({
  ...store,
  claimDue: (options: { readonly limit: number; readonly perEndpoint: number; readonly leaseMs: number }) =>
    store.exchange({ ended: [], ...options }),
  record: (delivery: ClaimedDelivery, outcome: AttemptRecord) =>
    Effect.asVoid(store.exchange({ ended: [{ delivery, outcome }], limit: 0, perEndpoint: 1, leaseMs: 1 }))
}))

layer(Live, { timeout: 60_000, excludeTestServices: true })("WebhookStore on PostgreSQL", (it) => {
  it.effect("claimers_racing_on_separate_connections_never_hold_more_than_the_bound_of_one_endpoint", () =>
    Effect.gen(function* () {
      const store = yield* ops
      const webhook = yield* endpointWithDeliveries(20)
      const claims = yield* Effect.all(
        Array.from({ length: 6 }, () => store.claimDue({ limit: 10, perEndpoint: 3, leaseMs: 60_000 })),
        { concurrency: "unbounded" }
      )
      const mine = claims.flat().filter((d) => d.webhookId === webhook.id)
      assert.strictEqual(mine.length, 3)
      assert.strictEqual(new Set(mine.map((d) => d.id)).size, 3)
      // one ends: one more may be taken, no more
      yield* store.record(mine[0]!, { _tag: "Succeeded", result: answered(200) })
      const next = (yield* store.claimDue({ limit: 10, perEndpoint: 3, leaseMs: 60_000 })).filter(
        (d) => d.webhookId === webhook.id
      )
      assert.strictEqual(next.length, 1)
      for (const d of [...mine.slice(1), ...next]) yield* store.record(d, { _tag: "Succeeded", result: answered(204) })
    })
  )

  it.effect("a_claim_whose_holder_died_is_taken_again_after_its_lease_and_the_stale_record_is_ignored", () =>
    Effect.gen(function* () {
      const store = yield* ops
      const webhook = yield* endpointWithDeliveries(1)
      const [first] = (yield* store.claimDue({ limit: 10, perEndpoint: 4, leaseMs: 200 })).filter(
        (d) => d.webhookId === webhook.id
      )
      assert.strictEqual(first!.attempts, 1)
      assert.lengthOf(
        (yield* store.claimDue({ limit: 10, perEndpoint: 4, leaseMs: 200 })).filter((d) => d.webhookId === webhook.id),
        0,
        "held while its lease lasts"
      )
      yield* Effect.sleep("300 millis")
      const [again] = (yield* store.claimDue({ limit: 10, perEndpoint: 4, leaseMs: 60_000 })).filter(
        (d) => d.webhookId === webhook.id
      )
      assert.strictEqual(again!.id, first!.id)
      assert.strictEqual(again!.attempts, 2)
      assert.strictEqual(again!.body, first!.body, "the same bytes under the same id")
      // the first holder comes back late: its record changes nothing
      yield* store.record(first!, { _tag: "Failed", result: answered(500), disableEndpoint: false })
      const page = yield* store.deliveries(WS, webhook.id, { cursor: undefined, limit: 10 })
      assert.include(page.deliveries[0], { status: "pending", attempts: 2 })
      yield* store.record(again!, { _tag: "Succeeded", result: answered(200) })
      const done = yield* store.deliveries(WS, webhook.id, { cursor: undefined, limit: 10 })
      assert.include(done.deliveries[0], { status: "succeeded", attempts: 2, lastStatusCode: 200 })
    })
  )

  it.effect("a_last_attempt_whose_holder_died_ends_the_delivery_failed", () =>
    Effect.gen(function* () {
      const store = yield* ops
      const webhook = yield* endpointWithDeliveries(1, 1)
      const [claimed] = (yield* store.claimDue({ limit: 10, perEndpoint: 4, leaseMs: 100 })).filter(
        (d) => d.webhookId === webhook.id
      )
      assert.strictEqual(claimed!.attemptsAllowed, 1)
      yield* Effect.sleep("200 millis")
      yield* store.claimDue({ limit: 10, perEndpoint: 4, leaseMs: 100 })
      const page = yield* store.deliveries(WS, webhook.id, { cursor: undefined, limit: 10 })
      assert.include(page.deliveries[0], { status: "failed", attempts: 1, nextAttemptAt: null })
      assert.match(page.deliveries[0]!.lastError!, /stopped/)
    })
  )

  it.effect("a_410_disables_the_endpoint_and_fails_its_pending_deliveries_and_new_events_skip_it", () =>
    Effect.gen(function* () {
      const store = yield* ops
      const sql = yield* SqlClient.SqlClient
      const webhook = yield* endpointWithDeliveries(3)
      const [gone] = (yield* store.claimDue({ limit: 10, perEndpoint: 1, leaseMs: 60_000 })).filter(
        (d) => d.webhookId === webhook.id
      )
      yield* store.record(gone!, { _tag: "Failed", result: answered(410), disableEndpoint: true })
      const page = yield* store.deliveries(WS, webhook.id, { cursor: undefined, limit: 10 })
      assert.deepStrictEqual(
        page.deliveries.map((d) => d.status),
        ["failed", "failed", "failed"]
      )
      const [row] = yield* sql<{ disabled: boolean }>`SELECT disabled_at IS NOT NULL AS disabled FROM webhooks
        WHERE id = ${webhook.id}`
      assert.isTrue(row!.disabled)
      yield* store.enqueue({
        workspaceId: WS,
        runId: "run-after",
        type: "run.completed",
        occurredAt: new Date().toISOString(),
        attemptsAllowed: 8
      })
      assert.lengthOf((yield* store.deliveries(WS, webhook.id, { cursor: undefined, limit: 10 })).deliveries, 3)
      const redeliver = yield* Effect.flip(store.redeliver(WS, webhook.id, page.deliveries[0]!.id))
      assert.strictEqual(redeliver._tag, "WebhookDisabled")
    })
  )
})
