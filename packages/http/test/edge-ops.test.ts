/**
 * Operating the edge: per-key rate limits (429 with Retry-After), Prometheus
 * metrics by route pattern, and the request id on every response.
 */
import { assert, describe, it as plain, layer } from "@effect/vitest"
import { Effect } from "effect"
import { routeOf } from "../src/server/Metrics.ts"
import { RateLimiter } from "../src/server/RateLimit.ts"
import { ADMIN_TOKEN, apiOnlyTestServer, TestServer } from "./support/TestServer.ts"

describe("Rate limiter (unit)", () => {
  plain.effect("a_bucket_allows_its_burst_then_refills_at_the_rate", () =>
    Effect.gen(function* () {
      let now = 0
      const limiter = RateLimiter.make({ perSecond: 2, burst: 3, now: () => now })
      const take = () => Effect.map(limiter.take("k"), (r) => (r.allowed ? "ok" : `wait ${r.retryAfter}`))
      assert.deepStrictEqual([yield* take(), yield* take(), yield* take(), yield* take()], ["ok", "ok", "ok", "wait 1"])
      assert.strictEqual(yield* Effect.map(limiter.take("other"), (r) => r.allowed), true, "buckets are per key")
      now = 0.5
      assert.strictEqual(yield* take(), "ok", "half a second at 2/s refills one token")
      assert.strictEqual(yield* take(), "wait 1")
      const off = RateLimiter.make({ perSecond: 0, burst: 1, now: () => now })
      for (let i = 0; i < 10; i++) assert.isTrue((yield* off.take("k")).allowed)
    })
  )

  plain("routes_are_labelled_by_pattern_not_by_id", () => {
    assert.strictEqual(routeOf("/api/enrichment/0193-abc/items?limit=5"), "/api/enrichment/:id/items")
    assert.strictEqual(routeOf("/api/enrichment/0193-abc"), "/api/enrichment/:id")
    assert.strictEqual(routeOf("/api/lists/xyz/leads"), "/api/lists/:id/leads")
    assert.strictEqual(routeOf("/admin/api-keys/k1/revoke"), "/admin/api-keys/:id/revoke")
    assert.strictEqual(routeOf("/admin/runs/0193-abc/fail"), "/admin/runs/:id/fail")
    assert.strictEqual(routeOf("/metrics"), "/metrics")
    assert.strictEqual(routeOf("/%ff%fe/../x"), "other")
  })
})

const LimitedServer = apiOnlyTestServer({ ENRICH_RATE_LIMIT: "1", ENRICH_RATE_LIMIT_BURST: "2" })

layer(LimitedServer, { timeout: 120_000, excludeTestServices: true })("Edge operations (integration)", (it) => {
  it.effect("a_key_over_its_rate_gets_429_with_retry_after_and_other_keys_are_not_affected", () =>
    Effect.gen(function* () {
      const api = yield* TestServer
      const [a, b] = yield* Effect.promise(() =>
        Promise.all(
          ["A", "B"].map(
            async (name) => (await api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name } })).body.apiKey
          )
        )
      )
      const replies = yield* Effect.promise(async () => {
        const out = []
        for (let i = 0; i < 3; i++) out.push(await api.get("/api/enrichments", { key: a }))
        return out
      })
      assert.deepStrictEqual(
        replies.map((r) => r.status),
        [200, 200, 429]
      )
      const limited = replies[2]!
      assert.strictEqual(limited.body.code, "RATE_LIMITED")
      assert.strictEqual(limited.headers.get("retry-after"), String(limited.body.retryAfter))
      assert.isString(limited.headers.get("x-request-id"))
      const other = yield* Effect.promise(() => api.get("/api/enrichments", { key: b }))
      assert.strictEqual(other.status, 200)
    })
  )

  it.effect("metrics_count_requests_per_route_and_status_and_expose_run_counters", () =>
    Effect.gen(function* () {
      const api = yield* TestServer
      yield* Effect.promise(() => api.get("/api/enrichment/some-id", { key: "nope" }))
      const metrics = yield* Effect.promise(() => api.get("/metrics"))
      assert.strictEqual(metrics.status, 200)
      assert.include(metrics.headers.get("content-type") ?? "", "text/plain")
      const text = String(metrics.body)
      assert.match(text, /enrich_http_requests_total\{method="GET",route="\/api\/enrichments",status="429"\} 1/)
      assert.match(text, /enrich_http_requests_total\{method="GET",route="\/api\/enrichment\/:id",status="401"\} 1/)
      assert.match(text, /enrich_http_request_duration_seconds_count\{method="GET",route="\/api\/enrichments"\} 4/)
      assert.match(text, /enrich_items\{status="completed"\} 0/)
      assert.notInclude(text, "some-id", "ids never become labels")
    })
  )
})
