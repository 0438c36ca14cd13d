/**
 * E-mail validation for lead enrichment, in two stages that the result keeps
 * apart:
 *
 * 1. **Syntax** (`parseEmail`, pure, offline): normalisation, a practical
 *    RFC 5321 syntax check, the free-mail / disposable / role-account / plus
 *    flags, and the reserved and special-use domains (`example.org`,
 *    `*.example`, `.test`, `.invalid`, `.localhost`, `.local`, `.onion`,
 *    `home.arpa`, … — specialUseDomains.ts), which can receive no mail.
 * 2. **Deliverability** (`validateEmail`): whether the domain receives mail,
 *    from its MX records (or the RFC 5321 A/AAAA fallback) — mailDomain.ts.
 *    No SMTP probe is made, so `deliverable` means "the domain takes mail",
 *    not "this mailbox exists".
 *
 * The verdict (`emailResult`), first rule that applies:
 * - `invalid`: no address (`missing`), bad syntax (`syntax: …`), a reserved
 *   domain (`reserved: example.org: reserved for documentation (RFC 2606 §3, …)`),
 *   or a domain that receives no mail (`nxdomain`, `null_mx`, `no_mail_host`);
 * - `risky`: a disposable domain (`disposable`) or a role account
 *   (`role_account`) — both known offline, so also when deliverability is unknown;
 * - `unknown`: DNS did not say (`dns_timeout`, `dns_unreachable`,
 *   `dns_unreliable`, `dns_disabled`, `dns_error: …`): offline, the answer is
 *   `unknown`, never `valid`;
 * - `valid`: well-formed, not disposable or shared, and the domain takes mail.
 * `reason` says why the verdict is not `valid` (null when it is);
 * `deliverabilityReason` why deliverability is not `deliverable` (the same
 * `missing` / `syntax: …` / `reserved: …` for an address with no lookup).
 * `found` is `deliverability === "deliverable"`: a well-formed address at a
 * domain that takes mail (verdict `valid` or `risky`).
 *
 * Normalisation decisions:
 * - Leading/trailing whitespace, a `mailto:` prefix and one pair of surrounding
 *   angle brackets (`<a@b.com>`) are removed; the text is Unicode NFC-normalised.
 * - The whole address is lower-cased. RFC 5321 says the local part *may* be case
 *   sensitive, but no mainstream provider treats it that way, and lead data needs
 *   `John@x.com` and `john@x.com` to be the same address. The `+tag` is kept
 *   (`plusAddressed` flags it); dots are never removed (that is Gmail-specific).
 * - A single trailing dot on the domain (the DNS root, `a@example.com.`) is removed.
 * - Internationalised domains (IDN): the domain is converted with
 *   `node:url`'s `domainToASCII` (UTS #46) and every check runs on that ASCII
 *   (punycode) form. The output `domain` is that ASCII form
 *   (`xn--bcher-kva.de`) — machine-friendly and the same form `companyDomain.ts`
 *   returns — while `email` carries the readable Unicode form of the domain
 *   (`jörg@bücher.de`). That Unicode form is canonical: an address given in
 *   punycode (`jörg@xn--bcher-kva.de`) normalises to the same `email`.
 * - Non-ASCII letters/digits are accepted in the local part (RFC 6531, SMTPUTF8),
 *   so `jörg@bücher.de` is syntactically valid. Lengths are counted in UTF-8 octets.
 *
 * Syntax is a practical RFC 5321 subset: the local part is a dot-atom (no quoted
 * strings, no comments) of at most 64 octets without leading, trailing or double
 * dots; the domain is a host name (no address literals such as `[1.2.3.4]`) whose
 * labels are 1..63 letters/digits/hyphens not starting or ending with a hyphen,
 * with at least one dot and a top-level domain that is not all-numeric; the whole
 * address is at most 254 octets.
 */
import { createRequire } from "node:module"
import { domainToASCII, domainToUnicode } from "node:url"
import { Effect, Schema } from "effect"
import { parse as parseDomain } from "tldts"
import type { MailDomainAnswer, MailDomains } from "./mailDomain.ts"
import { specialUseDomainOf, specialUseReason } from "./specialUseDomains.ts"

export const EmailValidationOutput = Schema.Struct({
  /** Normalised address (see module comment); null when no input was given. */
  email: Schema.NullOr(Schema.String),
  /** The syntax stage: the address is well-formed. */
  syntaxValid: Schema.Boolean,
  /** The deliverability stage: whether the domain receives mail (see module comment). */
  deliverability: Schema.Literals(["deliverable", "undeliverable", "unknown"]),
  /** Why deliverability is not `deliverable`; null when it is. */
  deliverabilityReason: Schema.NullOr(Schema.String),
  /** Where the domain's mail goes, best first (MX exchanges, or the domain itself for an implicit MX). */
  mailHosts: Schema.Array(Schema.String),
  /** No MX records: the domain takes mail at its own A/AAAA address (RFC 5321 §5.1). */
  implicitMx: Schema.Boolean,
  verdict: Schema.Literals(["valid", "risky", "invalid", "unknown"]),
  freeMail: Schema.Boolean,
  disposable: Schema.Boolean,
  roleAccount: Schema.Boolean,
  plusAddressed: Schema.Boolean,
  /** ASCII (punycode) domain; null when the address is not syntactically valid. */
  domain: Schema.NullOr(Schema.String),
  /** Why the verdict is not `valid`; null when it is. */
  reason: Schema.NullOr(Schema.String),
  /** The domain takes mail (`deliverability` is `deliverable`). */
  found: Schema.Boolean
})
export type EmailValidationOutput = typeof EmailValidationOutput.Type

// ---------------------------------------------------------------------------
// Free-mail providers
// ---------------------------------------------------------------------------

/**
 * Consumer / free mailbox providers, as ASCII domains. Brands that operate the
 * same service under many country domains are covered by `FREE_MAIL_BRANDS`.
 */
const FREE_MAIL_DOMAINS: ReadonlySet<string> = new Set([
  // Google
  "gmail.com",
  "googlemail.com",
  // Yahoo (country domains via FREE_MAIL_BRANDS)
  "ymail.com",
  "rocketmail.com",
  // Microsoft
  "msn.com",
  "passport.com",
  "windowslive.com",
  "live.com",
  "live.co.uk",
  "live.com.au",
  "live.com.mx",
  "live.com.ar",
  "live.com.pt",
  "live.ca",
  "live.cl",
  "live.de",
  "live.fr",
  "live.it",
  "live.nl",
  "live.be",
  "live.at",
  "live.ch",
  "live.dk",
  "live.se",
  "live.no",
  "live.ie",
  "live.jp",
  "live.cn",
  "live.ru",
  "live.in",
  // Apple
  "icloud.com",
  "me.com",
  "mac.com",
  // AOL / Verizon
  "aim.com",
  "verizon.net",
  // Proton
  "proton.me",
  "protonmail.com",
  "protonmail.ch",
  "pm.me",
  // Tuta (Tutanota)
  "tuta.com",
  "tuta.io",
  "tutanota.com",
  "tutanota.de",
  "tutamail.com",
  "keemail.me",
  // Zoho Mail (free accounts were historically @zoho.com)
  "zoho.com",
  "zohomail.com",
  "zohomail.eu",
  "zohomail.in",
  // Fastmail, HEY, DuckDuckGo, other privacy / independent providers
  "fastmail.com",
  "fastmail.fm",
  "hey.com",
  "duck.com",
  "posteo.de",
  "posteo.net",
  "mailbox.org",
  "hushmail.com",
  "runbox.com",
  "mailfence.com",
  "disroot.org",
  "riseup.net",
  // mail.com / 1&1 / United Internet
  "mail.com",
  "email.com",
  "usa.com",
  "post.com",
  "web.de",
  // Germany / Austria / Switzerland
  "t-online.de",
  "freenet.de",
  "arcor.de",
  "online.de",
  "bluewin.ch",
  "gmx.ch",
  "a1.net",
  // France / Belgium
  "orange.fr",
  "wanadoo.fr",
  "free.fr",
  "sfr.fr",
  "neuf.fr",
  "laposte.net",
  "skynet.be",
  "telenet.be",
  // Italy / Spain / Portugal / Netherlands / Nordics
  "libero.it",
  "virgilio.it",
  "tiscali.it",
  "alice.it",
  "tim.it",
  "sapo.pt",
  "terra.es",
  "ziggo.nl",
  "kpnmail.nl",
  "home.nl",
  "planet.nl",
  "telia.com",
  // Eastern Europe / Russia
  "mail.ru",
  "bk.ru",
  "list.ru",
  "inbox.ru",
  "internet.ru",
  "ya.ru",
  "rambler.ru",
  "ukr.net",
  "seznam.cz",
  "centrum.cz",
  "wp.pl",
  "o2.pl",
  "onet.pl",
  "interia.pl",
  "abv.bg",
  // UK / Ireland
  "btinternet.com",
  "sky.com",
  "virginmedia.com",
  "ntlworld.com",
  "talktalk.net",
  "eircom.net",
  // North America
  "comcast.net",
  "att.net",
  "sbcglobal.net",
  "bellsouth.net",
  "cox.net",
  "charter.net",
  "earthlink.net",
  "optonline.net",
  "juno.com",
  "netzero.net",
  "shaw.ca",
  "rogers.com",
  "sympatico.ca",
  "videotron.ca",
  // Oceania
  "bigpond.com",
  "bigpond.net.au",
  "optusnet.com.au",
  "xtra.co.nz",
  // Latin America
  "uol.com.br",
  "bol.com.br",
  "terra.com.br",
  "ig.com.br",
  // Asia
  "qq.com",
  "foxmail.com",
  "163.com",
  "126.com",
  "yeah.net",
  "sina.com",
  "sina.cn",
  "sohu.com",
  "139.com",
  "189.cn",
  "aliyun.com",
  "naver.com",
  "hanmail.net",
  "daum.net",
  "nate.com",
  "rediffmail.com",
  // Other global webmail
  "inbox.com",
  "lycos.com",
  "excite.com",
  "gmx.com",
  "gmx.net",
  "yandex.com"
])

/**
 * Brands that run the same free-mail service under (nearly) every country
 * domain: `yahoo.co.uk`, `hotmail.fr`, `outlook.com.br`, `gmx.at`, `yandex.kz`,
 * `aol.de`. Only matched when the public suffix is `com`/`net` or a country code
 * (optionally with a `com.`/`co.`/`net.`/`org.` second level), so that e.g.
 * `outlook.consulting` is not flagged.
 */
const FREE_MAIL_BRANDS: ReadonlySet<string> = new Set(["yahoo", "hotmail", "outlook", "gmx", "yandex", "aol"])
const BRAND_SUFFIX = /^(?:com|net|(?:(?:com|co|net|org)\.)?[a-z]{2})$/

/**
 * Whether `domain` (ASCII or Unicode, any case, optional trailing dot) belongs to
 * a consumer free-mail provider. Subdomains of a listed domain match too.
 */
export const isFreeMailDomain = (domain: string): boolean => {
  const ascii = toAsciiDomain(domain)
  if (ascii === null) return false
  if (matchesSelfOrParent(ascii, FREE_MAIL_DOMAINS)) return true
  const parsed = parseDomain(ascii, { extractHostname: false, allowPrivateDomains: false })
  return (
    parsed.domainWithoutSuffix !== null &&
    parsed.publicSuffix !== null &&
    parsed.isIcann === true &&
    FREE_MAIL_BRANDS.has(parsed.domainWithoutSuffix) &&
    BRAND_SUFFIX.test(parsed.publicSuffix)
  )
}

// ---------------------------------------------------------------------------
// Disposable domains (npm `disposable-email-domains`)
// ---------------------------------------------------------------------------

const requireJson = createRequire(import.meta.url)
/**
 * The package's main export (`index.json`) is a plain array of exact domains;
 * `wildcard.json` lists domains whose every subdomain is disposable too (e.g.
 * `33mail.com`). Both are loaded once. Because a disposable service's subdomains
 * are just as disposable (`x.mailinator.com`), parent domains of the address's
 * domain are checked against both lists.
 */
const DISPOSABLE_DOMAINS: ReadonlySet<string> = new Set<string>([
  ...(requireJson("disposable-email-domains") as ReadonlyArray<string>),
  ...(requireJson("disposable-email-domains/wildcard.json") as ReadonlyArray<string>)
])

/**
 * Whether `domain` (ASCII or Unicode, any case) is a known disposable / throw-away
 * mail domain, or a subdomain of one. Curated free-mail providers are never
 * reported as disposable.
 */
export const isDisposableDomain = (domain: string): boolean => {
  const ascii = toAsciiDomain(domain)
  if (ascii === null) return false
  return matchesSelfOrParent(ascii, DISPOSABLE_DOMAINS) && !isFreeMailDomain(ascii)
}

// ---------------------------------------------------------------------------
// Role accounts
// ---------------------------------------------------------------------------

/** Shared / functional mailboxes, compared without `.`, `-` and `_`. */
const ROLE_LOCAL_PARTS: ReadonlySet<string> = new Set([
  "abuse",
  "accounting",
  "accounts",
  "admin",
  "administrator",
  "billing",
  "booking",
  "bookings",
  "careers",
  "compliance",
  "contact",
  "contactus",
  "customercare",
  "customerservice",
  "customersupport",
  "donotreply",
  "enquiries",
  "enquiry",
  "feedback",
  "finance",
  "hello",
  "help",
  "helpdesk",
  "hi",
  "hostmaster",
  "hr",
  "info",
  "information",
  "inquiries",
  "inquiry",
  "invoice",
  "invoices",
  "it",
  "jobs",
  "legal",
  "mail",
  "mailerdaemon",
  "marketing",
  "media",
  "newsletter",
  "noreply",
  "notifications",
  "office",
  "orders",
  "partners",
  "postmaster",
  "pr",
  "press",
  "privacy",
  "recruiting",
  "recruitment",
  "reception",
  "root",
  "sales",
  "security",
  "service",
  "support",
  "team",
  "webmaster",
  "welcome",
  // common non-English equivalents (DE / FR / ES / IT / NL)
  "anfrage",
  "bewerbung",
  "buchhaltung",
  "buero",
  "büro",
  "kontakt",
  "presse",
  "rechnung",
  "vertrieb",
  "bonjour",
  "contacto",
  "ventas",
  "informazioni",
  "contatti",
  "ufficio"
])

/** Whether the local part (the part before any `+tag`) names a shared/role mailbox. */
export const isRoleLocalPart = (localPart: string): boolean => {
  const lower = localPart.normalize("NFC").toLowerCase()
  const plus = lower.indexOf("+")
  const base = plus > 0 ? lower.slice(0, plus) : lower
  return ROLE_LOCAL_PARTS.has(base) || ROLE_LOCAL_PARTS.has(base.replace(/[._-]/g, ""))
}

// ---------------------------------------------------------------------------
// Syntax
// ---------------------------------------------------------------------------

const MAX_LOCAL_OCTETS = 64
const MAX_ADDRESS_OCTETS = 254
const MAX_DOMAIN_OCTETS = 253
/** RFC 5322 `atext` plus (RFC 6531) non-ASCII letters, marks and digits. */
const LOCAL_ATOM = /^[a-z0-9!#$%&'*+/=?^_`{|}~\p{L}\p{M}\p{N}-]+$/u
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

const utf8Length = (s: string): number => Buffer.byteLength(s, "utf8")

const matchesSelfOrParent = (asciiDomain: string, set: ReadonlySet<string>): boolean => {
  const labels = asciiDomain.split(".")
  // Stop before the bare top-level domain.
  for (let i = 0; i < labels.length - 1; i++) {
    if (set.has(labels.slice(i).join("."))) return true
  }
  return false
}

/** Lower-cased ASCII (punycode) form of a domain, trailing dot removed; null if unconvertible. */
const toAsciiDomain = (domain: string): string | null => {
  const trimmed = domain.trim().toLowerCase().replace(/\.$/, "")
  if (trimmed === "") return null
  const ascii = domainToASCII(trimmed)
  return ascii === "" ? null : ascii
}

/**
 * Returns the problem with a lower-case ASCII (punycode) domain, or null when it
 * is a valid public host name: at most 253 characters, at least two labels of
 * 1..63 letters/digits/hyphens not starting or ending with a hyphen, `xn--`
 * labels must be valid punycode, the top-level domain must not be all-numeric.
 */
export const asciiDomainProblem = (ascii: string): string | null => {
  if (utf8Length(ascii) > MAX_DOMAIN_OCTETS) return `domain longer than ${MAX_DOMAIN_OCTETS} characters`
  const labels = ascii.split(".")
  if (labels.length < 2) return "domain has no dot"
  for (const label of labels) {
    if (label === "") return "domain has an empty label"
    if (label.length > 63) return "domain label longer than 63 characters"
    if (!DNS_LABEL.test(label)) return `invalid domain label "${label}"`
    // node:url leaves undecodable punycode untouched instead of failing.
    if (label.startsWith("xn--") && domainToUnicode(label) === label) return `invalid punycode label "${label}"`
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return "numeric top-level domain"
  return null
}

const localSyntaxProblem = (local: string): string | null => {
  if (local === "") return "empty local part"
  if (utf8Length(local) > MAX_LOCAL_OCTETS) return `local part longer than ${MAX_LOCAL_OCTETS} characters`
  if (local.startsWith(".") || local.endsWith(".")) return "local part starts or ends with a dot"
  if (local.includes("..")) return "local part contains consecutive dots"
  for (const atom of local.split(".")) {
    if (!LOCAL_ATOM.test(atom)) return "local part contains invalid characters"
  }
  return null
}

// ---------------------------------------------------------------------------
// parseEmail (the syntax stage), emailResult and validateEmail
// ---------------------------------------------------------------------------

/** The syntax stage of an address: what is known without any lookup. */
export interface ParsedEmail {
  /** normalised address; null when no input was given */
  readonly email: string | null
  readonly syntaxValid: boolean
  /** ASCII (punycode) domain; null when the syntax is not valid */
  readonly domain: string | null
  readonly freeMail: boolean
  readonly disposable: boolean
  readonly roleAccount: boolean
  readonly plusAddressed: boolean
  /**
   * Why no mail can reach the address whatever DNS says: `missing`,
   * `syntax: …`, `reserved: …` (a reserved or special-use domain); null when
   * only DNS can tell.
   */
  readonly problem: string | null
}

const malformed = (email: string | null, problem: string): ParsedEmail => ({
  email,
  syntaxValid: false,
  domain: null,
  freeMail: false,
  disposable: false,
  roleAccount: false,
  plusAddressed: false,
  problem
})

/** Removes whitespace, a `mailto:` prefix and surrounding `<...>`; NFC + lower case. */
const clean = (raw: string): string => {
  let s = raw.trim()
  if (/^mailto:/i.test(s)) s = s.slice("mailto:".length).trim()
  if (s.startsWith("<") && s.endsWith(">")) s = s.slice(1, -1).trim()
  return s.normalize("NFC").toLowerCase()
}

/**
 * The syntax stage, offline: normalises the address, checks its syntax, flags
 * it, and names the reservation its domain falls under (see the module comment).
 */
export const parseEmail = (raw: string | null | undefined): ParsedEmail => {
  if (raw === null || raw === undefined) return malformed(null, "missing")
  const cleaned = clean(raw)
  if (cleaned === "") return malformed(null, "missing")

  const at = cleaned.indexOf("@")
  if (at === -1) return malformed(cleaned, "syntax: missing @")
  if (cleaned.indexOf("@", at + 1) !== -1) return malformed(cleaned, "syntax: more than one @")

  const local = cleaned.slice(0, at)
  const localProblem = localSyntaxProblem(local)
  if (localProblem !== null) return malformed(cleaned, `syntax: ${localProblem}`)

  const rawDomain = cleaned.slice(at + 1).replace(/\.$/, "")
  if (rawDomain === "") return malformed(cleaned, "syntax: empty domain")
  if (/\s/.test(rawDomain)) return malformed(cleaned, "syntax: domain contains whitespace")
  if (rawDomain.startsWith("[")) return malformed(cleaned, "syntax: address literals are not supported")
  if (/(?:^|\.)[0-9]+$/.test(rawDomain)) return malformed(cleaned, "syntax: numeric top-level domain")
  const domain = domainToASCII(rawDomain)
  if (domain === "") return malformed(cleaned, "syntax: invalid domain")
  const domainProblem = asciiDomainProblem(domain)
  if (domainProblem !== null) return malformed(cleaned, `syntax: ${domainProblem}`)
  if (utf8Length(local) + 1 + domain.length > MAX_ADDRESS_OCTETS) {
    return malformed(cleaned, `syntax: address longer than ${MAX_ADDRESS_OCTETS} characters`)
  }

  const reserved = specialUseDomainOf(domain)
  return {
    email: `${local}@${domainToUnicode(domain)}`,
    syntaxValid: true,
    domain,
    freeMail: isFreeMailDomain(domain),
    disposable: isDisposableDomain(domain),
    roleAccount: isRoleLocalPart(local),
    plusAddressed: local.indexOf("+") > 0,
    problem: reserved === null ? null : `reserved: ${specialUseReason(reserved)}`
  }
}

/**
 * The result of an address from its syntax stage and, when it has no
 * `problem`, what DNS said about its domain (the verdicts: see the module
 * comment). An address with a problem is `undeliverable` for that reason.
 */
export const emailResult = (parsed: ParsedEmail, answer: MailDomainAnswer | null): EmailValidationOutput => {
  const mail: MailDomainAnswer =
    parsed.problem !== null || answer === null
      ? { deliverability: "undeliverable", reason: parsed.problem ?? "missing", mailHosts: [], implicitMx: false }
      : answer
  const why = mail.reason ?? "unknown"
  const risk = parsed.disposable ? "disposable" : parsed.roleAccount ? "role_account" : null
  const verdict =
    mail.deliverability === "undeliverable"
      ? "invalid"
      : risk !== null
        ? "risky"
        : mail.deliverability === "unknown"
          ? "unknown"
          : "valid"
  return {
    email: parsed.email,
    syntaxValid: parsed.syntaxValid,
    deliverability: mail.deliverability,
    deliverabilityReason: mail.deliverability === "deliverable" ? null : why,
    mailHosts: [...mail.mailHosts],
    implicitMx: mail.implicitMx,
    verdict,
    freeMail: parsed.freeMail,
    disposable: parsed.disposable,
    roleAccount: parsed.roleAccount,
    plusAddressed: parsed.plusAddressed,
    domain: parsed.domain,
    reason: verdict === "valid" ? null : verdict === "risky" ? risk : why,
    found: mail.deliverability === "deliverable"
  }
}

/**
 * Validates an address: the syntax stage, then — only for a well-formed
 * address at an ordinary domain — `mail`'s answer about its domain.
 */
export const validateEmail = (
  raw: string | null | undefined,
  mail: MailDomains
): Effect.Effect<EmailValidationOutput> => {
  const parsed = parseEmail(raw)
  if (parsed.problem !== null || parsed.domain === null) return Effect.succeed(emailResult(parsed, null))
  return Effect.map(mail.check(parsed.domain), (answer) => emailResult(parsed, answer))
}
