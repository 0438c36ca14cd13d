/**
 * The built-in enrichments: contracts and executors with real logic (see
 * builtin/). All work offline but `email_validation`'s deliverability stage,
 * which asks DNS through the `MailDomains` it is made with.
 */
import { Effect, Layer, Schema } from "effect"
import type { EnrichmentContract } from "@enrich/domain/catalog/Enrichment"
import { Catalog, type CatalogEntry, makeCatalog } from "@enrich/domain/ports/Catalog"
import { emailsOf } from "@enrich/domain/leads/Lead"
import { CompanyDomainOutput, normaliseCompanyDomain } from "./builtin/companyDomain.ts"
import { EmailValidationOutput, validateEmail } from "./builtin/emailValidation.ts"
import { type MailDomains, noMailDomainLookups } from "./builtin/mailDomain.ts"
import { classifyJobTitle, JobTitleClassificationOutput } from "./builtin/jobTitleClassification.ts"
import { NameParsingOutput, parseName } from "./builtin/nameParsing.ts"
import { normalisePhone, PhoneNormalizationOutput, phoneOf } from "./builtin/phoneNormalization.ts"

const jsonSchema = (schema: Schema.Top) => {
  const document = Schema.toJsonSchemaDocument(schema)
  return Object.keys(document.definitions).length === 0
    ? document.schema
    : { ...document.schema, $defs: document.definitions }
}

/** The input schema of an enrichment that takes no input: dispatch refuses any key (decision 6). */
export const noInputSchema = { type: "object", properties: {}, additionalProperties: false } as const

const contract = (
  c: Omit<EnrichmentContract, "id" | "defaultOutputAttributeKey" | "inputSchema" | "outputSchema"> & {
    readonly output: Schema.Top
  }
): EnrichmentContract => {
  const { output, ...rest } = c
  return {
    ...rest,
    id: c.slug,
    defaultOutputAttributeKey: c.defaultOutput.attributeKey,
    inputSchema: noInputSchema,
    outputSchema: jsonSchema(output)
  }
}

const str = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null)

/**
 * The built-in entries, `email_validation` asking `mail` whether a domain takes
 * mail (the process's catalog uses the DNS of `ENRICH_DNS_SERVERS`: CatalogConfig.ts).
 */
export const makeBuiltinEntries = (mail: MailDomains): ReadonlyArray<CatalogEntry> => [
  {
    contract: contract({
      slug: "email_validation",
      name: "Email validation",
      description:
        "Checks a person's email: syntax, normalisation, free-mail, disposable and role-account flags and reserved domains offline, then the domain's deliverability from DNS (does it receive mail: MX records); verdict valid | risky | invalid | unknown.",
      subject: "person",
      // 2: deliverability from DNS, the verdict `unknown`, `found` = the domain takes mail (decision 49)
      version: 2,
      enabled: true,
      visibility: "public",
      reads: ["email"],
      output: EmailValidationOutput,
      defaultOutput: { target: "lead_attribute", attributeKey: "email_validation" },
      outputOverridePolicy: { targets: ["lead_attribute", "membership_attribute"], attributeKey: true },
      costModel: { creditAction: "EMAIL_VALIDATION", unitCost: 1, chargeOn: "completed" },
      toolBinding: { type: "builtin", taskId: "builtin.email_validation" }
    }),
    snapshot: (lead) => ({ email: emailsOf(lead)[0] ?? null }),
    execute: (snapshot) =>
      Effect.map(validateEmail(str(snapshot["email"]), mail), (output) => ({
        result: output,
        raw: output,
        found: output.found,
        provider: "builtin",
        providerSubmissionId: null
      }))
  },
  {
    contract: contract({
      slug: "company_domain",
      name: "Company domain",
      description:
        "Finds a company's registrable domain (eTLD+1) from its domain, website or a work email, offline; free-mail domains are excluded.",
      subject: "company",
      version: 1,
      enabled: true,
      visibility: "public",
      reads: ["domain", "company.domain", "attributes.website", "email"],
      output: CompanyDomainOutput,
      defaultOutput: { target: "lead_attribute", attributeKey: "company_domain" },
      outputOverridePolicy: { targets: ["lead_attribute", "membership_attribute"], attributeKey: true },
      costModel: { creditAction: "WEBSITE_ENRICHMENT", unitCost: 1, chargeOn: "found" },
      toolBinding: { type: "builtin", taskId: "builtin.company_domain" }
    }),
    snapshot: (lead) => ({
      domain: lead.domain ?? lead.company.domain ?? null,
      website: str(lead.attributes["website"]),
      email: emailsOf(lead)[0] ?? null
    }),
    execute: (snapshot) => {
      const output = normaliseCompanyDomain({
        domain: str(snapshot["domain"]),
        website: str(snapshot["website"]),
        email: str(snapshot["email"])
      })
      return { result: output, raw: output, found: output.found, provider: "builtin", providerSubmissionId: null }
    }
  },
  {
    contract: contract({
      slug: "phone_normalization",
      name: "Phone normalisation",
      description:
        "Normalises a person's phone number offline with libphonenumber: E.164, national and international formats, country, line type (mobile, fixed_line, voip, toll_free, …) and a validity flag; numbers without + are read in the Lead's location.country.",
      subject: "person",
      version: 1,
      enabled: true,
      visibility: "public",
      reads: ["phone", "location.country"],
      output: PhoneNormalizationOutput,
      defaultOutput: { target: "lead_attribute", attributeKey: "phone_normalization" },
      outputOverridePolicy: { targets: ["lead_attribute", "membership_attribute"], attributeKey: true },
      costModel: { creditAction: "PHONE_NORMALIZATION", unitCost: 1, chargeOn: "found" },
      toolBinding: { type: "builtin", taskId: "builtin.phone_normalization" }
    }),
    snapshot: (lead) => ({ phone: phoneOf(lead.contacts), country: str(lead.location.country) }),
    execute: (snapshot) => {
      const output = normalisePhone(str(snapshot["phone"]), str(snapshot["country"]))
      return { result: output, raw: output, found: output.found, provider: "builtin", providerSubmissionId: null }
    }
  },
  {
    contract: contract({
      slug: "name_parsing",
      name: "Name parsing",
      description:
        'Splits a person\'s full name offline into honorific, first, middle and last name, suffix and nickname: particles (van, de la, bin, al-) stay with the last name, "Last, First" order and family-first CJK names are understood.',
      subject: "person",
      version: 1,
      enabled: true,
      visibility: "public",
      reads: ["name.full", "name.first", "name.last"],
      output: NameParsingOutput,
      defaultOutput: { target: "lead_attribute", attributeKey: "name_parsing" },
      outputOverridePolicy: { targets: ["lead_attribute", "membership_attribute"], attributeKey: true },
      costModel: { creditAction: "NAME_PARSING", unitCost: 1, chargeOn: "completed" },
      toolBinding: { type: "builtin", taskId: "builtin.name_parsing" }
    }),
    snapshot: (lead) => ({
      full: str(lead.name.full),
      first: str(lead.name.first),
      last: str(lead.name.last)
    }),
    execute: (snapshot) => {
      const output = parseName({
        full: str(snapshot["full"]),
        first: str(snapshot["first"]),
        last: str(snapshot["last"])
      })
      return { result: output, raw: output, found: output.found, provider: "builtin", providerSubmissionId: null }
    }
  },
  {
    contract: contract({
      slug: "job_title_classification",
      name: "Job title classification",
      description:
        "Classifies a person's job title offline: seniority (c_level, vp, director, manager, senior_ic, ic, intern) and departments (engineering, sales, marketing, finance, hr, …, with a primary one), in English and common European and East Asian titles.",
      subject: "person",
      version: 1,
      enabled: true,
      visibility: "public",
      reads: ["title"],
      output: JobTitleClassificationOutput,
      defaultOutput: { target: "lead_attribute", attributeKey: "job_title_classification" },
      outputOverridePolicy: { targets: ["lead_attribute", "membership_attribute"], attributeKey: true },
      costModel: { creditAction: "JOB_TITLE_CLASSIFICATION", unitCost: 1, chargeOn: "completed" },
      toolBinding: { type: "builtin", taskId: "builtin.job_title_classification" }
    }),
    snapshot: (lead) => ({ title: str(lead.title) }),
    execute: (snapshot) => {
      const output = classifyJobTitle(str(snapshot["title"]))
      return { result: output, raw: output, found: output.found, provider: "builtin", providerSubmissionId: null }
    }
  }
]

/**
 * The built-in entries without DNS (as with `ENRICH_DNS_SERVERS=none`):
 * `email_validation`'s deliverability is always `unknown` (`dns_disabled`).
 * Their contracts are those of every `makeBuiltinEntries`.
 */
export const builtinEntries: ReadonlyArray<CatalogEntry> = makeBuiltinEntries(noMailDomainLookups)

/** The built-in catalog, without DNS (see `builtinEntries`). */
export const BuiltinCatalogLive = Layer.succeed(Catalog, makeCatalog(builtinEntries))
