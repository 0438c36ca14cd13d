/**
 * Does a domain receive mail? What DNS says, through `node:dns` (a `Resolver`
 * per lookup, the servers of `ENRICH_DNS_SERVERS` or the system's), for
 * `email_validation`.
 *
 * The rules (RFC 5321 §5.1, RFC 7505):
 * - MX records → `deliverable`; `mailHosts` are their exchanges, best
 *   preference first. A null MX (`0 .`, RFC 7505: "this domain accepts no
 *   mail") → `undeliverable` (`null_mx`); a null MX next to real ones is ignored.
 *   Whether those hosts answer is not checked (no SMTP).
 * - No MX records (NOERROR, no data): the domain itself is the mail host when it
 *   has an A or AAAA record (the implicit MX) → `deliverable`, `implicitMx`;
 *   without either → `undeliverable` (`no_mail_host`).
 * - The domain does not exist (NXDOMAIN) → `undeliverable` (`nxdomain`).
 * - No answer within `ENRICH_DNS_TIMEOUT_MS` (every query of the lookup
 *   included) → `unknown` (`dns_timeout`); no resolver reachable →
 *   `unknown` (`dns_unreachable`); a server failure or refusal → `unknown`
 *   (`dns_error: ESERVFAIL`, …); `ENRICH_DNS_SERVERS=none` → `unknown`
 *   (`dns_disabled`), without a query.
 * - A negative answer is believed only from a resolver that knows the domain's
 *   top-level domain: before `nxdomain` or `no_mail_host` is answered for a
 *   domain under a TLD of the Public Suffix List, the TLD's SOA is asked for;
 *   when the resolver says that TLD does not exist either (sandboxes and
 *   captive networks answer NXDOMAIN for every name), the answer is `unknown`
 *   (`dns_unreliable`), not `undeliverable`.
 *
 * Answers are cached per domain in the process (at most 10,000 domains; a
 * definite answer for 10 minutes, an `unknown` one for 1 minute), and
 * concurrent checks of one domain share one lookup: a List of 10,000 people at
 * one company costs one lookup. Nothing here fails: a lookup that cannot decide
 * answers `unknown`.
 */
import { Resolver } from "node:dns"
import { isIP } from "node:net"
import { Cache, Config, Duration, Effect, Exit, Schema } from "effect"
import { parse as parseDomain } from "tldts"

export type Deliverability = "deliverable" | "undeliverable" | "unknown"

export interface MailDomainAnswer {
  readonly deliverability: Deliverability
  /** null when deliverable; else `nxdomain`, `null_mx`, `no_mail_host`, `dns_timeout`, `dns_unreachable`, `dns_unreliable`, `dns_disabled`, `dns_error: CODE` */
  readonly reason: string | null
  /** where mail goes, best first: the MX exchanges, or the domain itself for an implicit MX; empty when not deliverable */
  readonly mailHosts: ReadonlyArray<string>
  /** the domain has no MX records and takes mail at its own address (RFC 5321 §5.1) */
  readonly implicitMx: boolean
}

/** What DNS says about mail to a domain. */
export interface MailDomains {
  /** `domain`: lower-case ASCII, no trailing dot. Never fails. */
  readonly check: (domain: string) => Effect.Effect<MailDomainAnswer>
}

export interface DnsOptions {
  /** `ip`, `ip:port` or `[ipv6]:port`; empty: the system's resolvers (/etc/resolv.conf) */
  readonly servers: ReadonlyArray<string>
  /** the deadline of one domain's lookup, all its queries included */
  readonly timeoutMs: number
}

export class DnsConfigError extends Schema.TaggedError<DnsConfigError>()("DnsConfigError", {
  message: Schema.String
}) {}

const unknown = (reason: string): MailDomainAnswer => ({
  deliverability: "unknown",
  reason,
  mailHosts: [],
  implicitMx: false
})
const undeliverable = (reason: string): MailDomainAnswer => ({
  deliverability: "undeliverable",
  reason,
  mailHosts: [],
  implicitMx: false
})
const deliverable = (mailHosts: ReadonlyArray<string>, implicitMx: boolean): MailDomainAnswer => ({
  deliverability: "deliverable",
  reason: null,
  mailHosts,
  implicitMx
})

/** No lookups at all (`ENRICH_DNS_SERVERS=none`): every domain is `unknown`. */
export const noMailDomainLookups: MailDomains = {
  check: () => Effect.succeed(unknown("dns_disabled"))
}

/** Why a query failed, from node:dns's error code. */
const failureReason = (code: string): string =>
  code === "ETIMEOUT" || code === "ECANCELLED"
    ? "dns_timeout"
    : code === "ECONNREFUSED" || code === "ENETUNREACH" || code === "EHOSTUNREACH" || code === "ECONNRESET"
      ? "dns_unreachable"
      : `dns_error: ${code}`

type Query<A> = Effect.Effect<A, string>

/** One query; its failure is node:dns's error code. Interrupting it cancels the resolver's queries. */
const query = <A>(
  run: (callback: (error: NodeJS.ErrnoException | null, value: A) => void) => void,
  resolver: Resolver
): Query<A> =>
  Effect.callback<A, string>((resume) => {
    run((error, value) =>
      resume(
        error === null ? Effect.succeed(value) : Effect.fail(typeof error.code === "string" ? error.code : "EUNKNOWN")
      )
    )
    return Effect.sync(() => resolver.cancel())
  })

const resolverFor = (options: DnsOptions): Resolver => {
  // c-ares doubles the timeout of each retry: three thirds of the deadline for two tries
  const resolver = new Resolver({ timeout: Math.max(1, Math.floor(options.timeoutMs / 3)), tries: 2 })
  if (options.servers.length > 0) resolver.setServers([...options.servers])
  return resolver
}

/** Whether `tld` is a top-level domain of the Public Suffix List (ICANN section). */
const isListedTld = (tld: string): boolean => parseDomain(`x.${tld}`, { allowPrivateDomains: false }).isIcann === true

/** The TLD's SOA: "exists", or why it could not be read ("missing" when the resolver says it does not exist). */
const tldExists = (tld: string, options: DnsOptions): Effect.Effect<"exists" | "missing" | string> =>
  Effect.suspend(() => {
    const resolver = resolverFor(options)
    return query<unknown>((callback) => resolver.resolveSoa(tld, callback), resolver).pipe(
      Effect.map(() => "exists"),
      Effect.catch((code) =>
        Effect.succeed(code === "ENOTFOUND" || code === "ENODATA" ? "missing" : failureReason(code))
      )
    )
  })

/**
 * One domain's lookup, uncached (see the module comment). `tldCheck` says
 * whether the resolver knows a TLD (cached by the caller).
 */
const lookup = (
  domain: string,
  options: DnsOptions,
  tldCheck: (tld: string) => Effect.Effect<string>
): Effect.Effect<MailDomainAnswer> =>
  Effect.suspend(() => lookupWith(resolverFor(options), domain, tldCheck)).pipe(
    Effect.timeoutOrElse({
      duration: Duration.millis(options.timeoutMs),
      orElse: () => Effect.succeed(unknown("dns_timeout"))
    })
  )

const lookupWith = (
  resolver: Resolver,
  domain: string,
  tldCheck: (tld: string) => Effect.Effect<string>
): Effect.Effect<MailDomainAnswer> => {
  /** a negative answer, believed only when the resolver knows the TLD */
  const negative = (reason: string): Effect.Effect<MailDomainAnswer> => {
    const tld = domain.slice(domain.lastIndexOf(".") + 1)
    if (!isListedTld(tld)) return Effect.succeed(undeliverable(reason))
    return Effect.map(tldCheck(tld), (tldAnswer) =>
      tldAnswer === "exists"
        ? undeliverable(reason)
        : tldAnswer === "missing"
          ? unknown("dns_unreliable")
          : unknown(tldAnswer)
    )
  }
  const addresses = Effect.all(
    [
      Effect.result(query<ReadonlyArray<string>>((callback) => resolver.resolve4(domain, callback), resolver)),
      Effect.result(query<ReadonlyArray<string>>((callback) => resolver.resolve6(domain, callback), resolver))
    ],
    { concurrency: 2 }
  )
  return Effect.gen(function* () {
    const mx = yield* Effect.result(
      query<ReadonlyArray<{ exchange: string; priority: number }>>(
        (callback) => resolver.resolveMx(domain, callback),
        resolver
      )
    )
    if (mx._tag === "Success") {
      const hosts = mx.success
        .filter((record) => record.exchange !== "" && record.exchange !== ".")
        .sort((a, b) => a.priority - b.priority || a.exchange.localeCompare(b.exchange))
        .map((record) => record.exchange.toLowerCase().replace(/\.$/, ""))
      if (hosts.length > 0) return deliverable([...new Set(hosts)], false)
      // only null MX records: the domain says itself that it takes no mail (no resolver invents that)
      return mx.success.length > 0 ? undeliverable("null_mx") : yield* negative("no_mail_host")
    }
    if (mx.failure === "ENOTFOUND") return yield* negative("nxdomain")
    if (mx.failure !== "ENODATA") return unknown(failureReason(mx.failure))
    // no MX records: the implicit MX (RFC 5321 §5.1)
    const [a, aaaa] = yield* addresses
    const found = [a, aaaa].some((r) => r._tag === "Success" && r.success.length > 0)
    if (found) return deliverable([domain], true)
    const failed = [a, aaaa].find((r) => r._tag === "Failure" && r.failure !== "ENODATA" && r.failure !== "ENOTFOUND")
    if (failed !== undefined && failed._tag === "Failure") return unknown(failureReason(failed.failure))
    return yield* negative("no_mail_host")
  })
}

const DEFINITE_TTL = Duration.minutes(10)
const UNKNOWN_TTL = Duration.minutes(1)
const CAPACITY = 10_000

/** Lookups through `node:dns` with `options`, cached per domain in this process (see the module comment). */
export const makeMailDomains = (options: DnsOptions): Effect.Effect<MailDomains> =>
  Effect.gen(function* () {
    const tlds = yield* Cache.makeWith((tld: string) => tldExists(tld, options), {
      capacity: 1_000,
      timeToLive: (exit) => (Exit.isSuccess(exit) && exit.value === "exists" ? DEFINITE_TTL : UNKNOWN_TTL)
    })
    const domains = yield* Cache.makeWith((domain: string) => lookup(domain, options, (tld) => Cache.get(tlds, tld)), {
      capacity: CAPACITY,
      timeToLive: (exit) =>
        Exit.isSuccess(exit) && exit.value.deliverability !== "unknown" ? DEFINITE_TTL : UNKNOWN_TTL
    })
    return { check: (domain) => Cache.get(domains, domain) }
  })

/** A server of `ENRICH_DNS_SERVERS`: `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port`. */
const isServer = (text: string): boolean => {
  if (isIP(text) !== 0) return true
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text)
  if (bracketed !== null)
    return isIP(bracketed[1]!) === 6 && (bracketed[2] === undefined || Number(bracketed[2]) <= 65535)
  const withPort = /^([^:]+):(\d{1,5})$/.exec(text)
  return withPort !== null && isIP(withPort[1]!) === 4 && Number(withPort[2]) <= 65535
}

/**
 * `ENRICH_DNS_SERVERS` (comma-separated; unset or empty: the system's
 * resolvers; `none`: no lookups) and `ENRICH_DNS_TIMEOUT_MS` (default 5000):
 * this process's lookups. A malformed server stops the process at start.
 */
export const MailDomainsFromConfig: Effect.Effect<MailDomains, DnsConfigError | Config.ConfigError> = Effect.gen(
  function* () {
    const servers = yield* Config.String("ENRICH_DNS_SERVERS").pipe(Config.withDefault(""))
    const timeoutMs = yield* Config.Int("ENRICH_DNS_TIMEOUT_MS").pipe(Config.withDefault(5_000))
    if (servers.trim().toLowerCase() === "none") return noMailDomainLookups
    const list = servers
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "")
    const bad = list.filter((s) => !isServer(s))
    if (bad.length > 0) {
      return yield* new DnsConfigError({
        message: `ENRICH_DNS_SERVERS: not a DNS server address: ${bad.map((s) => JSON.stringify(s)).join(", ")} (expected ip, ip:port or [ipv6]:port, comma-separated, or none)`
      })
    }
    if (timeoutMs < 1) {
      return yield* new DnsConfigError({ message: `ENRICH_DNS_TIMEOUT_MS: must be at least 1, got ${timeoutMs}` })
    }
    return yield* makeMailDomains({ servers: list, timeoutMs })
  }
)
