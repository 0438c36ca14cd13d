/**
 * The enrichment catalog: each entry is a contract (what it reads, writes and
 * costs) plus the executor that computes its result from the Lead fields it
 * reads. Built-in enrichments work offline with real logic.
 */
import { Context, Layer, Schema } from "effect"
import { type EnrichmentContract, isDiscoverable, matchesQuery } from "@enrich/domain/catalog/Enrichment"
import { emailsOf, type LeadFields } from "@enrich/domain/leads/Lead"
import { CompanyDomainOutput, normaliseCompanyDomain } from "./builtin/companyDomain.ts"
import { EmailValidationOutput, validateEmail } from "./builtin/emailValidation.ts"

/** What an executor returns for one Lead. */
export interface EnrichmentOutcome {
  /** the value written to the target attribute */
  readonly result: unknown
  /** the provider's raw answer */
  readonly raw: unknown
  readonly found: boolean
  readonly provider: string
  readonly providerSubmissionId: string | null
}

export interface CatalogEntry {
  readonly contract: EnrichmentContract
  /** the Lead fields the enrichment reads, recorded as the item's leadSnapshot */
  readonly snapshot: (lead: LeadFields) => Record<string, unknown>
  readonly execute: (snapshot: Record<string, unknown>, input: unknown) => EnrichmentOutcome
}

const jsonSchema = (schema: Schema.Top) => {
  const document = Schema.toJsonSchemaDocument(schema)
  return Object.keys(document.definitions).length === 0
    ? document.schema
    : { ...document.schema, $defs: document.definitions }
}

const NoInput = Schema.Struct({})

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
    inputSchema: jsonSchema(NoInput),
    outputSchema: jsonSchema(output)
  }
}

const str = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null)

export const builtinEntries: ReadonlyArray<CatalogEntry> = [
  {
    contract: contract({
      slug: "email_validation",
      name: "Email validation",
      description:
        "Checks a person's email offline: syntax, normalisation, free-mail, disposable and role-account flags, and a deliverability verdict (valid | risky | invalid).",
      subject: "person",
      version: 1,
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
    execute: (snapshot) => {
      const output = validateEmail(str(snapshot["email"]))
      return { result: output, raw: output, found: output.found, provider: "builtin", providerSubmissionId: null }
    }
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
  }
]

export class Catalog extends Context.Service<
  Catalog,
  {
    /** discoverable contracts, optionally filtered by `q` */
    readonly list: (q: string | undefined) => ReadonlyArray<EnrichmentContract>
    /** a discoverable entry by slug (hidden, internal and disabled ones are not found) */
    readonly find: (slug: string) => CatalogEntry | undefined
  }
>()("@enrich/adapters/providers/Catalog") {
  static readonly make = (entries: ReadonlyArray<CatalogEntry>) =>
    Catalog.of({
      list: (q) =>
        entries.map((e) => e.contract).filter((c) => isDiscoverable(c) && (q === undefined || matchesQuery(c, q))),
      find: (slug) => entries.find((e) => e.contract.slug === slug && isDiscoverable(e.contract))
    })

  static readonly layer = Layer.succeed(Catalog, Catalog.make(builtinEntries))
}
