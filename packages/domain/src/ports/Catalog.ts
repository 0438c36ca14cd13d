/**
 * The enrichment catalog port (the EnrichmentProvider side of the domain):
 * each entry is a contract — what it reads, writes and costs — plus the
 * executor that computes a Lead's result from the fields it reads.
 */
import { Context, Result, Schema } from "effect"
import type { Effect } from "effect"
import { type EnrichmentContract, isDiscoverable, matchesQuery } from "../catalog/Enrichment.ts"
import type { LeadFields } from "../leads/Lead.ts"
import { type PathIssue, pathIssues } from "../SchemaIssues.ts"

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

/**
 * A provider's failure for one Lead. `retryable` ones (a 429, a 5xx, a timeout)
 * are tried again with backoff; the others fail the item at once.
 * `retryAfterMs`: the provider asked to wait at least this long before the next
 * try (a 429's `Retry-After`); the executor's backoff never waits less.
 */
export class ProviderError extends Schema.TaggedError<ProviderError>()("ProviderError", {
  message: Schema.String,
  retryable: Schema.Boolean,
  details: Schema.optionalKey(Schema.Unknown),
  retryAfterMs: Schema.optionalKey(Schema.Number)
}) {}

/**
 * Who a provider call is for. An entry that coalesces calls (a vendor's bulk request) groups them by workspace:
 * one tenant's Leads never share a request — nor its failure, nor an error that echoes it — with another's.
 */
export interface ProviderCall {
  readonly workspaceId: string
}

export interface CatalogEntry {
  readonly contract: EnrichmentContract
  /** the Lead fields the enrichment reads, recorded as the item's leadSnapshot */
  readonly snapshot: (lead: LeadFields) => Record<string, unknown>
  /** computes one Lead's outcome: at once (offline enrichments) or as an effect (a provider call) */
  readonly execute: (
    snapshot: Record<string, unknown>,
    input: unknown,
    call?: ProviderCall
  ) => EnrichmentOutcome | Effect.Effect<EnrichmentOutcome, ProviderError>
  /**
   * The run input the entry accepts (decoded at dispatch, defaults applied; the
   * decoded value is what `execute` receives). The contract's `inputSchema` is
   * generated from it. Absent: the entry takes no input (any key is refused).
   */
  readonly input?: Schema.Decoder<unknown> | undefined
  /** a hint: how many `execute` calls of one batch to run at once (e.g. to fill a vendor's bulk request) */
  readonly concurrency?: number | undefined
  /** the entry's own retry policy for retryable errors, instead of the executor's defaults */
  readonly retry?: { readonly maxAttempts: number; readonly backoffMs: number } | undefined
}

/** Why a run input is refused: keys given to an entry that takes none, or issues of its input Schema. */
export type EntryInputRefusal =
  | { readonly _tag: "NoInputTaken"; readonly keys: ReadonlyArray<string> }
  | { readonly _tag: "Invalid"; readonly issues: ReadonlyArray<PathIssue> }

/**
 * An input as `entry` accepts it (its `input` Schema: unknown keys refused,
 * defaults applied; issue paths under `prefix`), or why not. An entry without
 * an input Schema takes none: any key is refused.
 */
export const decodeEntryInput = (
  entry: CatalogEntry,
  input: unknown,
  prefix: string
): Result.Result<unknown, EntryInputRefusal> => {
  if (entry.input === undefined) {
    const keys = typeof input === "object" && input !== null ? Object.keys(input) : []
    return keys.length === 0 ? Result.succeed({}) : Result.fail({ _tag: "NoInputTaken", keys })
  }
  const decoded = Schema.decodeUnknownResult(entry.input, { onExcessProperty: "error", errors: "all" })(input)
  return Result.isSuccess(decoded)
    ? Result.succeed(decoded.success)
    : Result.fail({ _tag: "Invalid", issues: pathIssues(decoded.failure.issue, prefix) })
}

export class Catalog extends Context.Service<
  Catalog,
  {
    /** discoverable contracts, optionally filtered by `q` */
    readonly list: (q: string | undefined) => ReadonlyArray<EnrichmentContract>
    /** a discoverable entry by slug (hidden, internal and disabled ones are not found) */
    readonly find: (slug: string) => CatalogEntry | undefined
  }
>()("@enrich/domain/ports/Catalog") {}

/** A catalog over a fixed set of entries, with the discovery rules of the contract. */
export const makeCatalog = (entries: ReadonlyArray<CatalogEntry>): Catalog["Service"] => ({
  list: (q) =>
    entries.map((e) => e.contract).filter((c) => isDiscoverable(c) && (q === undefined || matchesQuery(c, q))),
  find: (slug) => entries.find((e) => e.contract.slug === slug && isDiscoverable(e.contract))
})
