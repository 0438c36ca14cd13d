/**
 * Where a configured vendor's request (and its secret header) may go: only to the host the operator wrote.
 * A URL whose scheme, host or port is templated is refused when the catalog is read, and a vendor's
 * redirect is answered, not followed. Real local HTTP servers; one regression test per bug.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Result } from "effect"
import { fromInput } from "@enrich/domain/leads/Lead"
import { makeHttpEntry } from "@enrich/catalog/http/HttpProvider"
import { decodeHttpProviderConfig } from "@enrich/catalog/http/HttpProviderConfig"
import { callWithRetry } from "@enrich/domain/catalog/ProviderRetry"
import { fakeVendor } from "@enrich/catalog/testing/FakeVendor"

const secrets = ConfigProvider.layer(ConfigProvider.fromEnv({ env: { VENDOR_KEY: "s3cret" } }))

const config = (url: string, over: Record<string, unknown> = {}) => ({
  kind: "http",
  slug: `destination_${Math.random().toString(36).slice(2, 8)}`,
  name: "Destination",
  description: "A vendor with a secret",
  subject: "person",
  version: 1,
  reads: ["email", "domain"],
  defaultOutput: { target: "lead_attribute", attributeKey: "destination" },
  outputOverridePolicy: { targets: ["lead_attribute"], attributeKey: true },
  costModel: { creditAction: "DESTINATION", unitCost: 1, chargeOn: "found" },
  mode: "per_lead",
  request: { method: "GET", url, query: { email: { $lead: "email" } } },
  response: { output: { title: { path: "/title", type: "string" } } },
  auth: { header: "Authorization", secretEnv: "VENDOR_KEY", prefix: "Bearer " },
  rateLimit: { requestsPerSecond: 100 },
  timeoutMs: 5_000,
  retry: { maxAttempts: 1, backoffMs: 10 },
  ...over
})

describe("Where a vendor's request goes (integration, real local servers)", () => {
  it.effect("regression_a_templated_host_chose_where_the_vendors_secret_went", () =>
    Effect.gen(function* () {
      for (const url of [
        "https://{lead.domain}/v1/person",
        "https://api.{lead.domain}/v1/person",
        "https://vendor.example:{input.port}/v1",
        "{input.scheme}://vendor.example/v1",
        "https://user:{lead.email}@vendor.example/v1"
      ]) {
        const decoded = yield* Effect.result(decodeHttpProviderConfig(config(url)))
        assert.isTrue(Result.isFailure(decoded), `${url} must be refused`)
        if (Result.isFailure(decoded)) assert.include(decoded.failure.message, "must be fixed")
      }
      // in the path and the query a placeholder is fine (its value is escaped)
      for (const url of ["https://vendor.example/v1/{lead.domain}", "https://vendor.example/v1?d={lead.domain}"]) {
        const decoded = yield* Effect.result(decodeHttpProviderConfig(config(url)))
        assert.isTrue(Result.isSuccess(decoded), `${url} is accepted`)
      }
    })
  )

  it.live("a_vendors_redirect_to_another_host_is_not_followed_and_the_secret_never_leaves", () =>
    Effect.gen(function* () {
      const elsewhere = yield* fakeVendor(() => ({ json: { title: "stolen" } }))
      const vendor = yield* fakeVendor(() => ({
        status: 302,
        headers: { location: `${elsewhere.url}/collect` },
        raw: ""
      }))
      const entry = yield* Effect.flatMap(decodeHttpProviderConfig(config(`${vendor.url}/person`)), (c) =>
        makeHttpEntry(c)
      ).pipe(Effect.provide(secrets))
      const { result, attempts } = yield* callWithRetry(
        () => entry.execute(entry.snapshot(fromInput({ type: "person", email: "ada@corp.example" })), {}),
        entry.retry ?? { maxAttempts: 1, backoffMs: 0 }
      )
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.match(result.failure.message, /HTTP 302: a redirect to http:\/\/127\.0\.0\.1:\d+\/collect, not followed/)
        assert.isFalse(result.failure.retryable)
      }
      assert.strictEqual(attempts, 1)
      assert.strictEqual(vendor.requests.length, 1)
      assert.strictEqual(vendor.requests[0]!.headers["authorization"], "Bearer s3cret")
      assert.strictEqual(elsewhere.requests.length, 0, "the other host heard nothing")
    })
  )
})
