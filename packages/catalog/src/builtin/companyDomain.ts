/**
 * Offline company-domain normalisation for lead enrichment.
 *
 * `normaliseCompanyDomain` is pure: it picks the first usable of the lead's
 * `domain`, `website` and `email` facts (in that order) and reduces it to the
 * registrable domain (eTLD+1) according to the Public Suffix List bundled with
 * `tldts`, e.g. `https://WWW.Shop.Example.CO.UK:8080/about?x=1#top` →
 * `example.co.uk`. No DNS lookup is done, so `found` means "a registrable
 * domain that a company can hold was given", not "the domain exists".
 *
 * Decisions:
 * - The result is always lower-case ASCII: internationalised domains are returned
 *   in their punycode form (`münchen.de` → `xn--mnchen-3ya.de`), via the WHATWG
 *   URL parser's UTS #46 processing. One consistent form makes the value safe to
 *   compare, join and use as a key; the same form is `validateEmail`'s `domain`.
 * - Private PSL suffixes count as suffixes (`allowPrivateDomains`): a site on
 *   `foo.github.io` or `acme.myshopify.com` keeps that host as its domain rather
 *   than collapsing to `github.io` / `myshopify.com`.
 * - Rejected (reason in brackets): IP addresses (`ip_address`), `localhost` and
 *   `*.localhost` (`localhost`), reserved and special-use names, which no
 *   company's website can use (`example.com`, `www.example.org`, `foo.test`,
 *   `acme.local`, `x.home.arpa`, `*.onion`: `reserved`, table in
 *   specialUseDomains.ts), hosts that are themselves a public suffix such as
 *   `co.uk` or `github.io` (`public_suffix`), hosts whose top-level domain is not
 *   on the Public Suffix List such as `intranet` or `acme.corp`
 *   (`unknown_suffix`), unparseable input (`invalid`); for e-mails also
 *   syntactically invalid addresses (`invalid_email`), free-mail providers
 *   (`free_mail`, list shared with `emailValidation.ts`) and disposable domains
 *   (`disposable`).
 * - `input` is the trimmed fact the result was derived from. When nothing is
 *   usable, `reason` and `input` describe the first fact (in priority order) that
 *   was present but rejected, or `reason` is `"missing"` when all are empty.
 * - An e-mail address typed into the `domain` or `website` fact (`@`, no scheme,
 *   no `/`) is handled like the `email` fact, free-mail exclusion included.
 */
import { isIP } from "node:net"
import { Schema } from "effect"
import { parse as parseDomain } from "tldts"
import { asciiDomainProblem, isDisposableDomain, isFreeMailDomain, parseEmail } from "./emailValidation.ts"
import { specialUseDomainOf } from "./specialUseDomains.ts"

export const CompanyDomainOutput = Schema.Struct({
  /** Registrable domain, lower-case ASCII (punycode for IDNs); null when not found. */
  domain: Schema.NullOr(Schema.String),
  /** Which fact the domain came from; null when not found. */
  source: Schema.NullOr(Schema.Literals(["domain", "website", "email"])),
  /** The trimmed fact used (or, when not found, the first rejected one). */
  input: Schema.NullOr(Schema.String),
  /** Why no domain was found; null when found. */
  reason: Schema.NullOr(Schema.String),
  found: Schema.Boolean
})
export type CompanyDomainOutput = typeof CompanyDomainOutput.Type

export interface CompanyDomainFacts {
  readonly domain?: string | null | undefined
  readonly website?: string | null | undefined
  readonly email?: string | null | undefined
}

type Source = "domain" | "website" | "email"
type Attempt = { readonly ok: true; readonly domain: string } | { readonly ok: false; readonly reason: string }

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i
/** Host-name labels as they may appear in URLs (underscores occur in sub-domains). */
const HOST_LABEL = /^[a-z0-9_-]{1,63}$/

/** Registrable domain of a bare domain or URL (with or without scheme). */
const fromHostOrUrl = (text: string): Attempt => {
  if (/\s/.test(text)) return { ok: false, reason: "invalid" }
  const withScheme = SCHEME.test(text) ? text : text.startsWith("//") ? `http:${text}` : `http://${text}`
  let hostname: string
  try {
    // WHATWG URL parsing lower-cases, converts IDNs to punycode and canonicalises IPv4.
    hostname = new URL(withScheme).hostname
  } catch {
    return { ok: false, reason: "invalid" }
  }
  if (hostname.startsWith("[")) return { ok: false, reason: "ip_address" }
  const host = hostname.replace(/\.+$/, "")
  if (host === "") return { ok: false, reason: "invalid" }
  if (isIP(host) !== 0) return { ok: false, reason: "ip_address" }
  if (host === "localhost" || host.endsWith(".localhost")) return { ok: false, reason: "localhost" }
  if (!host.split(".").every((label) => HOST_LABEL.test(label))) return { ok: false, reason: "invalid" }
  if (specialUseDomainOf(host) !== null) return { ok: false, reason: "reserved" }

  const parsed = parseDomain(host, { allowPrivateDomains: true, extractHostname: false })
  if (parsed.isIp === true) return { ok: false, reason: "ip_address" }
  if (parsed.isIcann !== true && parsed.isPrivate !== true) return { ok: false, reason: "unknown_suffix" }
  const domain = parsed.domain
  if (domain === null) return { ok: false, reason: "public_suffix" }
  // The registrable part itself must be a strict host name (no `_`, valid punycode).
  if (asciiDomainProblem(domain) !== null) return { ok: false, reason: "invalid" }
  return { ok: true, domain }
}

const fromEmail = (text: string): Attempt => {
  const checked = parseEmail(text)
  if (!checked.syntaxValid || checked.domain === null) return { ok: false, reason: "invalid_email" }
  if (isFreeMailDomain(checked.domain)) return { ok: false, reason: "free_mail" }
  if (isDisposableDomain(checked.domain)) return { ok: false, reason: "disposable" }
  return fromHostOrUrl(checked.domain)
}

const SOURCES: ReadonlyArray<Source> = ["domain", "website", "email"]

/**
 * Derives the lead's company domain from `domain`, then `website`, then `email`
 * (first usable wins). `found` is `domain !== null`.
 */
export const normaliseCompanyDomain = (facts: CompanyDomainFacts): CompanyDomainOutput => {
  let firstRejection: { readonly input: string; readonly reason: string } | null = null
  for (const source of SOURCES) {
    const value = facts[source]
    if (value === null || value === undefined) continue
    const input = value.trim()
    if (input === "") continue
    // An address typed into the domain/website field is treated as an e-mail.
    const looksLikeEmail = source === "email" || (input.includes("@") && !SCHEME.test(input) && !input.includes("/"))
    const attempt = looksLikeEmail ? fromEmail(input) : fromHostOrUrl(input)
    if (attempt.ok) return { domain: attempt.domain, source, input, reason: null, found: true }
    firstRejection ??= { input, reason: attempt.reason }
  }
  return {
    domain: null,
    source: null,
    input: firstRejection?.input ?? null,
    reason: firstRejection?.reason ?? "missing",
    found: false
  }
}
