/**
 * Lead identity: how two imports of the same person or company become one Lead.
 * Person → normalised email, else normalised LinkedIn URL; company → domain
 * (lower-case, no scheme, no `www.`, no path). The first key that matches an
 * existing Lead wins.
 */
import { isStorable } from "../ClientText.ts"

/** What a Lead's identity is computed from. */
export interface IdentityFacts {
  readonly type: "person" | "company"
  readonly emails: ReadonlyArray<string>
  readonly linkedinUrl?: string | undefined
  readonly domain?: string | undefined
}

export const normaliseEmail = (email: string): string | undefined => {
  const trimmed = email.trim().toLowerCase()
  return /^[^\s@]+@[^\s@]+$/.test(trimmed) ? trimmed : undefined
}

export const normaliseDomain = (input: string): string | undefined => {
  const host = input
    .trim()
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, "")
    .replace(/[/?#].*$/, "")
    .replace(/:\d+$/, "")
    .replace(/\.$/, "")
    .replace(/^www\./, "")
  return /^[^\s.]+(\.[^\s.]+)+$/.test(host) ? host : undefined
}

/**
 * A profile's slug with its percent-escapes decoded, when they decode to storable text; as written
 * otherwise (`jane-100%`, a cut `%E2%82`, or `%00`: a client's URL is data, never a reason to fail).
 */
const decodedSlug = (slug: string): string => {
  try {
    const decoded = decodeURIComponent(slug)
    return isStorable(decoded) ? decoded : slug
  } catch {
    return slug
  }
}

export const normaliseLinkedinUrl = (input: string): string | undefined => {
  const match = /linkedin\.com\/(in|company)\/([^/?#\s]+)/i.exec(input.trim())
  return match === null ? undefined : `linkedin.com/${match[1]!.toLowerCase()}/${decodedSlug(match[2]!).toLowerCase()}`
}

/** Identity keys in priority order; empty when the Lead has no identity (it is then never merged). */
export const identityKeys = (facts: IdentityFacts): ReadonlyArray<string> => {
  const keys: Array<string> = []
  if (facts.type === "person") {
    for (const email of facts.emails) {
      const normalised = normaliseEmail(email)
      if (normalised !== undefined) keys.push(`email:${normalised}`)
    }
    const linkedin = facts.linkedinUrl === undefined ? undefined : normaliseLinkedinUrl(facts.linkedinUrl)
    if (linkedin !== undefined) keys.push(`linkedin:${linkedin}`)
  } else {
    const domain = facts.domain === undefined ? undefined : normaliseDomain(facts.domain)
    if (domain !== undefined) keys.push(`domain:${domain}`)
  }
  return [...new Set(keys)]
}
