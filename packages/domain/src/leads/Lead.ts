/**
 * Leads as clients write them (`LeadInput`, with shorthands) and as they are
 * stored (`LeadFields`), and the merge rule of identity de-duplication: a match
 * fills the Lead's empty fields and adds new attribute keys; it never overwrites.
 */
import { Schema } from "effect"
import { JsonObject, TextUpTo } from "../ClientText.ts"
import { identityKeys } from "./Identity.ts"

const Text = TextUpTo(2048)
const Opt = <S extends Schema.Top>(s: S) => Schema.optionalKey(s)

export const LeadType = Schema.Literals(["person", "company"])
export type LeadType = typeof LeadType.Type

export const Contact = Schema.Struct({ type: Opt(Schema.Literals(["email", "phone"])), value: Text })
export const Social = Schema.Struct({ url: Text })
export const Attributes = JsonObject

export const LeadInput = Schema.Struct({
  type: LeadType,
  name: Opt(Schema.Struct({ full: Opt(Text), first: Opt(Text), last: Opt(Text) })),
  title: Opt(Text),
  email: Opt(Text),
  phone: Opt(Text),
  linkedinUrl: Opt(Text),
  domain: Opt(Text),
  company: Opt(Schema.Struct({ name: Opt(Text), domain: Opt(Text) })),
  location: Opt(Schema.Struct({ city: Opt(Text), state: Opt(Text), country: Opt(Text) })),
  industry: Opt(Text),
  size: Opt(Text),
  contacts: Opt(Schema.Array(Contact).check(Schema.isMaxLength(100))),
  socials: Opt(Schema.Array(Social).check(Schema.isMaxLength(100))),
  attributes: Opt(Attributes)
})
export type LeadInput = typeof LeadInput.Type

export interface LeadFields {
  readonly type: LeadType
  readonly name: { readonly full?: string; readonly first?: string; readonly last?: string }
  readonly title: string | null
  readonly company: { readonly name?: string; readonly domain?: string }
  readonly location: { readonly city?: string; readonly state?: string; readonly country?: string }
  readonly domain: string | null
  readonly linkedinUrl: string | null
  readonly industry: string | null
  readonly size: string | null
  readonly contacts: ReadonlyArray<{ readonly type?: "email" | "phone"; readonly value: string }>
  readonly socials: ReadonlyArray<{ readonly url: string }>
  readonly attributes: { readonly [key: string]: unknown }
}

/** Shorthands (`email`, `phone`, `linkedinUrl`, `domain`) become their long forms. */
export const fromInput = (input: LeadInput): LeadFields => {
  const contacts = [...(input.contacts ?? [])]
  if (input.email !== undefined && !contacts.some((c) => c.value === input.email)) {
    contacts.unshift({ type: "email", value: input.email })
  }
  if (input.phone !== undefined && !contacts.some((c) => c.value === input.phone)) {
    // the Lead's phone is its first phone contact (as `email` is its first email)
    const firstPhone = contacts.findIndex((c) => c.type === "phone")
    contacts.splice(firstPhone < 0 ? contacts.length : firstPhone, 0, { type: "phone", value: input.phone })
  }
  const socials = [...(input.socials ?? [])]
  if (input.linkedinUrl !== undefined && !socials.some((s) => s.url === input.linkedinUrl)) {
    socials.unshift({ url: input.linkedinUrl })
  }
  const linkedinUrl = input.linkedinUrl ?? socials.find((s) => /linkedin\.com\//i.test(s.url))?.url ?? null
  const domain = input.domain ?? (input.type === "company" ? input.company?.domain : undefined) ?? null
  return {
    type: input.type,
    name: input.name ?? {},
    title: input.title ?? null,
    company: input.company ?? {},
    location: input.location ?? {},
    domain,
    linkedinUrl,
    industry: input.industry ?? null,
    size: input.size ?? null,
    contacts,
    socials,
    attributes: input.attributes ?? {}
  }
}

export const emailsOf = (lead: Pick<LeadFields, "contacts">): ReadonlyArray<string> =>
  lead.contacts.filter((c) => c.type === "email" || (c.type === undefined && c.value.includes("@"))).map((c) => c.value)

export const identityKeysOf = (lead: LeadFields): ReadonlyArray<string> =>
  identityKeys({
    type: lead.type,
    emails: emailsOf(lead),
    linkedinUrl: lead.linkedinUrl ?? undefined,
    domain: lead.domain ?? undefined
  })

const fillObject = <T extends object>(existing: T, incoming: T): T => {
  const out: Record<string, unknown> = { ...(existing as Record<string, unknown>) }
  for (const [key, value] of Object.entries(incoming)) {
    if (out[key] === undefined || out[key] === null || out[key] === "") out[key] = value
  }
  return out as T
}

const union = <T>(existing: ReadonlyArray<T>, incoming: ReadonlyArray<T>, key: (t: T) => string) => {
  const seen = new Set(existing.map(key))
  return [...existing, ...incoming.filter((t) => !seen.has(key(t)))]
}

/** The identity-match merge: fill empty fields, add new contacts, socials and attribute keys; never overwrite. */
export const mergeInto = (existing: LeadFields, incoming: LeadFields): LeadFields => ({
  type: existing.type,
  name: fillObject(existing.name, incoming.name),
  title: existing.title ?? incoming.title,
  company: fillObject(existing.company, incoming.company),
  location: fillObject(existing.location, incoming.location),
  domain: existing.domain ?? incoming.domain,
  linkedinUrl: existing.linkedinUrl ?? incoming.linkedinUrl,
  industry: existing.industry ?? incoming.industry,
  size: existing.size ?? incoming.size,
  contacts: union(existing.contacts, incoming.contacts, (c) => c.value.toLowerCase()),
  socials: union(existing.socials, incoming.socials, (s) => s.url.toLowerCase()),
  attributes: fillObject(existing.attributes, incoming.attributes)
})

export interface IdentityGroup {
  readonly fields: LeadFields
  readonly keys: ReadonlySet<string>
}

/**
 * Rows of one import that share an identity key become one Lead: their fields
 * merged in input order. `groupOfRow[i]` is the group of input row i.
 */
export const groupByIdentity = (
  rows: ReadonlyArray<LeadFields>
): {
  readonly groups: ReadonlyArray<IdentityGroup>
  readonly groupOfRow: ReadonlyArray<number>
} => {
  const groupOfKey = new Map<string, number>()
  const groups: Array<{ fields: LeadFields; keys: Set<string> }> = []
  const groupOfRow = rows.map((fields) => {
    const keys = identityKeysOf(fields)
    const hit = keys.map((k) => groupOfKey.get(k)).find((g) => g !== undefined)
    const g = hit ?? groups.push({ fields, keys: new Set() }) - 1
    const group = groups[g]!
    if (hit !== undefined) group.fields = mergeInto(group.fields, fields)
    for (const k of keys) {
      group.keys.add(k)
      if (!groupOfKey.has(k)) groupOfKey.set(k, g)
    }
    return g
  })
  return { groups, groupOfRow }
}
