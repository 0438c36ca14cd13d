/**
 * The HTTP provider configuration: the shipped examples decode (so they never
 * rot), bad configurations are refused with every problem named by its path,
 * the declared input becomes the contract's inputSchema and the decoder that
 * dispatch uses, and a missing secret is a load error naming the variable.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Result, Schema } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { makeHttpEntry } from "@enrich/catalog/http/HttpProvider"
import {
  decodeHttpProviderConfig,
  type HttpProviderConfig,
  inputSchemaOf
} from "@enrich/catalog/http/HttpProviderConfig"
import { checkTemplate, renderTemplate, renderUrl } from "@enrich/catalog/http/Template"
import { parseRateLimitReset, parseRetryAfter, vendorWait } from "@enrich/catalog/http/RateLimiter"

const examples = (name: string) =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`../../../../examples/catalog/${name}`, import.meta.url)), "utf8"))
    .enrichments as Array<Record<string, unknown>>

const withEnv = (env: Record<string, string>) => Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))

/** A small valid per-Lead configuration to break in each test. */
export const perLeadConfig = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  kind: "http",
  slug: "vendor_person",
  name: "Vendor person lookup",
  description: "Looks a person up at the vendor",
  subject: "person",
  version: 1,
  reads: ["email", "name.full"],
  input: { level: { type: "integer", minimum: 1, maximum: 10, default: 5 } },
  defaultOutput: { target: "lead_attribute", attributeKey: "vendor_person" },
  outputOverridePolicy: { targets: ["lead_attribute"], attributeKey: true },
  costModel: { creditAction: "VENDOR_PERSON", unitCost: 1, chargeOn: "found" },
  mode: "per_lead",
  request: {
    method: "GET",
    url: "http://127.0.0.1:1/person",
    query: { email: { $lead: "email" }, level: { $input: "level" } }
  },
  response: { output: { title: { path: "/title", type: "string" } } },
  rateLimit: { requestsPerSecond: 10 },
  timeoutMs: 1000,
  ...over
})

const issuesOf = (input: unknown) =>
  Effect.gen(function* () {
    const decoded = yield* Effect.result(decodeHttpProviderConfig(input))
    assert.isTrue(Result.isFailure(decoded), "the configuration must be refused")
    return Result.isFailure(decoded) ? decoded.failure : undefined!
  })

describe("HTTP provider configuration", () => {
  it.effect("the_shipped_example_configurations_decode_and_build_entries", () =>
    Effect.gen(function* () {
      for (const [file, slug, env] of [
        ["people-data-labs.json", "pdl_person", "PDL_API_KEY"],
        ["apollo.json", "apollo_people_match", "APOLLO_API_KEY"]
      ] as const) {
        const entries = examples(file)
        assert.strictEqual(entries.length, 1)
        const config = yield* decodeHttpProviderConfig(entries[0], { source: file })
        assert.strictEqual(config.slug, slug)
        assert.strictEqual(config.mode, "batch")
        const entry = yield* makeHttpEntry(config).pipe(withEnv({ [env]: "secret" }))
        assert.strictEqual(entry.contract.toolBinding.type, "http")
        assert.strictEqual(entry.concurrency, config.maxBatchSize)
        assert.deepStrictEqual(entry.retry, config.retry)
        // without the secret the entry cannot be built, and the error names the variable
        const missing = yield* Effect.result(makeHttpEntry(config).pipe(withEnv({})))
        assert.isTrue(Result.isFailure(missing))
        if (Result.isFailure(missing)) {
          assert.include(missing.failure.message, env)
          assert.deepStrictEqual(missing.failure.issues[0]?.path, "auth.secretEnv")
        }
      }
    })
  )

  it.effect("unknown_keys_wrong_types_and_inconsistent_settings_are_named_by_path", () =>
    Effect.gen(function* () {
      // a typo: the unknown key is named, and so is the key it was meant to be
      const { rateLimit: _, ...typo } = perLeadConfig({ rateLimt: { requestsPerSecond: 1 } })
      const unknown = yield* issuesOf(typo)
      const paths = unknown.issues.map((i) => i.path)
      assert.include(paths, "rateLimt")
      assert.include(paths, "rateLimit")
      assert.include(unknown.message, "rateLimt")

      const nested = yield* issuesOf(
        perLeadConfig({ response: { output: { title: "/title" }, recrods: "/x" }, timeoutMs: -1 })
      )
      assert.includeMembers(
        nested.issues.map((i) => i.path),
        ["response.recrods", "timeoutMs"]
      )

      // cross-field rules, each with its path
      const inconsistent = yield* issuesOf(
        perLeadConfig({
          maxBatchSize: 10,
          reads: ["email", "nickname"],
          request: {
            method: "GET",
            url: "http://127.0.0.1:1/p/{lead.phone}?k={input.nope}",
            body: { x: { $lead: "email" } },
            query: { a: { $lead: "title" }, b: { $input: "missing" }, c: { $oops: 1 } }
          },
          input: { level: { type: "integer", default: 50, maximum: 10 } },
          response: { output: { found: "/x" } }
        })
      )
      const byPath = new Map(inconsistent.issues.map((i) => [i.path, i.message]))
      assert.match(byPath.get("reads[1]") ?? "", /unknown Lead path/)
      // (reads is broken, so the cross-field rules wait for it; fix it and they speak)
      const crossField = yield* issuesOf(
        perLeadConfig({
          maxBatchSize: 10,
          request: {
            method: "GET",
            url: "http://127.0.0.1:1/p/{lead.phone}?k={input.nope}",
            body: { x: { $lead: "email" } },
            query: { a: { $lead: "title" }, b: { $input: "missing" }, c: { $oops: 1 } }
          },
          input: { level: { type: "integer", default: 50, maximum: 10 } },
          response: { output: { found: "/x" } }
        })
      )
      const rules = new Map(crossField.issues.map((i) => [i.path, i.message]))
      assert.strictEqual(rules.get("maxBatchSize"), "only applies in batch mode")
      assert.strictEqual(rules.get("request.body"), "a GET request has no body")
      assert.match(rules.get("request.query.a.$lead") ?? "", /title is not one of the enrichment's reads/)
      assert.match(rules.get("request.query.b.$input") ?? "", /missing is not declared in input/)
      assert.match(rules.get("request.query.c") ?? "", /unknown placeholder \$oops/)
      assert.match(rules.get("input.level.default") ?? "", /must be ≤ 10/)
      assert.match(rules.get("response.output.found") ?? "", /reserved/)
      const urlIssues = crossField.issues.filter((i) => i.path === "request.url").map((i) => i.message)
      assert.strictEqual(urlIssues.length, 2, JSON.stringify(urlIssues))

      // batch mode needs exactly one $each and a maxBatchSize; Lead fields only inside $each
      const batch = yield* issuesOf(
        perLeadConfig({
          mode: "batch",
          request: { method: "POST", url: "http://127.0.0.1:1/bulk", body: { people: [], who: { $lead: "email" } } }
        })
      )
      const batchRules = new Map(batch.issues.map((i) => [i.path, i.message]))
      assert.strictEqual(batchRules.get("maxBatchSize"), "is required in batch mode")
      assert.match(batchRules.get("request.body") ?? "", /exactly one \{"\$each"/)
      assert.match(batchRules.get("request.body.who.$lead") ?? "", /only available inside \$each/)
    })
  )

  it.effect("the_declared_input_is_the_contracts_inputSchema", () =>
    Effect.gen(function* () {
      const config = yield* decodeHttpProviderConfig(examples("people-data-labs.json")[0])
      const entry = yield* makeHttpEntry(config).pipe(withEnv({ PDL_API_KEY: "secret" }))
      const schema = entry.contract.inputSchema as any
      assert.strictEqual(schema.type, "object")
      assert.strictEqual(schema.additionalProperties, false)
      assert.deepInclude(schema.properties.min_likelihood, { type: "integer", minimum: 1, maximum: 10, default: 6 })
      assert.deepInclude(schema.properties.required, { type: "string", maxLength: 500 })
      // dispatch decodes with the same Schema (adapters/test/runs/DispatchInput.test.ts)
      // an output schema with `found` and every mapped field, nullable
      const output = entry.contract.outputSchema as any
      assert.includeMembers(Object.keys(output.properties), ["found", "jobTitle", "likelihood", "linkedinUrl"])
      // the same Schema the config exports
      const direct = yield* Schema.decodeUnknownEffect(inputSchemaOf(config as HttpProviderConfig))({})
      assert.deepStrictEqual(direct, { min_likelihood: 6 })
    })
  )

  it("templates_render_lead_fields_inputs_each_and_index_and_leave_missing_values_out", () => {
    const template = {
      requests: {
        $each: {
          ref: { $index: "string" },
          params: {
            email: { $lead: "email" },
            company: { $lead: ["company.domain", "company.name"] },
            name: { $lead: "name.full", default: "unknown" },
            level: { $input: "level" }
          },
          tags: [{ $lead: "email" }],
          raw: { $literal: { $lead: "not a placeholder" } }
        }
      },
      size: { $input: "size" }
    }
    const check = checkTemplate(template, {
      mode: "batch",
      reads: ["email", "company.domain", "company.name", "name.full"],
      inputs: ["level", "size"]
    })
    assert.deepStrictEqual(check.issues, [])
    assert.strictEqual(check.eachCount, 1)
    const rendered = renderTemplate(template, {
      input: { level: 3 },
      each: [
        { email: "a@x.io", "company.domain": null, "company.name": "Acme", "name.full": null },
        { email: null, "company.domain": "b.io", "company.name": "B", "name.full": "Bea" }
      ]
    })
    assert.deepStrictEqual(rendered, {
      requests: [
        {
          ref: "0",
          params: { email: "a@x.io", company: "Acme", name: "unknown", level: 3 },
          tags: ["a@x.io"],
          raw: { $lead: "not a placeholder" }
        },
        {
          ref: "1",
          params: { company: "b.io", name: "Bea", level: 3 },
          tags: [null],
          raw: { $lead: "not a placeholder" }
        }
      ]
    })
    assert.strictEqual(
      renderUrl("https://v.example/p/{lead.email}?l={input.level}", {
        input: { level: 2 },
        lead: { email: "a+b@x.io" }
      }),
      "https://v.example/p/a%2Bb%40x.io?l=2"
    )
  })

  it("rate_limit_headers_are_read_in_every_documented_format", () => {
    const now = Date.parse("2025-01-01T00:00:00Z")
    assert.strictEqual(parseRetryAfter("2", now), 2000)
    assert.strictEqual(parseRetryAfter("1.5", now), 1500)
    assert.strictEqual(parseRetryAfter("Wed, 01 Jan 2025 00:00:03 GMT", now), 3000)
    assert.strictEqual(parseRetryAfter("soon", now), undefined)
    assert.strictEqual(parseRateLimitReset("30", now), 30_000)
    assert.strictEqual(parseRateLimitReset(String(now / 1000 + 4), now), 4000)
    assert.strictEqual(parseRateLimitReset(String(now + 5000), now), 5000)
    assert.strictEqual(parseRateLimitReset("2025-01-01T00:00:06Z", now), 6000)
    // a 429: Retry-After first, else the reset; a 200 only pauses when the quota is spent
    assert.strictEqual(vendorWait(429, { "retry-after": "1", "x-ratelimit-reset": "9" }, now), 1000)
    assert.strictEqual(vendorWait(429, { "x-ratelimit-reset": "9" }, now), 9000)
    assert.strictEqual(vendorWait(200, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "2" }, now), 2000)
    assert.strictEqual(vendorWait(200, { "ratelimit-remaining": "0", "ratelimit-reset": "3" }, now), 3000)
    assert.strictEqual(vendorWait(200, { "x-ratelimit-remaining": "5", "x-ratelimit-reset": "2" }, now), undefined)
  })
})
