/**
 * Operating the edge: per-key rate limits and the per-address limit before authentication (429 with
 * Retry-After), Prometheus metrics labelled by the endpoint's pattern (every other path is `other`),
 * run gauges from the unsettled runs, the metrics token, and the request id on every response.
 */
import { assert, describe, it as plain, layer } from "@effect/vitest"
import { Effect } from "effect"
import { HttpApi } from "effect/http-api"
import { EnrichApi } from "../src/api/Api.ts"
import { routeLabels, routeOf } from "../src/server/Metrics.ts"
import { addressKey, RateLimiter, UnauthenticatedLimiter } from "../src/server/RateLimit.ts"
import { ADMIN_TOKEN, apiOnlyTestServer, expectError, TestServer, use } from "./support/TestServer.ts"

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

  plain("an_address_is_refused_after_its_burst_of_failures_only_and_addresses_are_kept_bounded", () => {
    let now = 0
    const limiter = UnauthenticatedLimiter.make({ perSecond: 0.5, burst: 2, maxAddresses: 3, now: () => now })
    for (let i = 0; i < 5; i++) assert.isTrue(limiter.check("10.0.0.1").allowed, "checking takes nothing")
    limiter.failed("10.0.0.1")
    assert.isTrue(limiter.check("10.0.0.1").allowed)
    limiter.failed("10.0.0.1")
    assert.deepStrictEqual(limiter.check("10.0.0.1"), { allowed: false, retryAfter: 2 })
    assert.deepStrictEqual(limiter.check("::ffff:10.0.0.1"), { allowed: false, retryAfter: 2 }, "IPv4-mapped is IPv4")
    assert.isTrue(limiter.check("10.0.0.2").allowed, "another address is not affected")
    now = 2
    assert.isTrue(limiter.check("10.0.0.1").allowed, "2 s at 0.5/s refills one failure")
    // one /64 is one client; a full bucket is no bucket; past maxAddresses the oldest go
    limiter.failed("2001:db8:1:2::1")
    limiter.failed("2001:db8:1:2:ffff::9")
    assert.isFalse(limiter.check("2001:0db8:0001:0002:0:0:0:5").allowed)
    for (let i = 0; i < 10; i++) limiter.failed(`192.0.2.${i}`)
    assert.isAtMost(limiter.size(), 3)
    const off = UnauthenticatedLimiter.make({ perSecond: 0, burst: 1 })
    for (let i = 0; i < 10; i++) off.failed("10.0.0.1")
    assert.isTrue(off.check("10.0.0.1").allowed, "0 turns it off")
    assert.strictEqual(addressKey("::1"), "0:0:0:0::/64")
    assert.strictEqual(addressKey("fe80::1%eth0"), "fe80:0:0:0::/64")
  })

  plain("routes_are_labelled_by_the_pattern_of_the_endpoint_they_match_and_every_other_path_is_other", () => {
    assert.strictEqual(routeOf("/api/enrichment/0193-abc/items?limit=5"), "/api/enrichment/:id/items")
    assert.strictEqual(routeOf("/api/enrichment/0193-abc"), "/api/enrichment/:id")
    assert.strictEqual(routeOf("/api/lists/xyz/leads"), "/api/lists/:id/leads")
    assert.strictEqual(routeOf("/admin/api-keys/k1/revoke"), "/admin/api-keys/:id/revoke")
    assert.strictEqual(routeOf("/admin/runs/0193-abc/fail"), "/admin/runs/:id/fail")
    assert.strictEqual(routeOf("/metrics?t=1"), "/metrics")
    assert.strictEqual(routeOf("/openapi.json"), "/openapi.json")
    assert.strictEqual(routeOf("/docs"), "/docs")
    for (const unknown of [
      "/%ff%fe/../x",
      "/api/nope",
      "/api/",
      "/api/enrichment/a/b/c",
      "/admin/whatever",
      `/api/${"x".repeat(8000)}`,
      `/api/enrichment/${"x".repeat(8000)}`,
      "//",
      "*"
    ]) {
      assert.strictEqual(routeOf(unknown), "other", unknown.slice(0, 40))
    }
    // as the router serves it: a doubled slash is one
    assert.strictEqual(routeOf("/api/enrichment//x"), "/api/enrichment/:id")
    // every endpoint of the definition is its own label, with no list kept by hand
    const paths = new Set<string>()
    HttpApi.reflect(EnrichApi, { onGroup: () => {}, onEndpoint: ({ endpoint }) => paths.add(endpoint.path) })
    assert.isAbove(paths.size, 20)
    for (const path of paths) assert.strictEqual(routeOf(path.replace(/:\w+/g, "0193-id")), path)
    assert.sameMembers([...routeLabels], [...paths, "/openapi.json", "/docs", "other"])
  })
})

const LimitedServer = apiOnlyTestServer({
  ENRICH_RATE_LIMIT: "1",
  ENRICH_RATE_LIMIT_BURST: "2",
  ENRICH_UNAUTHENTICATED_RATE_LIMIT: "0.1",
  ENRICH_UNAUTHENTICATED_RATE_LIMIT_BURST: "5"
})

/** The series of a metric family, `name{labels}`, without their values. */
const seriesOf = (text: string) => text.split("\n").filter((line) => line !== "" && !line.startsWith("#"))

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

  it.effect("metrics_count_requests_per_route_and_status_label_unknown_paths_other_and_gauge_unsettled_runs", () =>
    Effect.gen(function* () {
      const api = yield* TestServer
      // a run that stays pending (no runner), over three Leads
      const created = yield* use((api) =>
        api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Metrics", credits: 10 } })
      )
      const key = created.body.apiKey as string
      const imported = yield* use((api) =>
        api.post("/api/lists/import", {
          key,
          body: { leads: ["a", "b", "c"].map((n) => ({ type: "person", email: `${n}@corp.example` })) }
        })
      )
      const dispatched = yield* use((api) =>
        api.post("/api/enrichment", {
          key,
          body: { enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds: imported.body.leadIds } }
        })
      )
      assert.strictEqual(dispatched.status, 202, JSON.stringify(dispatched.body))
      // three wrong keys: 401 each, within the address's burst of 5
      for (let i = 0; i < 3; i++)
        expectError(yield* use((api) => api.get("/api/enrichment/some-id", { key: "nope" })), 401, "UNAUTHORIZED")
      for (const path of ["/api/some-unknown/thing", "/api/x?y=1", `/api/${"z".repeat(4000)}`]) {
        expectError(yield* use((api) => api.get(path)), 404, "NOT_FOUND")
      }
      const metrics = yield* Effect.promise(() => api.get("/metrics"))
      assert.strictEqual(metrics.status, 200)
      assert.include(metrics.headers.get("content-type") ?? "", "text/plain")
      const text = String(metrics.body)
      assert.match(text, /enrich_http_requests_total\{method="GET",route="\/api\/enrichments",status="429"\} 1/)
      assert.match(text, /enrich_http_requests_total\{method="GET",route="\/api\/enrichment\/:id",status="401"\} 3/)
      assert.match(text, /enrich_http_requests_total\{method="GET",route="other",status="404"\} 3/)
      assert.match(text, /enrich_http_request_duration_seconds_count\{method="GET",route="\/api\/enrichments"\} 4/)
      assert.match(text, /enrich_http_request_duration_seconds_bucket\{method="GET",route="other",le="\+Inf"\} 3/)
      assert.match(text, /enrich_api_key_lookups_total\{result="unknown"\} 1/, "one made-up key, looked up once")
      assert.match(text, /enrich_runs_unsettled\{status="pending"\} 1/)
      assert.match(text, /enrich_runs_unsettled\{status="completed"\} 0/)
      assert.match(text, /enrich_items_unsettled\{status="pending"\} 3/)
      assert.match(text, /enrich_items_unsettled\{status="completed"\} 0/)
      assert.match(text, /enrich_runs_unsettled_oldest_age_seconds \d+/)
      assert.notInclude(text, "some-id", "ids never become labels")
      assert.notInclude(text, "some-unknown", "unknown paths never become labels")
      const routes = new Set(seriesOf(text).flatMap((line) => /route="([^"]*)"/.exec(line)?.[1] ?? []))
      for (const route of routes) assert.include(routeLabels, route)
    })
  )

  it.effect("an_address_that_sent_too_many_wrong_keys_gets_429_before_its_keys_are_looked_up", () =>
    Effect.gen(function* () {
      const created = yield* use((api) =>
        api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Limited" } })
      )
      const key = created.body.apiKey as string
      assert.strictEqual((yield* use((api) => api.get("/api/credits", { key }))).status, 200, "remembered valid")
      // wrong keys until the address's budget (5, one back every 10 s) is spent
      let refused = yield* use((api) => api.get("/api/credits", { key: "made-up-0" }))
      for (let i = 1; i < 10 && refused.status === 401; i++) {
        refused = yield* use((api) => api.get("/api/credits", { key: `made-up-${i}` }))
      }
      expectError(refused, 429, "RATE_LIMITED")
      assert.strictEqual(refused.headers.get("retry-after"), String(refused.body.retryAfter))
      const lookups = Effect.map(
        use((api) => api.get("/metrics")),
        (r) => Number(/enrich_api_key_lookups_total\{result="unknown"\} (\d+)/.exec(String(r.body))?.[1])
      )
      const before = yield* lookups
      expectError(yield* use((api) => api.get("/api/credits", { key: "another-made-up-key" })), 429, "RATE_LIMITED")
      expectError(yield* use((api) => api.get("/api/credits")), 429, "RATE_LIMITED")
      expectError(yield* use((api) => api.get("/admin/workspaces/x/api-keys", { key: "guess" })), 429, "RATE_LIMITED")
      // the right admin token waits too (a guess must not learn it was right); a remembered valid key goes on
      expectError(
        yield* use((api) => api.get("/admin/workspaces/x/api-keys", { key: ADMIN_TOKEN })),
        429,
        "RATE_LIMITED"
      )
      assert.strictEqual((yield* use((api) => api.get("/api/credits", { key }))).status, 200)
      assert.strictEqual(yield* lookups, before, "no key was looked up while the address was over its limit")
      const metrics = String((yield* use((api) => api.get("/metrics"))).body)
      assert.match(metrics, /enrich_http_unauthenticated_limited_total 5\n/)
    })
  )
})

const GuardedMetrics = apiOnlyTestServer({ ENRICH_METRICS_TOKEN: "scrape-token" })

layer(GuardedMetrics, { timeout: 120_000, excludeTestServices: true })("Metrics token (integration)", (it) => {
  it.effect("with_ENRICH_METRICS_TOKEN_metrics_answer_401_without_the_token_and_200_with_it", () =>
    Effect.gen(function* () {
      expectError(yield* use((api) => api.get("/metrics")), 401, "UNAUTHORIZED")
      expectError(yield* use((api) => api.get("/metrics", { key: "wrong" })), 401, "UNAUTHORIZED")
      const ok = yield* use((api) => api.get("/metrics?t=1", { key: "scrape-token" }))
      assert.strictEqual(ok.status, 200)
      assert.match(String(ok.body), /enrich_http_requests_total\{method="GET",route="\/metrics",status="401"\} 2/)
      assert.strictEqual((yield* use((api) => api.get("/healthz"))).status, 200, "probes stay open")
    })
  )
})
