/**
 * Lead field paths: the names a configured enrichment uses in its `reads` to
 * say which Lead fields it sends to a provider (`email`, `name.full`,
 * `company.domain`, `attributes.website`, …), and how each is read from a
 * stored Lead. A missing or empty value reads as `null`.
 */
import { emailsOf, type LeadFields } from "./Lead.ts"

/** The fixed paths and how each is read; `attributes.<key>` is handled apart. */
const readers: { readonly [path: string]: (lead: LeadFields) => unknown } = {
  type: (lead) => lead.type,
  email: (lead) => emailsOf(lead)[0],
  emails: (lead) => emailsOf(lead),
  phone: (lead) =>
    lead.contacts.find(
      (c) => c.type === "phone" || (c.type === undefined && !c.value.includes("@") && /\d/.test(c.value))
    )?.value,
  linkedinUrl: (lead) => lead.linkedinUrl,
  domain: (lead) => lead.domain,
  title: (lead) => lead.title,
  industry: (lead) => lead.industry,
  size: (lead) => lead.size,
  "name.full": (lead) => lead.name.full,
  "name.first": (lead) => lead.name.first,
  "name.last": (lead) => lead.name.last,
  "company.name": (lead) => lead.company.name,
  "company.domain": (lead) => lead.company.domain,
  "location.city": (lead) => lead.location.city,
  "location.state": (lead) => lead.location.state,
  "location.country": (lead) => lead.location.country,
  socials: (lead) => lead.socials.map((s) => s.url)
}

/** Every fixed path, for error messages and docs. */
export const leadPaths: ReadonlyArray<string> = [...Object.keys(readers), "attributes.<key>"]

const attributePath = /^attributes\.(.{1,128})$/

/** Whether `path` names a Lead field. */
export const isLeadPath = (path: string): boolean => path in readers || attributePath.test(path)

const empty = (value: unknown) =>
  value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0)

/** The value at `path`, `null` when it is missing or empty. */
export const readLeadPath = (lead: LeadFields, path: string): unknown => {
  const reader = readers[path]
  const attribute = attributePath.exec(path)
  const value = reader !== undefined ? reader(lead) : attribute !== null ? lead.attributes[attribute[1]!] : undefined
  return empty(value) ? null : value
}

/** The snapshot of a Lead for an enrichment that reads `paths`: path → value (or null). */
export const leadSnapshot = (lead: LeadFields, paths: ReadonlyArray<string>): Record<string, unknown> =>
  Object.fromEntries(paths.map((path) => [path, readLeadPath(lead, path)]))
