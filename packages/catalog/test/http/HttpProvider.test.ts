/**
 * Configured HTTP providers against a real local vendor (node:http) that
 * injects 429 with Retry-After, 5xx, answers slower than the timeout,
 * malformed JSON, wrong types and 4xx, and records when each request arrived.
 * Each Lead goes through the executor's bounded retry (`callWithRetry` with the
 * entry's own policy), as in a run.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Result } from "effect"
import { readFileSync } from "node:fs"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { fakeVendor, type VendorReply, type VendorRequest } from "@enrich/catalog/testing/FakeVendor"
import { scaled } from "@enrich/domain/testing/TestScale"
import { makeHttpEntry } from "@enrich/catalog/http/HttpProvider"
import { decodeHttpProviderConfig } from "@enrich/catalog/http/HttpProviderConfig"
import { callWithRetry } from "@enrich/domain/catalog/ProviderRetry"
import { fromInput, type LeadInput } from "@enrich/domain/leads/Lead"
import type { CatalogEntry } from "@enrich/domain/ports/Catalog"

const env = ConfigProvider.layer(
  ConfigProvider.fromEnv({ env: { VENDOR_KEY: "s3cret", PDL_API_KEY: "pdl-key", APOLLO_API_KEY: "apollo-key" } })
)

let slugs = 0
/** A fresh slug per entry: rate limiters are shared per slug in the process. */
const freshSlug = (base: string) => `${base}_${++slugs}_${Date.now().toString(36)}`

const perLead = (url: string, over: Record<string, unknown> = {}) => ({
  kind: "http",
  slug: freshSlug("vendor_person"),
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
  requireAnyOf: ["email"],
  request: { method: "GET", url: `${url}/person`, query: { email: { $lead: "email" }, level: { $input: "level" } } },
  response: {
    output: { title: { path: "/title", type: "string" }, company: "/company/name" },
    submissionId: [{ header: "x-request-id" }, { record: "/id" }]
  },
  auth: { header: "Authorization", secretEnv: "VENDOR_KEY", prefix: "Bearer " },
  rateLimit: { requestsPerSecond: 200, burst: 20 },
  // generous against a loaded CI machine (the suite runs files in parallel on 2 cores): a prompt reply
  // slower than this would be retried and miscounted
  timeoutMs: 600,
  retry: { maxAttempts: 3, backoffMs: 20 },
  ...over
})

const build = (raw: unknown) =>
  Effect.flatMap(decodeHttpProviderConfig(raw), (config) => makeHttpEntry(config)).pipe(Effect.provide(env))

const person = (email: string | undefined, more: Partial<LeadInput> = {}) =>
  fromInput({ type: "person", ...(email === undefined ? {} : { email }), ...more })

/** Runs each Lead through the entry with the executor's bounded retry, all at once (up to the entry's hint). */
const runAll = (
  entry: CatalogEntry,
  leads: ReadonlyArray<ReturnType<typeof person>>,
  input: unknown = {},
  concurrency = entry.concurrency ?? 16
) =>
  Effect.forEach(
    leads,
    (lead) =>
      callWithRetry(() => entry.execute(entry.snapshot(lead), input), entry.retry ?? { maxAttempts: 3, backoffMs: 20 }),
    { concurrency }
  )

const emailOf = (r: VendorRequest) => r.query.get("email") ?? ""
const countBy = <T>(items: ReadonlyArray<T>, key: (t: T) => string) => {
  const counts = new Map<string, number>()
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1)
  return counts
}

describe("HTTP provider (integration, real local vendor)", () => {
  it.live(
    "every_failure_is_classified_precisely_retries_are_bounded_and_4xx_are_not_retried",
    () =>
      Effect.gen(function* () {
        const seen = new Map<string, number>()
        const vendor = yield* fakeVendor((request): VendorReply => {
          const email = emailOf(request)
          const n = (seen.get(email) ?? 0) + 1
          seen.set(email, n)
          const [kind] = email.split("@")
          switch (kind) {
            case "missing":
              return { status: 404, json: { error: "no such person" } }
            case "bad":
              return { status: 400, json: { error: "bad email" } }
            case "down":
              return { status: 503, raw: "<html>Service Unavailable</html>" }
            case "flaky":
              return n <= 2 ? { status: 500, json: { error: "oops" } } : { json: { id: "p-flaky", title: "CFO" } }
            case "slow":
              return { delayMs: 2_000, json: { title: "too late" } }
            case "garbled":
              return { raw: '{"title": "CTO", ' }
            case "wrongtype":
              return { json: { title: 42 } }
            default:
              return {
                headers: { "x-request-id": `req-${n}-${email}` },
                json: { id: "p1", title: "CTO", company: { name: "Acme" } }
              }
          }
        })
        const entry = yield* build(perLead(vendor.url))
        const leads = ["ok", "missing", "bad", "down", "flaky", "slow", "garbled", "wrongtype"].map((k) =>
          person(`${k}@corp.example`)
        )
        const results = yield* runAll(entry, [...leads, person(undefined, { name: { full: "No Email" } })])
        const by = (i: number) => results[i]!
        const failure = (i: number) => {
          const r = by(i).result
          assert.isTrue(Result.isFailure(r), `lead ${i} should fail`)
          return Result.isFailure(r) ? r.failure : undefined!
        }
        const success = (i: number) => {
          const r = by(i).result
          assert.isTrue(Result.isSuccess(r), `lead ${i} should succeed: ${JSON.stringify(r)}`)
          return Result.isSuccess(r) ? r.success : undefined!
        }
        const slug = entry.contract.slug
        const calls = countBy(vendor.requests, emailOf)

        // found: the mapped output, the vendor's id from the header, the raw record, the auth header and the input
        const ok = success(0)
        assert.deepStrictEqual(ok.result, { found: true, title: "CTO", company: "Acme" })
        assert.strictEqual(ok.providerSubmissionId, "req-1-ok@corp.example")
        assert.deepStrictEqual(ok.raw, { id: "p1", title: "CTO", company: { name: "Acme" } })
        assert.strictEqual(ok.provider, slug)
        const okRequest = vendor.requests.find((r) => emailOf(r) === "ok@corp.example")!
        assert.strictEqual(okRequest.headers["authorization"], "Bearer s3cret")
        assert.strictEqual(okRequest.query.get("level"), "5", "the input's default reaches the vendor")

        // 404: a completed outcome, not found, one call
        assert.deepStrictEqual(success(1).result, { found: false, title: null, company: null })
        assert.isFalse(success(1).found)
        assert.strictEqual(calls.get("missing@corp.example"), 1)

        // 400: no retry, status and excerpt
        assert.strictEqual(failure(2).message, `${slug}: HTTP 400: {"error":"bad email"}`)
        assert.isFalse(failure(2).retryable)
        assert.strictEqual(by(2).attempts, 1)
        assert.strictEqual(calls.get("bad@corp.example"), 1)

        // 503 every time: retried up to maxAttempts, then failed with the status
        assert.strictEqual(failure(3).message, `${slug}: HTTP 503: <html>Service Unavailable</html>`)
        assert.isTrue(failure(3).retryable)
        assert.strictEqual(calls.get("down@corp.example"), 3)
        assert.strictEqual(by(3).attempts, 3)

        // two 500s then a 200: completed on the third attempt
        assert.strictEqual(success(4).result && (success(4).result as { title: string }).title, "CFO")
        assert.strictEqual(by(4).attempts, 3)
        assert.strictEqual(calls.get("flaky@corp.example"), 3)

        // slower than the timeout: retried, then "timed out after 600 ms"
        assert.strictEqual(failure(5).message, `${slug}: timed out after 600 ms`)
        assert.isTrue(failure(5).retryable)
        assert.strictEqual(calls.get("slow@corp.example"), 3)

        // malformed JSON and a wrong type: not retried, the reason named
        assert.match(failure(6).message, new RegExp(`^${slug}: malformed JSON in the HTTP 200 response: `))
        assert.isFalse(failure(6).retryable)
        assert.strictEqual(calls.get("garbled@corp.example"), 1)
        assert.strictEqual(
          failure(7).message,
          `${slug}: response does not match the mapping: the record: output title at /title is a number, expected a string`
        )
        assert.strictEqual(calls.get("wrongtype@corp.example"), 1)

        // no email: no call at all, not found
        assert.isFalse(success(8).found)
        assert.strictEqual(calls.get(""), undefined)

        // every attempt of every Lead is bounded
        for (const [email, n] of calls) assert.isAtMost(n, 3, email)
      }),
    scaled(30_000)
  )

  it.live(
    "a_vendor_that_is_not_listening_is_a_retryable_connection_error",
    () =>
      Effect.gen(function* () {
        const entry = yield* build(perLead("http://127.0.0.1:9"))
        const [one] = yield* runAll(entry, [person("a@corp.example")])
        assert.isTrue(Result.isFailure(one!.result))
        if (Result.isFailure(one!.result)) {
          assert.match(one!.result.failure.message, /: connection failed: /)
          assert.isTrue(one!.result.failure.retryable)
        }
        assert.strictEqual(one!.attempts, 3)
      }),
    scaled(30_000)
  )

  it.live(
    "retry_after_pauses_every_call_of_the_provider_and_the_next_request_comes_after_it",
    () =>
      Effect.gen(function* () {
        const vendor = yield* fakeVendor((_request, count) =>
          count === 1
            ? { status: 429, headers: { "retry-after": "1" }, json: { error: "slow down" } }
            : count === 4
              ? { headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1" }, json: { title: "ok" } }
              : { json: { title: "ok" } }
        )
        const entry = yield* build(perLead(vendor.url, { rateLimit: { requestsPerSecond: 10, burst: 1 } }))
        const results = yield* runAll(
          entry,
          Array.from({ length: 6 }, (_, i) => person(`p${i}@corp.example`))
        )
        for (const r of results) assert.isTrue(Result.isSuccess(r.result), JSON.stringify(r.result))
        const limited = vendor.replies.find((r) => r.status === 429)!
        const after429 = vendor.requests.filter((r) => r !== limited.request && r.at >= limited.at)
        assert.isAbove(after429.length, 0)
        // every request after the 429 came at least Retry-After (1 s) later: the whole provider paused
        for (const r of after429) assert.isAtLeast(r.at - limited.at, 998, "Retry-After honoured")
        const retried = vendor.requests.filter((r) => emailOf(r) === emailOf(limited.request))
        assert.strictEqual(retried.length, 2, "the 429'd Lead was tried again, once")
        // the quota reply: no request in the second after it
        const spent = vendor.replies.find((r) => r.request === vendor.requests[3])!
        const afterSpent = vendor.requests.filter((r) => r.at >= spent.at && r !== spent.request)
        for (const r of afterSpent) assert.isAtLeast(r.at - spent.at, 998, "X-RateLimit-Reset honoured")

        // a wait longer than rateLimit.maxWaitMs fails at once, without waiting, and not as retryable
        vendor.setHandler(() => ({ status: 429, headers: { "retry-after": "3600" }, json: {} }))
        const patient = yield* build(perLead(vendor.url, { rateLimit: { requestsPerSecond: 10, maxWaitMs: 5_000 } }))
        const started = Date.now()
        const [tooLong] = yield* runAll(patient, [person("q@corp.example")])
        assert.isBelow(Date.now() - started, 3_000)
        assert.isTrue(Result.isFailure(tooLong!.result))
        if (Result.isFailure(tooLong!.result)) {
          assert.match(
            tooLong!.result.failure.message,
            /the vendor asks to wait 3600 s, more than rateLimit\.maxWaitMs/
          )
          assert.isFalse(tooLong!.result.failure.retryable)
        }
      }),
    scaled(30_000)
  )

  it.live(
    "the_rate_limit_is_never_exceeded_as_the_vendor_measures_it",
    () =>
      Effect.gen(function* () {
        const rps = 20
        const burst = 3
        const vendor = yield* fakeVendor((request, count) =>
          count % 7 === 0 ? { status: 500, json: {} } : { json: { id: emailOf(request), title: "x" } }
        )
        const entry = yield* build(
          perLead(vendor.url, {
            rateLimit: { requestsPerSecond: rps, burst },
            retry: { maxAttempts: 5, backoffMs: 10 }
          })
        )
        const n = scaled(60)
        // the vendor runs in the test process: a stall of the process (a loaded CI machine) delays the
        // vendor's clock readings and bunches arrivals that left the client in time. A token bucket lets
        // at most rps × (1 s + stall) + burst arrive in any 1 s the vendor measures, so the bound takes
        // the stall measured during this test (seen: 27 of 23 with the whole suite on 2 cores, a fixed
        // 150 ms allowance was not enough). The floor is 100 ms: the vendor stamps an arrival when its handler
        // runs, after the kernel, the HTTP parser and the client's connection pool, any of which can hold a
        // request behind a later one; the loop monitor sees only timer lateness (seen: 25 with a measured
        // stall under 50 ms, on CI)
        const stalls = monitorEventLoopDelay({ resolution: 10 })
        stalls.enable()
        const results = yield* runAll(
          entry,
          Array.from({ length: n }, (_, i) => person(`r${i}@corp.example`)),
          {},
          64
        ).pipe(Effect.ensuring(Effect.sync(() => stalls.disable())))
        for (const r of results) assert.isTrue(Result.isSuccess(r.result))
        const busiest = vendor.busiestWindow(1_000)
        const stallMs = Math.max(100, stalls.max / 1e6)
        assert.isAtMost(
          busiest,
          rps + burst + Math.ceil((rps * stallMs) / 1_000),
          `busiest 1 s window: ${busiest} (longest stall ${stallMs.toFixed(0)} ms)`
        )
        assert.isAtLeast(busiest, rps / 2, "and the calls did go at about the limit")
      }),
    scaled(60_000)
  )

  const bulkConfig = (url: string, over: Record<string, unknown> = {}) =>
    perLead(url, {
      slug: freshSlug("vendor_bulk"),
      mode: "batch",
      maxBatchSize: 10,
      batchWindowMs: 20,
      request: {
        method: "POST",
        url: `${url}/bulk`,
        body: {
          people: { $each: { email: { $lead: "email" }, ref: { $index: "number" } } },
          level: { $input: "level" }
        }
      },
      response: {
        records: "/results",
        status: "/status",
        error: "/message",
        data: "/person",
        output: { title: { path: "/title", type: "string" } },
        submissionId: [{ body: "/batchId" }]
      },
      ...over
    })

  /** A bulk vendor: one record per person, its status decided by the email. */
  const bulkReply = (request: VendorRequest, seen: Map<string, number>): VendorReply => {
    const people = (request.body?.people ?? []) as Array<{ email: string }>
    return {
      json: {
        batchId: `batch-${request.at}`,
        results: people.map(({ email }) => {
          const n = (seen.get(email) ?? 0) + 1
          seen.set(email, n)
          const [kind] = email.split("@")
          if (kind === "missing") return { status: 404 }
          if (kind === "invalid") return { status: 400, message: "invalid email" }
          if (kind === "busy" && n === 1) return { status: 503, message: "busy" }
          return { status: 200, person: { title: `title of ${email}` } }
        })
      }
    }
  }

  it.live(
    "concurrent_calls_coalesce_into_bulk_requests_and_each_lead_gets_its_own_outcome",
    () =>
      Effect.gen(function* () {
        const seen = new Map<string, number>()
        const vendor = yield* fakeVendor((request, count) =>
          // the very first bulk request fails as a whole: all its Leads are retried together
          count === 1 ? { status: 500, json: { error: "bulk down" } } : bulkReply(request, seen)
        )
        const entry = yield* build(bulkConfig(vendor.url))
        assert.strictEqual(entry.concurrency, 10)
        const emails = Array.from({ length: 25 }, (_, i) =>
          i === 3
            ? "missing@corp.example"
            : i === 7
              ? "invalid@corp.example"
              : i === 12
                ? "busy@corp.example"
                : `p${i}@corp.example`
        )
        const results = yield* runAll(
          entry,
          emails.map((e) => person(e)),
          { level: 2 },
          25
        )
        const sizes = vendor.requests.map((r) => r.body.people.length)
        for (const size of sizes) assert.isAtMost(size, 10)
        assert.isAtMost(vendor.requests.length, 7, `bulk requests: ${JSON.stringify(sizes)}`)
        for (const r of vendor.requests) assert.strictEqual(r.body.level, 2, "the run input is in every bulk request")
        // each Lead's own outcome
        const outcome = (email: string) => results[emails.indexOf(email)]!
        const missing = outcome("missing@corp.example").result
        assert.isTrue(Result.isSuccess(missing) && !missing.success.found)
        const invalid = outcome("invalid@corp.example")
        assert.isTrue(Result.isFailure(invalid.result))
        if (Result.isFailure(invalid.result)) {
          assert.match(invalid.result.failure.message, /record \d+ of the bulk answer has status 400: invalid email$/)
          assert.isFalse(invalid.result.failure.retryable)
        }
        const busy = outcome("busy@corp.example")
        assert.isTrue(Result.isSuccess(busy.result), "a record's 503 is retried for that Lead only")
        const ok = outcome("p0@corp.example").result
        assert.isTrue(Result.isSuccess(ok))
        if (Result.isSuccess(ok)) {
          assert.deepStrictEqual(ok.success.result, { found: true, title: "title of p0@corp.example" })
          assert.match(ok.success.providerSubmissionId ?? "", /^batch-/)
          assert.deepStrictEqual(ok.success.raw, { status: 200, person: { title: "title of p0@corp.example" } })
        }
        // every Lead was sent at most maxAttempts times
        const sent = countBy(
          vendor.requests.flatMap((r) => r.body.people as Array<{ email: string }>),
          (p) => p.email
        )
        for (const [email, n] of sent) assert.isAtMost(n, 3, email)
        // the bulk request that failed as a whole: its Leads were sent again, and the 400 then came once
        const failedBulk = vendor.replies.find((r) => r.status === 500)!
        const inFailedBulk = (email: string) =>
          (failedBulk.request.body.people as Array<{ email: string }>).some((p) => p.email === email) ? 1 : 0
        assert.strictEqual(sent.get("invalid@corp.example"), 1 + inFailedBulk("invalid@corp.example"))
        for (const p of failedBulk.request.body.people as Array<{ email: string }>) {
          assert.isAtLeast(sent.get(p.email)!, 2, `${p.email} was sent again after the failed bulk request`)
        }
      }),
    scaled(30_000)
  )

  it.live(
    "a_failed_bulk_request_fails_each_of_its_leads_with_the_same_error_and_inputs_never_mix",
    () =>
      Effect.gen(function* () {
        const vendor = yield* fakeVendor(() => ({ status: 502, raw: "bad gateway" }))
        const entry = yield* build(bulkConfig(vendor.url))
        const leads = Array.from({ length: 4 }, (_, i) => person(`d${i}@corp.example`))
        const failed = yield* runAll(entry, leads, {}, 8)
        const messages = new Set(failed.map((r) => (Result.isFailure(r.result) ? r.result.failure.message : "ok")))
        assert.deepStrictEqual([...messages], [`${entry.contract.slug}: HTTP 502: bad gateway`])
        for (const r of failed) assert.strictEqual(r.attempts, 3)

        // a record count that does not fit the Leads: a mapping error for all of them, not retried
        vendor.reset()
        vendor.setHandler((request) => ({ json: { results: (request.body.people as Array<unknown>).slice(1) } }))
        const short = yield* runAll(entry, leads, {}, 8)
        for (const r of short) {
          assert.isTrue(Result.isFailure(r.result))
          if (Result.isFailure(r.result))
            assert.match(
              r.result.failure.message,
              /does not match the mapping: 3 records for 4 Leads \(matched by position\)/
            )
          assert.strictEqual(r.attempts, 1)
        }

        // two runs with different inputs at the same time: never in one bulk request
        vendor.reset()
        const seen = new Map<string, number>()
        vendor.setHandler((request) => bulkReply(request, seen))
        yield* Effect.all(
          [runAll(entry, leads.slice(0, 2), { level: 1 }, 8), runAll(entry, leads.slice(2), { level: 7 }, 8)],
          { concurrency: 2 }
        )
        for (const r of vendor.requests) {
          const emails = (r.body.people as Array<{ email: string }>).map((p) => p.email)
          const expected =
            r.body.level === 1 ? ["d0@corp.example", "d1@corp.example"] : ["d2@corp.example", "d3@corp.example"]
          for (const e of emails) assert.include(expected, e)
        }
      }),
    scaled(30_000)
  )

  const example = (file: string, url: string) => {
    const raw = JSON.parse(
      readFileSync(fileURLToPath(new URL(`../../../../examples/catalog/${file}`, import.meta.url)), "utf8")
    ).enrichments[0]
    const path = new URL(raw.request.url).pathname
    return { ...raw, slug: freshSlug(raw.slug), request: { ...raw.request, url: `${url}${path}` } }
  }

  it.live(
    "the_people_data_labs_example_works_against_an_imitation_of_its_bulk_api",
    () =>
      Effect.gen(function* () {
        const vendor = yield* fakeVendor((request) => {
          if (request.path !== "/v5/person/bulk" || request.method !== "POST") return { status: 404, json: {} }
          if (request.headers["x-api-key"] !== "pdl-key")
            return { status: 401, json: { error: { message: "bad key" } } }
          const answers = (request.body.requests as Array<{ params: Record<string, unknown>; metadata: unknown }>).map(
            ({ params, metadata }) =>
              String(params["email"] ?? "").startsWith("nobody")
                ? { status: 404, error: { type: "not_found", message: "No records were found" }, metadata }
                : {
                    status: 200,
                    likelihood: 9,
                    metadata,
                    data: {
                      id: `pdl-${params["email"] ?? params["profile"]}`,
                      full_name: "sean thorne",
                      job_title: "co-founder",
                      job_title_levels: ["owner"],
                      job_company_name: "people data labs",
                      job_company_website: "peopledatalabs.com",
                      linkedin_url: "linkedin.com/in/seanthorne",
                      location_country: "united states"
                    }
                  }
          )
          // PDL answers in order; the example matches by the echoed metadata anyway
          return { json: answers.reverse() }
        })
        const entry = yield* build(example("people-data-labs.json", vendor.url))
        const leads = [
          person("sean@peopledatalabs.com", { company: { domain: "peopledatalabs.com" } }),
          person("nobody@corp.example"),
          person(undefined, { linkedinUrl: "https://linkedin.com/in/x" }),
          person(undefined, { title: "no identifier" })
        ]
        const results = yield* runAll(entry, leads, { min_likelihood: 8 })
        assert.strictEqual(vendor.requests.length, 1, "one bulk request")
        const sent = vendor.requests[0]!.body.requests as Array<{ params: Record<string, unknown> }>
        assert.strictEqual(sent.length, 3, "the Lead without an identifier is not sent")
        assert.deepStrictEqual(sent[0]!.params, {
          email: "sean@peopledatalabs.com",
          company: "peopledatalabs.com",
          min_likelihood: 8
        })
        assert.deepStrictEqual(sent[2]!.params, { profile: "https://linkedin.com/in/x", min_likelihood: 8 })
        const [sean, nobody, byProfile, none] = results.map((r) =>
          Result.isSuccess(r.result) ? r.result.success : undefined
        )
        assert.deepInclude(sean!.result as object, {
          found: true,
          jobTitle: "co-founder",
          likelihood: 9,
          country: "united states"
        })
        assert.strictEqual(sean!.providerSubmissionId, "pdl-sean@peopledatalabs.com")
        assert.isFalse(nobody!.found)
        assert.strictEqual(byProfile!.providerSubmissionId, "pdl-https://linkedin.com/in/x")
        assert.isFalse(none!.found)
      }),
    scaled(30_000)
  )

  it.live(
    "the_apollo_example_works_against_an_imitation_of_its_bulk_match_api",
    () =>
      Effect.gen(function* () {
        const vendor = yield* fakeVendor((request) => {
          if (request.path !== "/api/v1/people/bulk_match") return { status: 404, json: {} }
          if (request.headers["x-api-key"] !== "apollo-key")
            return { status: 401, json: { error: "Invalid access credentials." } }
          const details = request.body.details as Array<Record<string, string>>
          return {
            headers: { "x-request-id": `apollo-${request.at}` },
            json: {
              status: "success",
              total_requested_enrichments: details.length,
              matches: details.map((d) =>
                d["email"]?.startsWith("ghost")
                  ? null
                  : {
                      id: `ap-${d["email"]}`,
                      name: `${d["first_name"]} ${d["last_name"]}`,
                      title: "VP Sales",
                      seniority: "vp",
                      departments: ["master_sales"],
                      email: d["email"],
                      email_status: "verified",
                      organization: { name: "Acme", primary_domain: "acme.example" }
                    }
              )
            }
          }
        })
        const entry = yield* build(example("apollo.json", vendor.url))
        const leads = Array.from({ length: 13 }, (_, i) =>
          person(i === 5 ? "ghost@acme.example" : `p${i}@acme.example`, { name: { first: "Pat", last: `N${i}` } })
        )
        const results = yield* runAll(entry, leads)
        assert.deepStrictEqual(
          vendor.requests.map((r) => r.body.details.length).sort((a: number, b: number) => b - a),
          [10, 3],
          "bulk_match takes at most 10"
        )
        for (const r of vendor.requests) assert.strictEqual(r.query.get("reveal_personal_emails"), "false")
        assert.deepStrictEqual(vendor.requests[0]!.body.details[0], {
          email: vendor.requests[0]!.body.details[0].email,
          first_name: "Pat",
          last_name: vendor.requests[0]!.body.details[0].last_name
        })
        const outcomes = results.map((r) => (Result.isSuccess(r.result) ? r.result.success : undefined))
        assert.isFalse(outcomes[5]!.found, "Apollo's null is not found")
        assert.deepInclude(outcomes[0]!.result as object, {
          found: true,
          title: "VP Sales",
          emailStatus: "verified",
          organizationDomain: "acme.example",
          departments: ["master_sales"]
        })
        assert.match(outcomes[0]!.providerSubmissionId ?? "", /^apollo-\d+$/)
        // Apollo's 0.8 requests per second: the second bulk request waited for its slot
        const [first, second] = vendor.requests.map((r) => r.at).sort((a, b) => a - b)
        assert.isAtLeast(second! - first!, 1_000)
      }),
    scaled(30_000)
  )
})
