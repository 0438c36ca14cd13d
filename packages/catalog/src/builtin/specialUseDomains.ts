/**
 * Domain names that are reserved or special-use, so no one can receive mail or
 * run a company's website under them: the IETF's reservations (RFC 2606, the
 * IANA "Special-Use Domain Names" registry created by RFC 6761) and ICANN's
 * private-use TLD. A name matches when it is the listed name or under it
 * (`corp.example`, `printer.home.arpa`, `www.example.com`).
 *
 * The table is the internet's rule, not this service's: the built-ins use it
 * (`email_validation` answers `invalid` without any DNS lookup, `company_domain`
 * finds no domain), the domain package does not need it. Left out on purpose:
 * reverse-mapping zones (`in-addr.arpa`, `ip6.arpa`), which no address or
 * website uses, and names that are merely undelegated (`.corp`, `.home`,
 * `.lan`): DNS already answers that those do not exist.
 */

export interface SpecialUseDomain {
  /** the reserved name (lower-case ASCII) */
  readonly name: string
  /** why, with the rule that says so */
  readonly rule: string
}

const TABLE: ReadonlyArray<SpecialUseDomain> = [
  { name: "example", rule: "reserved for documentation (RFC 2606 §2, RFC 6761 §6.5)" },
  { name: "example.com", rule: "reserved for documentation (RFC 2606 §3, RFC 6761 §6.5)" },
  { name: "example.net", rule: "reserved for documentation (RFC 2606 §3, RFC 6761 §6.5)" },
  { name: "example.org", rule: "reserved for documentation (RFC 2606 §3, RFC 6761 §6.5)" },
  { name: "test", rule: "reserved for testing (RFC 2606 §2, RFC 6761 §6.2)" },
  { name: "invalid", rule: "reserved as an always-invalid name (RFC 2606 §2, RFC 6761 §6.4)" },
  { name: "localhost", rule: "the local host, never a mail domain (RFC 2606 §2, RFC 6761 §6.3)" },
  { name: "local", rule: "link-local multicast DNS names (RFC 6762)" },
  { name: "onion", rule: "Tor onion services, not reachable through DNS (RFC 7686)" },
  { name: "alt", rule: "reserved for non-DNS name systems (RFC 9476)" },
  { name: "internal", rule: "reserved by ICANN for private use, never delegated (ICANN Board, July 2024)" },
  { name: "home.arpa", rule: "home networks only (RFC 8375)" },
  { name: "ipv4only.arpa", rule: "IPv6 address-synthesis discovery only (RFC 8880)" },
  { name: "resolver.arpa", rule: "resolver discovery only (RFC 9462)" },
  { name: "service.arpa", rule: "home-network service discovery only (RFC 9665)" },
  { name: "6tisch.arpa", rule: "6TiSCH networks only (RFC 9031)" }
]

const BY_NAME: ReadonlyMap<string, SpecialUseDomain> = new Map(TABLE.map((entry) => [entry.name, entry]))

/** Every reserved and special-use name, for the documentation and tests. */
export const specialUseDomains: ReadonlyArray<SpecialUseDomain> = TABLE

/**
 * The reservation `domain` (lower-case ASCII, no trailing dot) falls under, or
 * null when it is an ordinary name.
 */
export const specialUseDomainOf = (domain: string): SpecialUseDomain | null => {
  const labels = domain.split(".")
  for (let i = 0; i < labels.length; i++) {
    const found = BY_NAME.get(labels.slice(i).join("."))
    if (found !== undefined) return found
  }
  return null
}

/** `example.org: reserved for documentation (RFC 2606 §3, RFC 6761 §6.5)`: a reason that names the rule. */
export const specialUseReason = (entry: SpecialUseDomain): string => `${entry.name}: ${entry.rule}`
