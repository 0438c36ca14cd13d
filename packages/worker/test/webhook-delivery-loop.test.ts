/**
 * The worker's webhook delivery loop (WebhookDeliveryLive) over the real stores and way out, on a real
 * PostgreSQL, with real receivers: a backlog drains no faster than ENRICH_WEBHOOK_MAX_PER_SECOND (a burst of
 * as many, then that rate), and no more than ENRICH_WEBHOOK_ENDPOINT_CONCURRENCY attempts are ever in flight to
 * one endpoint, however many the loop may run. The outbox is filled by SQL, as a settlement writes it.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { DatabaseLive } from "@enrich/adapters/postgres/Database"
import { Stores } from "@enrich/adapters/Services"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { eventually } from "@enrich/http/testing/HttpTestClient"
import { testConfig } from "@enrich/http/testing/TestServer"
import { WebhookDeliveryLive } from "../src/WebhookDelivery.ts"
import { outbox } from "./support/Outbox.ts"
import { countingReceiver } from "./support/Receiver.ts"

const PER_SECOND = 20
const PER_ENDPOINT = 2

const Live = WebhookDeliveryLive.pipe(
  Layer.provide(Stores),
  Layer.provideMerge(DatabaseLive),
  Layer.provideMerge(TestDatabaseUrl),
  testConfig({
    ENRICH_WEBHOOK_ALLOW_PRIVATE: "1",
    ENRICH_WEBHOOK_POLL_MS: "50",
    ENRICH_WEBHOOK_MAX_PER_SECOND: String(PER_SECOND),
    ENRICH_WEBHOOK_ENDPOINT_CONCURRENCY: String(PER_ENDPOINT),
    ENRICH_WEBHOOK_IN_FLIGHT: "32"
  })
)

const delivered = (name: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM webhook_deliveries
      WHERE workspace_id = ${name} AND status = 'succeeded'`
    return rows[0]!.n
  })

const allDelivered = (name: string, count: number) =>
  Effect.gen(function* () {
    const services = yield* Effect.context<SqlClient.SqlClient>()
    yield* Effect.promise(() =>
      eventually(
        async () => ((await Effect.runPromise(Effect.provide(delivered(name), services))) >= count ? true : undefined),
        30_000
      )
    )
  })

layer(Live, { timeout: 60_000, excludeTestServices: true })(
  "Webhook delivery loop (real stores and receivers)",
  (it) => {
    it.effect("a_backlog_drains_no_faster_than_the_rate_cap_after_its_burst", () =>
      Effect.gen(function* () {
        const fast = yield* countingReceiver()
        const count = 3 * PER_SECOND
        // a first look of the loop may come at once: the burst is PER_SECOND, the rest at PER_SECOND a second
        const filledAt = yield* outbox("cap", fast.url, count)
        yield* allDelivered("cap", count)
        const seconds = (fast.times.at(-1)! - filledAt) / 1000
        assert.strictEqual(fast.times.length, count)
        assert.isAtLeast(seconds, ((count - PER_SECOND) / PER_SECOND) * 0.8, `${count} delivered in ${seconds} s`)
        // never more than the burst plus the rate in any second
        for (const start of fast.times) {
          const inSecond = fast.times.filter((t) => t >= start && t < start + 1000).length
          assert.isAtMost(inSecond, 2 * PER_SECOND + 1)
        }
      })
    )

    it.effect("no_more_than_the_endpoint_bound_is_in_flight_to_one_endpoint", () =>
      Effect.gen(function* () {
        const slow = yield* countingReceiver({ holdMs: 150 })
        yield* outbox("bound", slow.url, 12)
        yield* allDelivered("bound", 12)
        assert.strictEqual(slow.times.length, 12)
        assert.strictEqual(slow.maxOpen(), PER_ENDPOINT)
      })
    )
  }
)
