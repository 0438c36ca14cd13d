/**
 * A configured HTTP vendor that answers with hostile bytes, against a real
 * local server (node:http): whatever it sends — an error body cut inside an
 * emoji, JSON escapes of U+0000 and lone surrogates, bytes that are not UTF-8,
 * 10 MB, a body that never ends — each Lead's outcome is a clean failure or a
 * success whose every string PostgreSQL can store (`findUnstorable` finds
 * nothing), and the process neither holds a huge body nor waits forever.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Result } from "effect"
import { fakeVendor, type FakeVendor, type VendorReply } from "@enrich/catalog/testing/FakeVendor"
import { scaled } from "@enrich/domain/testing/TestScale"
import { makeHttpEntry } from "@enrich/catalog/http/HttpProvider"
import { decodeHttpProviderConfig } from "@enrich/catalog/http/HttpProviderConfig"
import { callWithRetry } from "@enrich/domain/catalog/ProviderRetry"
import { findUnstorable, isStorable } from "@enrich/domain/ClientText"
import { fromInput } from "@enrich/domain/leads/Lead"
import type { CatalogEntry, EnrichmentOutcome, ProviderError } from "@enrich/domain/ports/Catalog"

const env = ConfigProvider.layer(ConfigProvider.fromEnv({ env: {} }))

let slugs = 0
/** A fresh slug per entry: rate limiters are shared per slug in the process. */
const freshSlug = (base: string) => `${base}_${++slugs}_${Date.now().toString(36)}`

const perLead = (url: string, over: Record<string, unknown> = {}) => ({
  kind: "http",
  slug: freshSlug("hostile_person"),
  name: "Hostile vendor",
  description: "A vendor that answers with anything",
  subject: "person",
  version: 1,
  reads: ["email"],
  defaultOutput: { target: "lead_attribute", attributeKey: "hostile_person" },
  outputOverridePolicy: { targets: ["lead_attribute"], attributeKey: true },
  costModel: { creditAction: "HOSTILE_PERSON", unitCost: 1, chargeOn: "found" },
  mode: "per_lead",
  request: { method: "GET", url: `${url}/person`, query: { email: { $lead: "email" } } },
  response: {
    output: { title: { path: "/title", type: "string" }, company: "/company/name" },
    submissionId: [{ record: "/id" }]
  },
  rateLimit: { requestsPerSecond: 200, burst: 20 },
  timeoutMs: 5_000,
  // retryable failures would be tried again: the assertions say how many attempts were made
  retry: { maxAttempts: 3, backoffMs: 20 },
  ...over
})

const build = (raw: unknown) =>
  Effect.flatMap(decodeHttpProviderConfig(raw), (config) => makeHttpEntry(config)).pipe(Effect.provide(env))

const person = (email: string) => fromInput({ type: "person", email })

const call = (entry: CatalogEntry, email: string) =>
  callWithRetry(() => entry.execute(entry.snapshot(person(email)), {}), entry.retry ?? { maxAttempts: 1, backoffMs: 0 })

/** Every string of the outcome or error, keys included, as PostgreSQL jsonb / text would take it. */
const assertStorable = (what: EnrichmentOutcome | ProviderError) => {
  const plain =
    "retryable" in what
      ? { message: what.message, details: what.details ?? null, retryable: what.retryable }
      : { ...what }
  assert.strictEqual(findUnstorable(plain), undefined, `unstorable at ${String(findUnstorable(plain))}`)
  assert.doesNotThrow(() => JSON.stringify(plain))
}

const failureOf = (r: { readonly result: Result.Result<EnrichmentOutcome, ProviderError> }) => {
  assert.isTrue(Result.isFailure(r.result), `should fail: ${JSON.stringify(r.result)}`)
  const failure = Result.isFailure(r.result) ? r.result.failure : undefined!
  assertStorable(failure)
  return failure
}

const successOf = (r: { readonly result: Result.Result<EnrichmentOutcome, ProviderError> }) => {
  assert.isTrue(Result.isSuccess(r.result), `should succeed: ${JSON.stringify(r.result)}`)
  const success = Result.isSuccess(r.result) ? r.result.success : undefined!
  assertStorable(success)
  return success
}

/** Waits (polling) until `check` holds, or fails after `ms`. */
const eventually = (check: () => boolean, ms: number, what: string) =>
  Effect.gen(function* () {
    const deadline = Date.now() + ms
    while (!check()) {
      if (Date.now() > deadline) return assert.fail(`not within ${ms} ms: ${what}`)
      yield* Effect.sleep(20)
    }
  })

const MiB = 1_048_576
/** A JSON body of about `bytes` bytes, in 64 KiB parts: `{"data":"xxx…"}`. */
function* hugeJson(bytes: number): Generator<string | Buffer> {
  yield '{"data":"'
  const part = Buffer.alloc(65_536, "x")
  for (let written = 0; written < bytes; written += part.length) yield part
  yield '"}'
}

/** The vendor's answer for each email: the first part of the address names the case. */
const hostile =
  (replies: Record<string, () => VendorReply>) =>
  (request: { readonly query: URLSearchParams }): VendorReply => {
    const kind = (request.query.get("email") ?? "").split("@")[0]!
    const reply = replies[kind]
    return reply === undefined ? { status: 404, json: {} } : reply()
  }

const sentTo = (vendor: FakeVendor, email: string) => vendor.sent.filter((s) => s.request.query.get("email") === email)

describe("HTTP provider against hostile answers (integration, real local vendor)", () => {
  it.live(
    "a_400_whose_200th_unit_is_the_first_half_of_an_emoji_is_excerpted_without_a_lone_surrogate",
    () =>
      Effect.gen(function* () {
        // `{"error":"` is 10 units: 189 more put the emoji's first half at unit 200 (index 199)
        const said = `${"a".repeat(189)}\u{1F600} and more`
        const vendor = yield* fakeVendor(hostile({ bad: () => ({ status: 400, json: { error: said } }) }))
        const entry = yield* build(perLead(vendor.url))
        const body = JSON.stringify({ error: said })
        assert.strictEqual(body.charCodeAt(199), 0xd83d, "the test's premise: unit 200 is a high surrogate")

        const outcome = yield* call(entry, "bad@corp.example")
        const failure = failureOf(outcome)
        const expected = `${body.slice(0, 199)}…`
        assert.strictEqual(failure.message, `${entry.contract.slug}: HTTP 400: ${expected}`)
        assert.deepStrictEqual(failure.details, { kind: "status", status: 400, excerpt: expected })
        assert.isFalse(failure.retryable)
        assert.strictEqual(outcome.attempts, 1)
      }),
    scaled(30_000)
  )

  it.live(
    "nul_and_lone_surrogates_in_a_200_json_answer_never_reach_the_result_the_raw_record_or_the_submission_id",
    () =>
      Effect.gen(function* () {
        // JSON.stringify writes them as the escapes "\u0000" and "\ud83d": the vendor's JSON is valid,
        // JSON.parse gives back U+0000 and a lone surrogate
        const record = {
          id: "p\u00001\ud83d",
          title: "C\u0000TO\ud83d",
          company: { name: "Ac\udc00me\u0000" },
          "no\u0000te\ud83d": ["x\u0000", { "\udc00": "\ud83d\ude00 ok" }],
          bio: "\u0000".repeat(5)
        }
        const vendor = yield* fakeVendor(
          hostile({
            found: () => ({ json: record }),
            // invalid JSON whose parser message quotes the body, U+0000 and a lone surrogate included
            garbled: () => ({ raw: '\u0000\ud83d{"title": ' }),
            // no body at all
            empty: () => ({ status: 204 })
          })
        )
        assert.include(JSON.stringify(record), "\\u0000")
        assert.include(JSON.stringify(record), "\\ud83d")
        const entry = yield* build(perLead(vendor.url))

        const found = successOf(yield* call(entry, "found@corp.example"))
        assert.deepStrictEqual(found.result, { found: true, title: "CTO\ufffd", company: "Ac\ufffdme" })
        assert.deepStrictEqual(found.raw, {
          id: "p1\ufffd",
          title: "CTO\ufffd",
          company: { name: "Ac\ufffdme" },
          "note\ufffd": ["x", { "\ufffd": "\u{1F600} ok" }],
          bio: ""
        })
        assert.strictEqual(found.providerSubmissionId, "p1\ufffd")
        assert.isTrue(found.found)

        const empty = successOf(yield* call(entry, "empty@corp.example"))
        assert.isFalse(empty.found, "a 204 without a body: no record")

        const garbled = yield* call(entry, "garbled@corp.example")
        const failure = failureOf(garbled)
        assert.match(failure.message, /malformed JSON in the HTTP 200 response/)
        assert.isFalse(failure.retryable)
      }),
    scaled(30_000)
  )

  it.live(
    "a_10_mb_answer_is_not_read_whole_it_fails_for_good_naming_the_limit",
    () =>
      Effect.gen(function* () {
        const size = 10 * MiB
        const vendor = yield* fakeVendor(
          hostile({
            // chunked, no length announced: the cap is found while reading
            big: () => ({ stream: { parts: hugeJson(size) } }),
            // announced with Content-Length: refused at the first part
            bigerror: () => ({ status: 400, stream: { parts: hugeJson(size), contentLength: size + 11 } })
          })
        )
        const entry = yield* build(perLead(vendor.url))
        const slug = entry.contract.slug
        for (const [email, status] of [
          ["big@corp.example", 200],
          ["bigerror@corp.example", 400]
        ] as const) {
          const outcome = yield* call(entry, email)
          const failure = failureOf(outcome)
          assert.strictEqual(failure.message, `${slug}: the HTTP ${status} response was larger than ${MiB} bytes`)
          assert.deepStrictEqual(failure.details, { kind: "too_large", status, limit: MiB })
          assert.isFalse(failure.retryable)
          assert.strictEqual(outcome.attempts, 1, "not retried")
          // the client hung up: the server could not write the whole body
          const [sent] = sentTo(vendor, email)
          yield* eventually(() => sent!.closedAt !== undefined, 5_000, `${email}: the answer closed`)
          assert.isFalse(sent!.finished, `${email}: the client hung up before the end`)
          assert.isBelow(sent!.bytes, size, `${email}: ${sent!.bytes} bytes written`)
        }
      }),
    scaled(60_000)
  )

  it.live(
    "max_response_bytes_is_the_exact_limit",
    () =>
      Effect.gen(function* () {
        const body = (n: number) => JSON.stringify({ title: "t".repeat(n - 12) })
        const vendor = yield* fakeVendor(
          hostile({
            fits: () => ({ raw: body(1_000) }),
            over: () => ({ raw: body(1_001) }),
            overchunked: () => ({ stream: { parts: [body(1_001).slice(0, 600), body(1_001).slice(600)] } })
          })
        )
        assert.strictEqual(Buffer.byteLength(body(1_000)), 1_000)
        const entry = yield* build(perLead(vendor.url, { maxResponseBytes: 1_000 }))
        assert.strictEqual(
          (successOf(yield* call(entry, "fits@corp.example")).result as { title: string }).title.length,
          988
        )
        for (const email of ["over@corp.example", "overchunked@corp.example"]) {
          const failure = failureOf(yield* call(entry, email))
          assert.strictEqual(
            failure.message,
            `${entry.contract.slug}: the HTTP 200 response was larger than 1000 bytes`
          )
        }
        // the setting is checked: a positive integer
        const refused = yield* Effect.flip(decodeHttpProviderConfig(perLead(vendor.url, { maxResponseBytes: 0 })))
        assert.match(refused.message, /maxResponseBytes/)
        const fractional = yield* Effect.flip(decodeHttpProviderConfig(perLead(vendor.url, { maxResponseBytes: 1.5 })))
        assert.match(fractional.message, /maxResponseBytes/)
      }),
    scaled(30_000)
  )

  it.live(
    "invalid_utf8_is_decoded_with_replacement_and_a_character_split_across_parts_is_kept",
    () =>
      Effect.gen(function* () {
        const vendor = yield* fakeVendor(
          hostile({
            // 0xC3 0x28: a lead byte followed by "(" — and 0xED 0xA0 0xBD, a surrogate encoded in UTF-8 (CESU)
            invalid: () => ({
              raw: Buffer.concat([
                Buffer.from('{"id":"x1","title":"caf'),
                Buffer.from([0xc3, 0x28]),
                Buffer.from('","company":{"name":"'),
                Buffer.from([0xed, 0xa0, 0xbd]),
                Buffer.from('"}}')
              ])
            }),
            // "é" is 0xC3 0xA9: its two bytes in two parts, 50 ms apart
            split: () => ({
              stream: {
                parts: [Buffer.from('{"title":"caf\xc3', "latin1"), Buffer.from('\xa9"}', "latin1")],
                everyMs: 50
              }
            })
          })
        )
        const entry = yield* build(perLead(vendor.url))
        const invalid = successOf(yield* call(entry, "invalid@corp.example"))
        assert.strictEqual((invalid.result as { title: string }).title, "caf\ufffd(")
        const company = (invalid.result as { company: string }).company
        assert.isTrue(isStorable(company))
        assert.match(company, /^\ufffd+$/)
        const split = successOf(yield* call(entry, "split@corp.example"))
        assert.strictEqual((split.result as { title: string }).title, "café")
      }),
    scaled(30_000)
  )

  it.live(
    "a_body_that_trickles_forever_times_out_within_timeout_ms_and_the_connection_is_closed",
    () =>
      Effect.gen(function* () {
        function* endless(): Generator<string> {
          yield '{"title":"'
          while (true) yield "a"
        }
        const vendor = yield* fakeVendor(hostile({ slow: () => ({ stream: { parts: endless(), everyMs: 200 } }) }))
        const entry = yield* build(perLead(vendor.url, { timeoutMs: 1_000, retry: { maxAttempts: 1, backoffMs: 0 } }))
        const started = Date.now()
        const outcome = yield* call(entry, "slow@corp.example")
        const elapsed = Date.now() - started
        const failure = failureOf(outcome)
        assert.strictEqual(failure.message, `${entry.contract.slug}: timed out after 1000 ms`)
        assert.deepStrictEqual(failure.details, { kind: "timeout" })
        assert.isTrue(failure.retryable, "retryable, as a timeout always was")
        assert.isAtLeast(elapsed, 900)
        assert.isBelow(elapsed, 5_000, `took ${elapsed} ms`)
        // the headers came at once, bytes kept coming: the deadline covered the body, and then the client hung up
        const [sent] = sentTo(vendor, "slow@corp.example")
        assert.isAbove(sent!.bytes, 10)
        yield* eventually(() => sent!.closedAt !== undefined, 3_000, "the vendor saw the connection closed")
        assert.isFalse(sent!.finished)
        const written = sent!.bytes
        yield* Effect.sleep(600)
        assert.strictEqual(sent!.bytes, written, "nothing more was written after the close")
      }),
    scaled(30_000)
  )

  it.live(
    "a_bulk_answer_with_nul_and_lone_surrogates_gives_each_lead_a_storable_outcome",
    () =>
      Effect.gen(function* () {
        const vendor = yield* fakeVendor((request) => {
          const people = (request.body?.people ?? []) as Array<{ email: string; ref: number }>
          return {
            json: {
              batchId: "batch\u0000\ud83d",
              results: people.map(({ email, ref }) => {
                const [kind] = email.split("@")
                if (kind === "invalid")
                  return { ref, status: 400, message: `bad \u0000 email \ud83d${"!".repeat(300)}` }
                if (kind === "missing") return { ref, status: 404, note: "\udc00" }
                return { ref, status: 200, person: { title: `T\u0000itle\ud83d of ${email}` }, "k\u0000": "\udc00" }
              })
            }
          }
        })
        const entry = yield* build(
          perLead(vendor.url, {
            slug: freshSlug("hostile_bulk"),
            mode: "batch",
            maxBatchSize: 10,
            batchWindowMs: 30,
            request: {
              method: "POST",
              url: `${vendor.url}/bulk`,
              body: { people: { $each: { email: { $lead: "email" }, ref: { $index: "number" } } } }
            },
            response: {
              records: "/results",
              match: { by: "key", key: "/ref" },
              status: "/status",
              error: "/message",
              data: "/person",
              output: { title: { path: "/title", type: "string" } },
              submissionId: [{ body: "/batchId" }]
            }
          })
        )
        const emails = ["a@corp.example", "invalid@corp.example", "missing@corp.example", "b@corp.example"]
        const outcomes = yield* Effect.forEach(emails, (email) => call(entry, email), { concurrency: 4 })
        assert.strictEqual(vendor.requests.length, 1, "one bulk request")

        const [a, invalid, missing, b] = outcomes
        for (const [outcome, email] of [
          [a!, "a@corp.example"],
          [b!, "b@corp.example"]
        ] as const) {
          const found = successOf(outcome)
          assert.deepStrictEqual(found.result, { found: true, title: `Title\ufffd of ${email}` })
          assert.strictEqual(found.providerSubmissionId, "batch\ufffd")
          assert.deepInclude(found.raw as object, { k: "\ufffd" })
        }
        const notFound = successOf(missing!)
        assert.isFalse(notFound.found)
        assert.deepStrictEqual(notFound.raw, { ref: 2, status: 404, note: "\ufffd" })
        const failure = failureOf(invalid!)
        assert.match(failure.message, /record \d+ \(key 1\) of the bulk answer has status 400: bad {2}email \ufffd!+…$/)
        assert.isFalse(failure.retryable)
      }),
    scaled(30_000)
  )
})
