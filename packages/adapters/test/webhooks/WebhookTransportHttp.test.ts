/**
 * The webhook transport (webhooks/WebhookTransportHttp.ts) against real local receivers (node:http): the
 * outbound-safety check of a URL, and attempts that a receiver verifies with `standardwebhooks`, that end with
 * its status (redirects not followed, a huge answer cut at the cap), a timeout, a refused connection, or an
 * address refused before anything is sent — never with a secret in the error.
 */
import { randomBytes } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Fiber, Layer } from "effect"
import { Webhook } from "standardwebhooks"
import { WebhookTransport } from "@enrich/application/ports/Webhooks"
import type { AttemptResult } from "@enrich/domain/webhooks/Webhooks"
import { isLocalhostName, isPublicAddress } from "../../src/webhooks/OutboundAddress.ts"
import { pinnedLookup, WebhookTransportHttpLive } from "../../src/webhooks/WebhookTransportHttp.ts"

const newSecret = () => `whsec_${randomBytes(32).toString("base64")}`

/** The transport as configured by `env`. */
const transport = (env: Record<string, string>) =>
  Effect.provide(
    Effect.service(WebhookTransport),
    WebhookTransportHttpLive.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))
  )
const strict = transport({})
const permissive = transport({ ENRICH_WEBHOOK_ALLOW_PRIVATE: "1" })

interface Received {
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
  readonly body: string
}

interface Receiver {
  readonly url: string
  readonly received: Array<Received>
  /** answers whose connection closed (finished or dropped) */
  readonly closed: { count: number }
}

/** A receiver on 127.0.0.1 that records each request (once its body is in) and lets `answer` reply, or not. */
const receiver = (answer: (res: http.ServerResponse, received: Received) => void) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const received: Array<Received> = []
      const closed = { count: 0 }
      const server = http.createServer((req, res) => {
        res.on("close", () => closed.count++)
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const headers: Record<string, string> = {}
          for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers[name] = value
          const request = {
            method: req.method ?? "",
            url: req.url ?? "",
            headers,
            body: Buffer.concat(chunks).toString()
          }
          received.push(request)
          answer(res, request)
        })
      })
      await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok))
      const { port } = server.address() as AddressInfo
      return { server, receiver: { url: `http://127.0.0.1:${port}`, received, closed } satisfies Receiver }
    }),
    ({ server }) =>
      Effect.promise(
        () =>
          new Promise<void>((ok) => {
            server.closeAllConnections()
            server.close(() => ok())
          })
      )
  ).pipe(Effect.map(({ receiver }) => receiver))

const status =
  (code: number, headers: Record<string, string> = {}) =>
  (res: http.ServerResponse) =>
    res.writeHead(code, headers).end("ok")

/** A port nothing listens on. */
const closedPort = Effect.promise(
  () =>
    new Promise<number>((ok) => {
      const server = http.createServer()
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        server.close(() => ok(port))
      })
    })
)

/** Waits (polling) until `check` holds, or fails after `ms`. */
const eventually = (check: () => boolean, ms: number, what: string) =>
  Effect.gen(function* () {
    const deadline = Date.now() + ms
    while (!check()) {
      if (Date.now() > deadline) return assert.fail(`not within ${ms} ms: ${what}`)
      yield* Effect.sleep(10)
    }
  })

const errorOf = (result: AttemptResult): string => {
  assert.strictEqual(result._tag, "NotAnswered", JSON.stringify(result))
  return result._tag === "NotAnswered" ? result.error : ""
}

/** The reason `check` gave, undefined when it accepted the URL. */
const refusal = (check: Effect.Effect<void, { readonly reason: string }>) =>
  Effect.match(check, { onFailure: (refused): string | undefined => refused.reason, onSuccess: () => undefined })

describe("OutboundAddress (unit)", () => {
  it("only_public_unicast_addresses_are_public", () => {
    for (const ip of ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "::ffff:1.1.1.1"]) {
      assert.isTrue(isPublicAddress(ip), ip)
    }
    for (const ip of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "255.255.255.255",
      "224.0.0.1",
      "192.0.2.1",
      "::1",
      "::",
      "fe80::1",
      "fd00::1",
      "::ffff:127.0.0.1",
      "::ffff:10.0.0.1",
      "2002:7f00:1::",
      "2001:0::1",
      "ff02::1",
      "not an address"
    ]) {
      assert.isFalse(isPublicAddress(ip), ip)
    }
  })

  it("localhost_names_are_local", () => {
    for (const name of ["localhost", "LOCALHOST", "localhost.", "foo.localhost", "a.b.localhost"]) {
      assert.isTrue(isLocalhostName(name), name)
    }
    for (const name of ["localhost.example.com", "mylocalhost", "example.com"]) {
      assert.isFalse(isLocalhostName(name), name)
    }
  })
})

describe("WebhookTransportHttp check", () => {
  it.live("http_to_loopback_is_refused_by_default_and_allowed_with_ENRICH_WEBHOOK_ALLOW_PRIVATE", () =>
    Effect.gen(function* () {
      const refused = yield* refusal((yield* strict).check("http://127.0.0.1:8080/hook"))
      assert.include(refused, "https")
      yield* (yield* permissive).check("http://127.0.0.1:8080/hook")
      yield* (yield* transport({ ENRICH_WEBHOOK_ALLOW_PRIVATE: "true" })).check("http://localhost/hook")
    })
  )

  it.live("private_loopback_link_local_and_local_names_are_refused_without_the_flag", () =>
    Effect.gen(function* () {
      const { check } = yield* strict
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["https://10.0.0.1/hook", "address 10.0.0.1 is not allowed (private)"],
        ["https://169.254.169.254/latest", "address 169.254.169.254 is not allowed (linkLocal)"],
        ["https://[::1]/", "address ::1 is not allowed (loopback)"],
        ["https://[::ffff:127.0.0.1]/", "is not allowed (loopback)"],
        ["https://2130706433/", "address 127.0.0.1 is not allowed (loopback)"],
        ["https://localhost/", "localhost is a local name"],
        ["https://foo.localhost/", "foo.localhost is a local name"]
      ]
      for (const [url, reason] of cases) {
        const refused = yield* refusal(check(url))
        assert.isDefined(refused, url)
        assert.include(refused, reason, url)
      }
    })
  )

  it.live("a_url_that_is_not_http_has_credentials_is_too_long_or_does_not_parse_is_refused_even_with_the_flag", () =>
    Effect.gen(function* () {
      for (const { check } of [yield* strict, yield* permissive]) {
        assert.include(yield* refusal(check("ftp://example.com/hook")), "must be https")
        assert.include(yield* refusal(check("https://user:pass@example.com/hook")), "credentials")
        assert.include(yield* refusal(check("https://user@example.com/hook")), "credentials")
        assert.include(yield* refusal(check(`https://example.com/${"a".repeat(2048)}`)), "longer than 2048")
        assert.include(yield* refusal(check("not a url")), "not a valid absolute URL")
      }
    })
  )

  it.live("a_public_ip_literal_is_accepted_without_dns_and_an_unresolvable_name_is_refused", () =>
    Effect.gen(function* () {
      const { check } = yield* strict
      yield* check("https://1.1.1.1/hook")
      yield* check("https://[2606:4700:4700::1111]:8443/hook?x=1")
      assert.include(
        yield* refusal(check("https://does-not-exist.invalid/")),
        "does-not-exist.invalid does not resolve"
      )
    })
  )

  it.live("a_negative_response_cap_is_a_configuration_error", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(transport({ ENRICH_WEBHOOK_MAX_RESPONSE_BYTES: "-1" }))
      assert.isTrue(Exit.isFailure(exit))
    })
  )
})

describe("WebhookTransportHttp send (integration, real local receivers)", () => {
  it.live("the_receiver_verifies_the_standard_webhooks_signature_and_gets_the_delivery_id", () =>
    Effect.gen(function* () {
      const secret = newSecret()
      const verified: Array<unknown> = []
      const target = yield* receiver((res, request) => {
        try {
          verified.push(new Webhook(secret).verify(request.body, request.headers))
          res.writeHead(204).end()
        } catch (error) {
          verified.push(error)
          res.writeHead(400).end()
        }
      })
      const body = JSON.stringify({ type: "run.completed", timestamp: "2024-01-01T00:00:00Z", data: { run: {} } })
      const result = yield* (yield* permissive).send({
        url: `${target.url}/hooks/in?a=1`,
        id: "wd_1",
        body,
        secrets: [secret],
        timeoutMs: 2_000
      })
      assert.deepStrictEqual(result, { _tag: "Answered", statusCode: 204 })
      assert.deepStrictEqual(verified, [JSON.parse(body)])
      const [request] = target.received
      assert.strictEqual(request!.method, "POST")
      assert.strictEqual(request!.url, "/hooks/in?a=1")
      assert.strictEqual(request!.body, body)
      assert.strictEqual(request!.headers["webhook-id"], "wd_1")
      assert.strictEqual(request!.headers["content-type"], "application/json")
      assert.strictEqual(request!.headers["user-agent"], "enrich-webhooks/1")
      assert.match(request!.headers["webhook-timestamp"]!, /^\d+$/)
      assert.closeTo(Number(request!.headers["webhook-timestamp"]), Date.now() / 1000, 5)
    })
  )

  it.live("with_two_secrets_each_verifies_on_its_own", () =>
    Effect.gen(function* () {
      const newest = newSecret()
      const previous = newSecret()
      const target = yield* receiver(status(200))
      const body = JSON.stringify({ hello: "world" })
      const result = yield* (yield* permissive).send({
        url: target.url,
        id: "wd_2",
        body,
        secrets: [newest, previous],
        timeoutMs: 2_000
      })
      assert.deepStrictEqual(result, { _tag: "Answered", statusCode: 200 })
      const [request] = target.received
      const signatures = request!.headers["webhook-signature"]!.split(" ")
      assert.strictEqual(signatures.length, 2)
      for (const signature of signatures) assert.match(signature, /^v1,[A-Za-z0-9+/]+=*$/)
      for (const secret of [newest, previous]) {
        assert.deepStrictEqual(new Webhook(secret).verify(request!.body, request!.headers), { hello: "world" })
      }
      assert.throws(() => new Webhook(newSecret()).verify(request!.body, request!.headers))
    })
  )

  it.live("any_status_is_an_answer_and_a_redirect_is_not_followed", () =>
    Effect.gen(function* () {
      const { send } = yield* permissive
      const elsewhere = yield* receiver(status(200))
      for (const code of [500, 410]) {
        const target = yield* receiver(status(code))
        const result = yield* send({
          url: target.url,
          id: "wd_3",
          body: "{}",
          secrets: [newSecret()],
          timeoutMs: 2_000
        })
        assert.deepStrictEqual(result, { _tag: "Answered", statusCode: code })
      }
      const redirecting = yield* receiver(status(302, { location: `${elsewhere.url}/moved` }))
      const result = yield* send({
        url: redirecting.url,
        id: "wd_4",
        body: "{}",
        secrets: [newSecret()],
        timeoutMs: 2_000
      })
      assert.deepStrictEqual(result, { _tag: "Answered", statusCode: 302 })
      yield* Effect.sleep(100)
      assert.strictEqual(redirecting.received.length, 1)
      assert.strictEqual(elsewhere.received.length, 0)
    })
  )

  it.live("a_receiver_that_never_answers_is_not_answered_once_the_timeout_passes", () =>
    Effect.gen(function* () {
      const target = yield* receiver(() => {})
      const started = Date.now()
      const result = yield* (yield* permissive).send({
        url: target.url,
        id: "wd_5",
        body: "{}",
        secrets: [newSecret()],
        timeoutMs: 300
      })
      const elapsed = Date.now() - started
      assert.strictEqual(errorOf(result), "timed out after 300 ms")
      assert.isAtLeast(elapsed, 280)
      assert.isBelow(elapsed, 1_000)
      yield* eventually(() => target.closed.count === 1, 1_000, "the connection is closed")
    })
  )

  it.live("a_huge_answer_is_read_up_to_the_cap_then_the_connection_is_dropped", () =>
    Effect.gen(function* () {
      let written = 0
      const part = Buffer.alloc(16_384, "x")
      const target = yield* receiver((res) => {
        res.writeHead(200, { "content-type": "application/octet-stream" })
        const pump = () => {
          while (!res.destroyed && written < 500 * 1_048_576) {
            written += part.length
            if (!res.write(part)) return void res.once("drain", pump)
          }
        }
        pump()
      })
      const started = Date.now()
      const result = yield* (yield* transport({
        ENRICH_WEBHOOK_ALLOW_PRIVATE: "1",
        ENRICH_WEBHOOK_MAX_RESPONSE_BYTES: "65536"
      })).send({ url: target.url, id: "wd_6", body: "{}", secrets: [newSecret()], timeoutMs: 5_000 })
      assert.deepStrictEqual(result, { _tag: "Answered", statusCode: 200 })
      assert.isBelow(Date.now() - started, 1_000)
      yield* eventually(() => target.closed.count === 1, 1_000, "the connection is dropped")
      // what the receiver got out before the drop: the cap and the socket buffers, not the 500 MiB it offered
      assert.isBelow(written, 16 * 1_048_576)
    })
  )

  it.live("a_refused_connection_is_not_answered", () =>
    Effect.gen(function* () {
      const port = yield* closedPort
      const result = yield* (yield* permissive).send({
        url: `http://127.0.0.1:${port}/hook`,
        id: "wd_7",
        body: "{}",
        secrets: [newSecret()],
        timeoutMs: 2_000
      })
      assert.include(errorOf(result), "ECONNREFUSED")
    })
  )

  it.live("without_the_flag_a_local_receiver_gets_nothing", () =>
    Effect.gen(function* () {
      const target = yield* receiver(status(200))
      const { send } = yield* strict
      const port = new URL(target.url).port
      const overHttp = yield* send({
        url: target.url,
        id: "wd_8",
        body: "{}",
        secrets: [newSecret()],
        timeoutMs: 2_000
      })
      assert.include(errorOf(overHttp), "http is not allowed")
      const overHttps = yield* send({
        url: `https://127.0.0.1:${port}/`,
        id: "wd_8",
        body: "{}",
        secrets: [newSecret()],
        timeoutMs: 2_000
      })
      assert.strictEqual(errorOf(overHttps), "address 127.0.0.1 is not allowed (loopback)")
      const byName = yield* send({
        url: `https://localhost:${port}/`,
        id: "wd_8",
        body: "{}",
        secrets: [newSecret()],
        timeoutMs: 2_000
      })
      assert.include(errorOf(byName), "local name")
      yield* Effect.sleep(50)
      assert.strictEqual(target.received.length, 0)
      assert.strictEqual(target.closed.count, 0)
    })
  )

  it.live("an_interrupted_attempt_aborts_its_request", () =>
    Effect.gen(function* () {
      const target = yield* receiver(() => {})
      const fiber = yield* Effect.forkChild(
        (yield* permissive).send({ url: target.url, id: "wd_9", body: "{}", secrets: [newSecret()], timeoutMs: 10_000 })
      )
      yield* eventually(() => target.received.length === 1, 1_000, "the request arrives")
      yield* Fiber.interrupt(fiber)
      yield* eventually(() => target.closed.count === 1, 1_000, "the connection is closed")
    })
  )

  it.live("the_pinned_lookup_sends_a_name_to_the_address_checked_whatever_dns_says", () =>
    Effect.gen(function* () {
      const target = yield* receiver(status(200))
      const port = Number(new URL(target.url).port)
      const code = yield* Effect.promise(
        () =>
          new Promise<number>((ok, fail) => {
            const options: http.RequestOptions = {
              method: "POST",
              hostname: "pinned.invalid",
              port,
              agent: false,
              lookup: pinnedLookup([{ address: "127.0.0.1", family: 4 }])
            }
            const req = http.request(options, (res) => {
              res.resume()
              ok(res.statusCode ?? 0)
            })
            req.on("error", fail)
            req.end("{}")
          })
      )
      assert.strictEqual(code, 200)
      assert.strictEqual(target.received[0]!.headers["host"], `pinned.invalid:${port}`)
      // both ways Node asks: every address (Happy Eyeballs) or one, of a family or any
      const checked = [
        { address: "2606:4700:4700::1111", family: 6 },
        { address: "1.1.1.1", family: 4 }
      ]
      const answers: Array<unknown> = []
      const lookup = pinnedLookup(checked)
      lookup("x.example", { all: true }, (error, address) => answers.push([error, address]))
      lookup("x.example", {}, (error, address, family) => answers.push([error, address, family]))
      lookup("x.example", { family: 4 }, (error, address, family) => answers.push([error, address, family]))
      assert.deepStrictEqual(answers, [
        [null, checked],
        [null, "2606:4700:4700::1111", 6],
        [null, "1.1.1.1", 4]
      ])
    })
  )

  it.live("no_error_carries_a_secret", () =>
    Effect.gen(function* () {
      const secret = newSecret()
      const malformed = "whsec_!!not-base64!!"
      const never = yield* receiver(() => {})
      const port = yield* closedPort
      const results = [
        yield* (yield* permissive).send({ url: never.url, id: "a", body: "{}", secrets: [secret], timeoutMs: 100 }),
        yield* (yield* permissive).send({
          url: `http://127.0.0.1:${port}/`,
          id: "b",
          body: "{}",
          secrets: [secret],
          timeoutMs: 1_000
        }),
        yield* (yield* strict).send({ url: never.url, id: "c", body: "{}", secrets: [secret], timeoutMs: 1_000 }),
        yield* (yield* permissive).send({ url: never.url, id: "d", body: "{}", secrets: [malformed], timeoutMs: 1_000 })
      ]
      assert.include(errorOf(results[3]!), "cannot sign")
      for (const result of results) {
        const error = errorOf(result)
        for (const text of [secret, secret.slice(6), malformed, malformed.slice(6)]) assert.notInclude(error, text)
      }
    })
  )
})
