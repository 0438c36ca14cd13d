/**
 * The MX lookup of `email_validation` against a real DNS server started by the
 * test (node:dgram, answering from a table; node:dns is not mocked): MX records,
 * the A/AAAA fallback, no mail host, NXDOMAIN, a null MX, a server that never
 * answers, no server at all, a resolver that says every name is NXDOMAIN,
 * reserved domains (no query), and the cache (one query per domain, counted by
 * the server).
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit } from "effect"
import { createSocket } from "node:dgram"
import { type DnsZone, dnsServer } from "@enrich/catalog/testing/DnsServer"
import { makeBuiltinEntries } from "@enrich/catalog/Catalog"
import { validateEmail } from "@enrich/catalog/builtin/emailValidation"
import { makeMailDomains, type MailDomainAnswer, MailDomainsFromConfig } from "@enrich/catalog/builtin/mailDomain"

const ZONE: DnsZone = {
  com: { SOA: true },
  "acme.com": {
    MX: [
      { priority: 20, exchange: "mx2.acme.com" },
      { priority: 10, exchange: "mx1.acme.com" }
    ],
    A: ["192.0.2.10"]
  },
  "webonly.com": { A: ["192.0.2.20"] },
  "v6only.com": { AAAA: ["2001:db8::25"] },
  "parked.com": {},
  "nomail.com": { MX: [{ priority: 0, exchange: null }], A: ["192.0.2.30"] }
}

// generous against a loaded CI machine: a local answer takes a millisecond
const TIMEOUT_MS = 2_000

const lookups = (address: string, timeoutMs = TIMEOUT_MS) => makeMailDomains({ servers: [address], timeoutMs })

const answer = (partial: Partial<MailDomainAnswer>): MailDomainAnswer => ({
  deliverability: "deliverable",
  reason: null,
  mailHosts: [],
  implicitMx: false,
  ...partial
})

/** A local UDP port on which nothing listens (bound, read, closed). */
const closedPort = Effect.promise(
  () =>
    new Promise<number>((resolve) => {
      const socket = createSocket("udp4")
      socket.bind(0, "127.0.0.1", () => {
        const { port } = socket.address()
        socket.close(() => resolve(port))
      })
    })
)

describe("MX lookup (a real local DNS server)", () => {
  it.live("a domain with MX records is deliverable: its exchanges best first, from one MX query", () =>
    Effect.gen(function* () {
      const server = yield* dnsServer(ZONE)
      const mail = yield* lookups(server.address)
      assert.deepStrictEqual(yield* mail.check("acme.com"), answer({ mailHosts: ["mx1.acme.com", "mx2.acme.com"] }))
      assert.deepStrictEqual(server.questions, [{ name: "acme.com", type: "MX" }])
    })
  )

  it.live("no MX but an A or AAAA record: the domain is its own mail host (RFC 5321 §5.1)", () =>
    Effect.gen(function* () {
      const server = yield* dnsServer(ZONE)
      const mail = yield* lookups(server.address)
      assert.deepStrictEqual(yield* mail.check("webonly.com"), answer({ mailHosts: ["webonly.com"], implicitMx: true }))
      assert.deepStrictEqual(yield* mail.check("v6only.com"), answer({ mailHosts: ["v6only.com"], implicitMx: true }))
      assert.strictEqual(server.count("webonly.com", "MX"), 1)
      assert.strictEqual(server.count("webonly.com", "A"), 1)
    })
  )

  it.live("no MX and no address record: undeliverable, no_mail_host", () =>
    Effect.gen(function* () {
      const server = yield* dnsServer(ZONE)
      const mail = yield* lookups(server.address)
      assert.deepStrictEqual(
        yield* mail.check("parked.com"),
        answer({ deliverability: "undeliverable", reason: "no_mail_host" })
      )
      assert.deepStrictEqual(
        server.questions
          .filter((q) => q.name === "parked.com")
          .map((q) => q.type)
          .sort(),
        ["A", "AAAA", "MX"]
      )
    })
  )

  it.live("a domain that does not exist (NXDOMAIN) is undeliverable, once the resolver shows it knows the TLD", () =>
    Effect.gen(function* () {
      const server = yield* dnsServer(ZONE)
      const mail = yield* lookups(server.address)
      assert.deepStrictEqual(
        yield* mail.check("no-such-company.com"),
        answer({ deliverability: "undeliverable", reason: "nxdomain" })
      )
      assert.deepStrictEqual(server.questions, [
        { name: "no-such-company.com", type: "MX" },
        { name: "com", type: "SOA" }
      ])
      // the TLD's answer is cached too
      yield* mail.check("another-missing.com")
      assert.strictEqual(server.count("com", "SOA"), 1)
    })
  )

  it.live("a null MX (`0 .`, RFC 7505) means no mail: undeliverable, and its A record is not asked for", () =>
    Effect.gen(function* () {
      const server = yield* dnsServer(ZONE)
      const mail = yield* lookups(server.address)
      assert.deepStrictEqual(
        yield* mail.check("nomail.com"),
        answer({ deliverability: "undeliverable", reason: "null_mx" })
      )
      assert.strictEqual(server.count("nomail.com", "A"), 0)
    })
  )

  it.live("a server that never answers: unknown (dns_timeout) within the deadline", () =>
    Effect.gen(function* () {
      const server = yield* dnsServer(ZONE, { mode: "silent" })
      const mail = yield* lookups(server.address, 300)
      const started = Date.now()
      assert.deepStrictEqual(
        yield* mail.check("acme.com"),
        answer({ deliverability: "unknown", reason: "dns_timeout" })
      )
      const took = Date.now() - started
      assert.isAtLeast(took, 250)
      assert.isBelow(took, 1_500, "the deadline covers every try")
      assert.isAtLeast(server.count("acme.com", "MX"), 1)
    })
  )

  it.live("no resolver reachable (nothing listens): unknown (dns_unreachable), not undeliverable", () =>
    Effect.gen(function* () {
      const port = yield* closedPort
      const mail = yield* lookups(`127.0.0.1:${port}`)
      assert.deepStrictEqual(
        yield* mail.check("acme.com"),
        answer({ deliverability: "unknown", reason: "dns_unreachable" })
      )
    })
  )

  it.live(
    "a resolver that answers NXDOMAIN for every name (as sandboxes do) is not believed: unknown (dns_unreliable)",
    () =>
      Effect.gen(function* () {
        const server = yield* dnsServer({})
        const mail = yield* lookups(server.address)
        assert.deepStrictEqual(
          yield* mail.check("gmail.com"),
          answer({ deliverability: "unknown", reason: "dns_unreliable" })
        )
        assert.strictEqual(server.count("com", "SOA"), 1)
        // a TLD that is not on the Public Suffix List does not exist: the NXDOMAIN stands
        assert.deepStrictEqual(
          yield* mail.check("acme.intranet-zz"),
          answer({ deliverability: "undeliverable", reason: "nxdomain" })
        )
      })
  )

  it.live("ten thousand checks of one domain make one query; concurrent checks share it", () =>
    Effect.gen(function* () {
      const server = yield* dnsServer(ZONE)
      const mail = yield* lookups(server.address)
      const answers = yield* Effect.forEach(
        Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? "acme.com" : "webonly.com")),
        (domain) => mail.check(domain),
        { concurrency: 64 }
      )
      assert.isTrue(answers.every((a) => a.deliverability === "deliverable"))
      assert.strictEqual(server.count("acme.com"), 1)
      assert.strictEqual(server.count("webonly.com", "MX"), 1)
    })
  )

  it.live("an unknown answer is cached too: a dead resolver is not asked again for each Lead", () =>
    Effect.gen(function* () {
      const server = yield* dnsServer(ZONE, { mode: "silent" })
      const mail = yield* lookups(server.address, 200)
      const answers = yield* Effect.forEach(Array.from({ length: 50 }), () => mail.check("acme.com"), {
        concurrency: 8
      })
      assert.isTrue(answers.every((a) => a.reason === "dns_timeout"))
      // c-ares sends the question once per try (two tries): one lookup
      assert.isAtMost(server.count("acme.com", "MX"), 2)
    })
  )
})

describe("email_validation over a real local DNS server", () => {
  it.live(
    "verdicts follow DNS: valid, invalid (nxdomain, null MX), unknown (timeout); reserved domains ask nothing",
    () =>
      Effect.gen(function* () {
        const server = yield* dnsServer(ZONE)
        const mail = yield* lookups(server.address)
        const verdict = (raw: string) =>
          Effect.map(validateEmail(raw, mail), (r) => [r.verdict, r.reason, r.deliverability, r.found] as const)
        assert.deepStrictEqual(yield* verdict("Ken.Hopper1@Acme.com"), ["valid", null, "deliverable", true])
        assert.deepStrictEqual(yield* verdict("ken@webonly.com"), ["valid", null, "deliverable", true])
        assert.deepStrictEqual(yield* verdict("ken@nomail.com"), ["invalid", "null_mx", "undeliverable", false])
        assert.deepStrictEqual(yield* verdict("ken@gone.com"), ["invalid", "nxdomain", "undeliverable", false])
        assert.deepStrictEqual(yield* verdict("info@acme.com"), ["risky", "role_account", "deliverable", true])
        const before = server.questions.length
        for (const raw of ["ken.hopper1@example.org", "ken@corp.example", "ken@printer.home.arpa", "ken@x.onion"]) {
          const [v, reason] = yield* verdict(raw)
          assert.strictEqual(v, "invalid", raw)
          assert.match(String(reason), /^reserved: /, raw)
        }
        assert.strictEqual(server.questions.length, before, "no query for a reserved domain")

        const silent = yield* dnsServer(ZONE, { mode: "silent" })
        const offline = yield* lookups(silent.address, 200)
        const r = yield* validateEmail("ken@acme.com", offline)
        assert.deepStrictEqual([r.verdict, r.reason, r.found], ["unknown", "dns_timeout", false])
      })
  )

  it.live("the catalog entry answers through the DNS it was made with: found only when the domain takes mail", () =>
    Effect.gen(function* () {
      const server = yield* dnsServer(ZONE)
      const entry = makeBuiltinEntries(yield* lookups(server.address)).find(
        (e) => e.contract.slug === "email_validation"
      )!
      assert.strictEqual(entry.contract.version, 2)
      const run = (email: string) => {
        const outcome = entry.execute({ email }, {})
        return Effect.isEffect(outcome) ? outcome : Effect.succeed(outcome)
      }
      const found = yield* run("ken@acme.com")
      assert.deepStrictEqual([found.found, (found.result as { verdict: string }).verdict], [true, "valid"])
      const gone = yield* run("ken@gone.com")
      assert.deepStrictEqual([gone.found, (gone.result as { verdict: string }).verdict], [false, "invalid"])
    })
  )

  it.live("ENRICH_DNS_SERVERS: a server list, `none` (no lookups: unknown), or a refusal at start", () =>
    Effect.gen(function* () {
      const server = yield* dnsServer(ZONE)
      const fromEnv = (env: Record<string, string>) =>
        MailDomainsFromConfig.pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))
      const configured = yield* fromEnv({ ENRICH_DNS_SERVERS: ` ${server.address} `, ENRICH_DNS_TIMEOUT_MS: "1000" })
      assert.strictEqual((yield* configured.check("acme.com")).deliverability, "deliverable")

      const none = yield* fromEnv({ ENRICH_DNS_SERVERS: "none" })
      const before = server.questions.length
      assert.deepStrictEqual(
        yield* none.check("acme.com"),
        answer({ deliverability: "unknown", reason: "dns_disabled" })
      )
      assert.strictEqual(server.questions.length, before)

      const refused = yield* Effect.exit(fromEnv({ ENRICH_DNS_SERVERS: "127.0.0.1:53,dns.example:53" }))
      assert.isTrue(Exit.isFailure(refused))
      assert.match(String(refused), /ENRICH_DNS_SERVERS: not a DNS server address: "dns\.example:53"/)
      for (const ok of ["10.0.0.1", "10.0.0.1:5353", "::1", "[::1]:5353", "1.1.1.1, 9.9.9.9"]) {
        assert.isTrue(Exit.isSuccess(yield* Effect.exit(fromEnv({ ENRICH_DNS_SERVERS: ok }))), ok)
      }
    })
  )
})
