/**
 * A hand edit of a Lead (`PATCH /api/leads`): fields given replace the stored
 * ones (`null` clears), `attributes` merge by key (`null` deletes a key), and
 * `type` is not writable. The shorthands act on their long forms: `email` /
 * `phone` on the first contact of that kind, `linkedinUrl` on `socials`,
 * `company.domain` on a company's `domain` — as `fromInput` reads them.
 */
import type { LeadFields } from "./Lead.ts"

export interface LeadPatch {
  readonly name?: LeadFields["name"] | null | undefined
  readonly title?: string | null | undefined
  readonly email?: string | null | undefined
  readonly phone?: string | null | undefined
  readonly linkedinUrl?: string | null | undefined
  readonly domain?: string | null | undefined
  readonly company?: LeadFields["company"] | null | undefined
  readonly location?: LeadFields["location"] | null | undefined
  readonly industry?: string | null | undefined
  readonly size?: string | null | undefined
  readonly contacts?: LeadFields["contacts"] | undefined
  readonly socials?: LeadFields["socials"] | undefined
  /** Merged by key; a `null` value deletes the key. */
  readonly attributes?: { readonly [key: string]: unknown } | undefined
}

type Contact = LeadFields["contacts"][number]

const isEmail = (c: Contact) => c.type === "email" || (c.type === undefined && c.value.includes("@"))
const isPhone = (c: Contact) => c.type === "phone"

/** `value` becomes the first contact of its kind (replacing it, or first/last when there is none); `null` removes the kind. */
const setPrimary = (
  contacts: ReadonlyArray<Contact>,
  kind: "email" | "phone",
  value: string | null
): ReadonlyArray<Contact> => {
  const isKind = kind === "email" ? isEmail : isPhone
  if (value === null) return contacts.filter((c) => !isKind(c))
  const at = contacts.findIndex(isKind)
  if (at < 0) return kind === "email" ? [{ type: kind, value }, ...contacts] : [...contacts, { type: kind, value }]
  const same = (c: Contact) => isKind(c) && c.value.toLowerCase() === value.toLowerCase()
  return contacts.flatMap((c, i) => (i === at ? [{ type: kind, value }] : same(c) ? [] : [c]))
}

const LINKEDIN = /linkedin\.com\//i

const mergeAttributes = (
  existing: LeadFields["attributes"],
  patch: { readonly [key: string]: unknown }
): LeadFields["attributes"] => {
  const out: Record<string, unknown> = { ...existing }
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key]
    else out[key] = value
  }
  return out
}

export const applyPatch = (existing: LeadFields, patch: LeadPatch): LeadFields => {
  let contacts = patch.contacts ?? existing.contacts
  if (patch.email !== undefined) contacts = setPrimary(contacts, "email", patch.email)
  if (patch.phone !== undefined) contacts = setPrimary(contacts, "phone", patch.phone)

  let socials = patch.socials ?? existing.socials
  let linkedinUrl = existing.linkedinUrl
  if (patch.linkedinUrl !== undefined) {
    const old = existing.linkedinUrl?.toLowerCase()
    socials = socials.filter((s) => s.url.toLowerCase() !== old)
    if (patch.linkedinUrl !== null && !socials.some((s) => s.url.toLowerCase() === patch.linkedinUrl!.toLowerCase())) {
      socials = [{ url: patch.linkedinUrl }, ...socials]
    }
    linkedinUrl = patch.linkedinUrl
  } else if (patch.socials !== undefined) {
    linkedinUrl = patch.socials.find((s) => LINKEDIN.test(s.url))?.url ?? null
  }

  const company = patch.company === undefined ? existing.company : (patch.company ?? {})
  const domain =
    patch.domain !== undefined
      ? patch.domain
      : existing.type === "company" && patch.company?.domain !== undefined
        ? patch.company.domain
        : existing.domain

  return {
    type: existing.type,
    name: patch.name === undefined ? existing.name : (patch.name ?? {}),
    title: patch.title === undefined ? existing.title : patch.title,
    company,
    location: patch.location === undefined ? existing.location : (patch.location ?? {}),
    domain,
    linkedinUrl,
    industry: patch.industry === undefined ? existing.industry : patch.industry,
    size: patch.size === undefined ? existing.size : patch.size,
    contacts,
    socials,
    attributes:
      patch.attributes === undefined ? existing.attributes : mergeAttributes(existing.attributes, patch.attributes)
  }
}
