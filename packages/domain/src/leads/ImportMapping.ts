/**
 * How a file's columns become Lead fields, for every importer (the CLI's `lead import`, the
 * API's CSV import): one normalisation of header names, one alias table of the exports people
 * have (Apollo, HubSpot, Salesforce, LinkedIn / Sales Navigator, Clay, and generic names), the
 * mapping of a header row with the caller's overrides, a row made a Lead, and the rule that
 * gives each row its Lead type. Pure: no I/O, no parsing of CSV text (the adapters stream it).
 *
 * - **Header names** compare normalised: a BOM, surrounding quotes and spaces go, letters are
 *   lower-cased and stripped of accents, and everything but letters and digits is dropped, so
 *   `First Name`, `first_name`, `FIRST-NAME`, `firstName` and `"First Name"` are one name
 *   (`firstname`).
 * - **A column maps** to, in this order: the field an override gives it (`--map col=field`,
 *   `map=col=field`; `col=-` skips it on purpose), a Lead field path it names (`email`,
 *   `name.full`, `attributes.score`), or the field of its alias. Anything else is unmapped: not
 *   imported, and listed as such.
 * - **One value per field**: a second column that maps to `email` or `phone` adds a contact
 *   (`contacts.email`, `contacts.phone`), to `linkedinUrl` a social (`socials`); a second column
 *   for any other field is unmapped (`duplicate`), the first one keeps the field.
 * - **The Lead type of a row** ({@link inferLeadType}): its own `type` value; else the type the
 *   caller forces (`--type`); else `person` when a person field is set (email, a name, title,
 *   a personal LinkedIn URL — `/in/`); else `company` when a company field is set (company name
 *   or domain, domain, industry, size, a LinkedIn `/company/` URL); else — neither — the List's
 *   type when the List takes one type, and `person` otherwise.
 */

/** The fixed paths a column may map to (besides `attributes.<key>`). */
export const importFields = [
  "type",
  "email",
  "phone",
  "title",
  "linkedinUrl",
  "domain",
  "industry",
  "size",
  "name.full",
  "name.first",
  "name.last",
  "company.name",
  "company.domain",
  "location.city",
  "location.state",
  "location.country",
  "contacts.email",
  "contacts.phone",
  "socials"
] as const

const fixedFields: ReadonlySet<string> = new Set(importFields)

/** An attribute key as the API takes it. */
const attributeField = /^attributes\.[a-z][a-z0-9_]{0,63}$/

/** Whether `field` is a path a column may map to: a fixed path, or `attributes.<key>` (`^[a-z][a-z0-9_]{0,63}$`). */
export const isImportField = (field: string): boolean => fixedFields.has(field) || attributeField.test(field)

/** A header name as it is compared: `First Name`, `first_name`, `FIRST-NAME`, `firstName` → `firstname`. */
export const normalizeHeader = (header: string): string =>
  header
    .replace(/^\uFEFF/, "")
    .trim()
    .replace(/^(["'])(.*)\1$/s, "$2")
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]/gu, "")

/**
 * The alias table: the header names of the common exports, by the field they fill (compared
 * normalised, so one spelling stands for all its variants). docs/CLI.md lists them by source.
 */
export const aliasTable: ReadonlyArray<{ readonly field: string; readonly headers: ReadonlyArray<string> }> = [
  {
    field: "email",
    headers: [
      "Email",
      "E-mail",
      "Email Address",
      "E-mail Address",
      "Work Email",
      "Business Email",
      "Primary Email",
      "Personal Email",
      "Email 1"
    ]
  },
  {
    field: "contacts.email",
    headers: ["Secondary Email", "Tertiary Email", "Other Email", "Additional Email", "Email 2", "Email 3"]
  },
  {
    field: "phone",
    headers: [
      "Phone",
      "Phone Number",
      "Mobile",
      "Mobile Phone",
      "Mobile Phone Number",
      "MobilePhone",
      "Cell",
      "Cell Phone",
      "Work Phone",
      "Direct Phone",
      "Work Direct Phone",
      "Direct Dial",
      "Corporate Phone",
      "Home Phone",
      "Other Phone",
      "Telephone",
      "Tel",
      "Phone 1"
    ]
  },
  { field: "contacts.phone", headers: ["Phone 2", "Phone 3"] },
  { field: "name.full", headers: ["Name", "Full Name", "Contact Name", "Person Name", "Lead Name"] },
  { field: "name.first", headers: ["First Name", "First", "Given Name", "Forename", "Prénom", "Vorname"] },
  { field: "name.last", headers: ["Last Name", "Last", "Surname", "Family Name", "Nachname"] },
  {
    field: "title",
    headers: ["Title", "Job Title", "Position", "Job Position", "Role", "Job Role", "Designation", "Current Title"]
  },
  {
    field: "company.name",
    headers: [
      "Company",
      "Company Name",
      "Company / Account",
      "Account",
      "Account Name",
      "Associated Company",
      "Organization",
      "Organisation",
      "Organization Name",
      "Employer",
      "Current Company",
      "Firma"
    ]
  },
  { field: "company.domain", headers: ["Company Domain", "Company Domain Name", "Website Domain", "Email Domain"] },
  {
    field: "linkedinUrl",
    headers: [
      "LinkedIn",
      "LinkedIn URL",
      "Person Linkedin Url",
      "LinkedIn Profile",
      "LinkedIn Profile URL",
      "linkedInProfileUrl",
      "defaultProfileUrl"
    ]
  },
  {
    field: "socials",
    headers: ["URL", "Profile URL", "Twitter", "Twitter Url", "Facebook", "Facebook Url", "Instagram", "Github"]
  },
  { field: "location.city", headers: ["City", "Town", "Mailing City", "Billing City", "Person City"] },
  {
    field: "location.state",
    headers: [
      "State",
      "State/Region",
      "State/Province",
      "Region",
      "Province",
      "Mailing State",
      "Mailing State/Province",
      "Billing State",
      "Billing State/Province"
    ]
  },
  {
    field: "location.country",
    headers: ["Country", "Country/Region", "Country Code", "Mailing Country", "Billing Country"]
  },
  { field: "industry", headers: ["Industry", "Company Industry"] },
  {
    field: "size",
    headers: [
      "Employees",
      "# Employees",
      "Number of Employees",
      "NumberOfEmployees",
      "No. of Employees",
      "Employee Count",
      "Company Size",
      "Headcount"
    ]
  },
  { field: "type", headers: ["Lead Type"] },
  { field: "attributes.website", headers: ["Website", "Website URL", "Company Website", "Homepage"] },
  {
    field: "attributes.company_linkedin_url",
    headers: ["Company Linkedin Url", "Company LinkedIn", "LinkedIn Company Page", "regularCompanyUrl"]
  },
  { field: "attributes.sales_navigator_url", headers: ["Sales Navigator URL", "Sales Navigator Profile URL"] },
  { field: "attributes.location", headers: ["Location", "Person Location"] },
  { field: "attributes.company_location", headers: ["Company Location", "companyLocation"] },
  { field: "attributes.company_address", headers: ["Company Address"] },
  { field: "attributes.company_city", headers: ["Company City"] },
  { field: "attributes.company_state", headers: ["Company State"] },
  { field: "attributes.company_country", headers: ["Company Country"] },
  { field: "attributes.company_phone", headers: ["Company Phone"] },
  { field: "attributes.address", headers: ["Address", "Street Address", "Mailing Street", "Billing Street"] },
  {
    field: "attributes.postal_code",
    headers: ["Postal Code", "Zip", "Zip Code", "Mailing Zip/Postal Code", "Billing Zip/Postal Code"]
  },
  { field: "attributes.seniority", headers: ["Seniority"] },
  { field: "attributes.departments", headers: ["Departments", "Department"] },
  { field: "attributes.email_status", headers: ["Email Status"] },
  { field: "attributes.keywords", headers: ["Keywords"] },
  { field: "attributes.technologies", headers: ["Technologies"] },
  { field: "attributes.annual_revenue", headers: ["Annual Revenue"] },
  { field: "attributes.total_funding", headers: ["Total Funding"] },
  { field: "attributes.lead_source", headers: ["Lead Source"] },
  { field: "attributes.lead_status", headers: ["Lead Status"] },
  { field: "attributes.lifecycle_stage", headers: ["Lifecycle Stage"] },
  { field: "attributes.record_id", headers: ["Record ID"] },
  { field: "attributes.contact_id", headers: ["Contact ID"] },
  { field: "attributes.lead_id", headers: ["Lead ID"] },
  { field: "attributes.account_id", headers: ["Account ID"] },
  { field: "attributes.apollo_contact_id", headers: ["Apollo Contact Id"] },
  { field: "attributes.apollo_account_id", headers: ["Apollo Account Id"] }
]

const aliases: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>()
  // a field path names itself (`name.full`, `company.domain`), before any alias
  for (const field of importFields) map.set(normalizeHeader(field), field)
  for (const { field, headers } of aliasTable) {
    for (const header of headers) {
      const key = normalizeHeader(header)
      if (!map.has(key)) map.set(key, field)
    }
  }
  return map
})()

/** The field a header maps to by itself (a field path or an alias), if any. */
export const aliasOf = (header: string): string | undefined => {
  const trimmed = header.replace(/^\uFEFF/, "").trim()
  if (attributeField.test(trimmed)) return trimmed
  return aliases.get(normalizeHeader(header))
}

// --- overrides ---------------------------------------------------------------------------------

/** `col=field` given by the caller; `field` `-` skips the column on purpose. */
export interface Override {
  readonly column: string
  readonly field: string | null
}

/** Parses `col=field` (the last `=` splits, so a column name may hold one); an error names what is wrong. */
export const parseOverride = (text: string): Override | { readonly error: string } => {
  const eq = text.lastIndexOf("=")
  const column = eq < 0 ? "" : text.slice(0, eq).trim()
  const field = eq < 0 ? "" : text.slice(eq + 1).trim()
  if (column === "" || field === "") {
    return { error: `${JSON.stringify(text)}: expected column=field, e.g. Mail=email or Notes=attributes.notes` }
  }
  if (field === "-") return { column, field: null }
  if (!isImportField(field)) {
    return {
      error: `${JSON.stringify(text)}: ${JSON.stringify(field)} is not a Lead field; one of ${importFields.join(", ")}, attributes.<key> (a-z, 0-9, _), or - to skip the column`
    }
  }
  return { column, field }
}

// --- the mapping of a header row -----------------------------------------------------------------

/** How one column is read: into a field, or not at all (and why). */
export type ColumnMapping =
  | {
      readonly column: string
      readonly field: string
      /** `map`: an override; `name`: the header names the field; `alias`: the alias table */
      readonly via: "map" | "name" | "alias"
    }
  | {
      readonly column: string
      readonly field: null
      /** `unknown`: no alias; `duplicate`: another column has the field; `skipped`: `col=-`; `empty`: no header name */
      readonly reason: "unknown" | "duplicate" | "skipped" | "empty"
      /** the column that has the field, for a duplicate */
      readonly duplicateOf?: string
    }

export interface HeaderMapping {
  /** one per column of the header, in order */
  readonly columns: ReadonlyArray<ColumnMapping>
  /** the columns that are not imported and were not skipped on purpose (`unknown`, `duplicate`) */
  readonly unmapped: ReadonlyArray<string>
  /** overrides that name no column of the header */
  readonly unusedOverrides: ReadonlyArray<string>
}

/** A second column for these fields adds a contact or a social instead. */
const secondOf: Readonly<Record<string, string>> = {
  email: "contacts.email",
  phone: "contacts.phone",
  linkedinUrl: "socials"
}
/** Fields that take any number of columns. */
const repeatable: ReadonlySet<string> = new Set(["contacts.email", "contacts.phone", "socials"])

/**
 * The mapping of a header row. Overrides match a column by its exact name first, then by its
 * normalised name; they are applied before any alias, so the field an override takes is not
 * given to an aliased column (which then adds a contact, or is a duplicate).
 */
export const mapHeader = (header: ReadonlyArray<string>, overrides: ReadonlyArray<Override> = []): HeaderMapping => {
  const names = header.map((h) =>
    h
      .replace(/^\uFEFF/, "")
      .trim()
      .replace(/^(["'])(.*)\1$/s, "$2")
  )
  const overrideOf = new Map<number, Override>()
  const used = new Set<Override>()
  for (const override of overrides) {
    let index = names.indexOf(override.column)
    if (index < 0 || overrideOf.has(index)) {
      const key = normalizeHeader(override.column)
      index = names.findIndex((n, i) => !overrideOf.has(i) && key !== "" && normalizeHeader(n) === key)
    }
    if (index < 0) continue
    overrideOf.set(index, override)
    used.add(override)
  }
  const owner = new Map<string, string>()
  const columns: Array<ColumnMapping | undefined> = names.map(() => undefined)
  // overrides first: what they take, they have
  overrideOf.forEach((override, index) => {
    const column = names[index]!
    if (override.field === null) {
      columns[index] = { column, field: null, reason: "skipped" }
      return
    }
    columns[index] = { column, field: override.field, via: "map" }
    if (!owner.has(override.field)) owner.set(override.field, column)
  })
  names.forEach((column, index) => {
    if (columns[index] !== undefined) return
    if (normalizeHeader(column) === "") {
      columns[index] = { column, field: null, reason: "empty" }
      return
    }
    const field = aliasOf(column)
    if (field === undefined) {
      columns[index] = { column, field: null, reason: "unknown" }
      return
    }
    const via = normalizeHeader(column) === normalizeHeader(field) || attributeField.test(column) ? "name" : "alias"
    const taken = owner.get(field)
    if (taken === undefined || repeatable.has(field)) {
      owner.set(field, column)
      columns[index] = { column, field, via }
      return
    }
    const second = secondOf[field]
    columns[index] =
      second !== undefined
        ? { column, field: second, via }
        : { column, field: null, reason: "duplicate", duplicateOf: taken }
  })
  const done = columns as ReadonlyArray<ColumnMapping>
  return {
    columns: done,
    unmapped: done.flatMap((c) =>
      c.field === null && (c.reason === "unknown" || c.reason === "duplicate") ? [c.column] : []
    ),
    unusedOverrides: overrides.filter((o) => !used.has(o)).map((o) => o.column)
  }
}

/** The mapping as lines for a terminal: `Email → email`, then what is not imported. */
export const describeMapping = (mapping: HeaderMapping): ReadonlyArray<string> => {
  const width = Math.min(32, Math.max(0, ...mapping.columns.map((c) => c.column.length)))
  const lines = mapping.columns.map((c) => {
    const name = (c.column === "" ? "(no name)" : c.column).padEnd(width)
    if (c.field !== null) return `  ${name} → ${c.field}${c.via === "map" ? " (--map)" : ""}`
    switch (c.reason) {
      case "skipped":
        return `  ${name} → skipped (--map)`
      case "duplicate":
        return `  ${name} → not imported: ${JSON.stringify(c.duplicateOf)} fills the same field`
      case "empty":
        return `  ${name} → not imported: the column has no name`
      default:
        return `  ${name} → not imported: no Lead field of that name`
    }
  })
  const mapped = mapping.columns.filter((c) => c.field !== null).length
  const summary =
    mapping.unmapped.length === 0
      ? `${mapped} of ${mapping.columns.length} columns mapped`
      : `${mapped} of ${mapping.columns.length} columns mapped; not imported: ${mapping.unmapped.join(", ")} (--map "COLUMN=attributes.<key>" keeps one, --map "COLUMN=-" skips it, --strict refuses the file)`
  return [...lines, summary]
}

// --- rows --------------------------------------------------------------------------------------------

const typeWords: Readonly<Record<string, "person" | "company">> = {
  person: "person",
  people: "person",
  contact: "person",
  lead: "person",
  company: "company",
  account: "company",
  organization: "company",
  organisation: "company"
}

/** Appends `value` to the array at `target[key]`. */
const append = (target: Record<string, unknown>, key: string, value: unknown) => {
  const current = target[key]
  if (Array.isArray(current)) current.push(value)
  else target[key] = [value]
}

const isPlain = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Sets `target[path]` (one level of nesting at most); objects met at the leaf are merged. */
const setPath = (target: Record<string, unknown>, path: string, value: unknown) => {
  const dot = path.indexOf(".")
  if (dot < 0) {
    const current = target[path]
    target[path] = isPlain(current) && isPlain(value) ? { ...value, ...current } : value
    return
  }
  const head = path.slice(0, dot)
  const inner = target[head]
  const node = typeof inner === "object" && inner !== null ? (inner as Record<string, unknown>) : {}
  target[head] = node
  node[path.slice(dot + 1)] = value
}

/**
 * The Lead fields of one record, without its type unless the row names one: each mapped
 * column's value, trimmed, empty values left out; `contacts.*` and `socials` append. A record
 * whose fields are all empty is `blank` (importers skip it); one with more fields than the
 * header, or with values only in columns that are not imported, is an error (fewer fields than
 * the header: the missing ones are empty).
 */
export const leadOfRecord = (
  mapping: HeaderMapping,
  record: ReadonlyArray<string>
): { readonly lead: Record<string, unknown> } | { readonly error: string } | { readonly blank: true } => {
  if (record.every((v) => v.trim() === "")) return { blank: true }
  if (record.length > mapping.columns.length && record.slice(mapping.columns.length).some((v) => v.trim() !== "")) {
    return {
      error: `the row has ${record.length} fields, the header ${mapping.columns.length} columns (a field with an unquoted delimiter?)`
    }
  }
  const lead: Record<string, unknown> = {}
  mapping.columns.forEach((c, i) => {
    if (c.field === null) return
    // a leading apostrophe that keeps a spreadsheet from reading `+1 415…` or `=…` as a formula goes
    const value = record[i]?.trim().replace(/^'(?=[-+=@\d])/, "")
    if (value === undefined || value === "") return
    switch (c.field) {
      case "contacts.email":
      case "contacts.phone":
        append(lead, "contacts", { type: c.field === "contacts.email" ? "email" : "phone", value })
        return
      case "socials":
        append(lead, "socials", { url: value })
        return
      case "type":
        lead["type"] = typeWords[value.toLowerCase()] ?? value
        return
      default:
        setPath(lead, c.field, value)
    }
  })
  if (Object.keys(lead).length === 0) {
    const withData = mapping.columns.filter((_, i) => (record[i] ?? "").trim() !== "").map((c) => c.column)
    return { error: `no mapped column has a value (values only in: ${withData.join(", ")})` }
  }
  return { lead }
}

/** The top-level keys of a LeadInput: a JSONL key of these names is taken as it is. */
const leadInputKeys: ReadonlySet<string> = new Set([
  "type",
  "name",
  "title",
  "email",
  "phone",
  "linkedinUrl",
  "domain",
  "company",
  "location",
  "industry",
  "size",
  "contacts",
  "socials",
  "attributes"
])

/**
 * The Lead of a JSON object (a JSONL line): an override (by exact, then normalised key) moves a
 * key's value to its field (`-` drops it), a LeadInput key stays as it is, a key with an alias
 * fills the alias's field; any other key stays, for the API to name.
 */
export const leadOfObject = (
  object: Readonly<Record<string, unknown>>,
  overrides: ReadonlyArray<Override> = []
): Record<string, unknown> => {
  const lead: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(object)) {
    const override =
      overrides.find((o) => o.column === key) ??
      overrides.find((o) => normalizeHeader(o.column) !== "" && normalizeHeader(o.column) === normalizeHeader(key))
    if (override !== undefined && override.field === null) continue
    const target = override?.field ?? (leadInputKeys.has(key) ? key : (aliasOf(key) ?? key))
    if (target === "contacts.email" || target === "contacts.phone") {
      append(lead, "contacts", { type: target === "contacts.email" ? "email" : "phone", value })
    } else if (target === "socials" && typeof value === "string") {
      append(lead, "socials", { url: value })
    } else if (target === "type" && typeof value === "string") {
      lead["type"] = typeWords[value.trim().toLowerCase()] ?? value
    } else {
      setPath(lead, target, value)
    }
  }
  return lead
}

// --- the Lead type of a row ----------------------------------------------------------------------

export type ImportLeadType = "person" | "company"

/** What decides the type of rows that do not name it. */
export interface TypeRule {
  /** `--type` / `type=`: the type of every row without a type value */
  readonly forced?: ImportLeadType | undefined
  /** the type of the List the rows go to (`mixed`, `all` or no List: undefined) */
  readonly listType?: ImportLeadType | undefined
}

const present = (value: unknown) => typeof value === "string" && value.trim() !== ""
const personalLinkedin = (url: unknown) => typeof url === "string" && /linkedin\.com\/(in|pub)\//i.test(url)
const companyLinkedin = (url: unknown) => typeof url === "string" && /linkedin\.com\/(company|school)\//i.test(url)

const field = (lead: Record<string, unknown>, group: string, key: string): unknown => {
  const inner = lead[group]
  return typeof inner === "object" && inner !== null ? (inner as Record<string, unknown>)[key] : undefined
}

const listOf = (value: unknown): ReadonlyArray<Record<string, unknown>> =>
  Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => typeof v === "object" && v !== null) : []

/** Whether a person field is set: an email (or email contact), a name, a title, a personal LinkedIn URL. */
export const hasPersonField = (lead: Record<string, unknown>): boolean =>
  present(lead["email"]) ||
  present(field(lead, "name", "full")) ||
  present(field(lead, "name", "first")) ||
  present(field(lead, "name", "last")) ||
  present(lead["title"]) ||
  (present(lead["linkedinUrl"]) && !companyLinkedin(lead["linkedinUrl"])) ||
  listOf(lead["contacts"]).some(
    (c) => c["type"] === "email" || (c["type"] === undefined && /@/.test(String(c["value"])))
  ) ||
  listOf(lead["socials"]).some((s) => personalLinkedin(s["url"]))

/** Whether a company field is set: a company name or domain, a domain, industry, size, a LinkedIn company URL. */
export const hasCompanyField = (lead: Record<string, unknown>): boolean =>
  present(field(lead, "company", "name")) ||
  present(field(lead, "company", "domain")) ||
  present(lead["domain"]) ||
  present(lead["industry"]) ||
  present(lead["size"]) ||
  companyLinkedin(lead["linkedinUrl"]) ||
  listOf(lead["socials"]).some((s) => companyLinkedin(s["url"]))

/** The type of a row's Lead: its own, the forced one, person fields, company fields, else the List's (person without one). */
export const inferLeadType = (lead: Record<string, unknown>, rule: TypeRule = {}): string => {
  const own = lead["type"]
  if (own !== undefined) return String(own)
  if (rule.forced !== undefined) return rule.forced
  if (hasPersonField(lead)) return "person"
  if (hasCompanyField(lead)) return "company"
  return rule.listType ?? "person"
}

/** `lead` with its type set by {@link inferLeadType}, `type` first (as the API shows it). */
export const typed = (lead: Record<string, unknown>, rule: TypeRule = {}): Record<string, unknown> => {
  const { type: _, ...rest } = lead
  return { type: inferLeadType(lead, rule), ...rest }
}

/**
 * The one sentence for rows of the other type than the List's: which type the List takes, how
 * many rows are of the other type, and what to do. `forceHint` is how the caller forces a type
 * (`--type person`, `type=person`).
 */
export const typeMismatchSentence = (facts: {
  readonly listId: string
  readonly listType: ImportLeadType
  readonly otherRows: number
  readonly rows: number
  readonly firstRows: ReadonlyArray<number>
  readonly forceHint: (type: ImportLeadType) => string
}): string => {
  const other = facts.listType === "person" ? "company" : "person"
  const plural =
    facts.otherRows === 1
      ? other === "person"
        ? "a person"
        : "a company"
      : `${other === "person" ? "people" : "companies"}`
  const shown = facts.firstRows.slice(0, 5).join(", ")
  const more = facts.otherRows > Math.min(5, facts.firstRows.length) ? ", …" : ""
  return (
    `List ${facts.listId} takes ${facts.listType} Leads, but ${facts.otherRows} of the ${facts.rows} rows ` +
    `${facts.otherRows === 1 ? "is" : "are"} ${plural} (row${facts.otherRows === 1 ? "" : "s"} ${shown}${more}): ` +
    `import the file into a ${other} List or the List all, or pass ${facts.forceHint(facts.listType)} to import every row as a ${facts.listType}; nothing was imported.`
  )
}

// --- delimiters ------------------------------------------------------------------------------------------

/** The delimiters a CSV may use. */
export const delimiters = [",", ";", "\t"] as const
export type Delimiter = (typeof delimiters)[number]

/** `,`, `;`, `tab` (or a tab) as a delimiter; undefined for anything else. */
export const parseDelimiter = (text: string): Delimiter | undefined =>
  text === "," || text === "comma"
    ? ","
    : text === ";" || text === "semicolon"
      ? ";"
      : text === "\t" || text === "tab"
        ? "\t"
        : undefined

/**
 * The delimiter of a CSV from its header line: the one of `,`, `;` and tab that occurs most
 * often outside quotes (a tie, or none: `,`).
 */
export const detectDelimiter = (headerLine: string): Delimiter => {
  const counts = { ",": 0, ";": 0, "\t": 0 }
  let quoted = false
  for (const ch of headerLine.replace(/^\uFEFF/, "")) {
    if (ch === '"') quoted = !quoted
    else if (ch === "\n" && !quoted) break
    else if (!quoted && (ch === "," || ch === ";" || ch === "\t")) counts[ch]++
  }
  let best: Delimiter = ","
  for (const d of delimiters) if (counts[d] > counts[best]) best = d
  return best
}
