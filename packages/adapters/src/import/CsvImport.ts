/**
 * The CSV import of the API (`POST /api/lists/import` with `Content-Type: text/csv`): the body
 * is read as a stream by the CSV reader, its header mapped and its rows typed by the domain's
 * ImportMapping (as the CLI does), each row validated as a LeadInput, and the valid rows
 * imported in one `importLeads` (one transaction), as the JSON import does. Within the JSON
 * import's limits: at most `maxBytes` of body (1 MiB) and `maxRows` data rows (5,000), both
 * counted while reading, so a larger body is refused without being held.
 *
 * Everything is decided before anything is written: a body that is not readable CSV, a
 * header-only body, `strict` with unmapped columns, rows of the other type than the List's,
 * or no valid row at all refuse the whole request ({@link CsvImportRefused}) and write
 * nothing. Otherwise the rows that are not valid Leads are answered as `rejected` (row number
 * and reasons) and the others are imported.
 */
import { Cause, Effect, Exit, Schema, Stream } from "effect"
import { fromInput, groupByIdentity, LeadInput } from "@enrich/domain/leads/Lead"
import {
  type ColumnMapping,
  type Delimiter,
  type HeaderMapping,
  type ImportLeadType,
  leadOfRecord,
  mapHeader,
  type Override,
  typed,
  typeMismatchSentence
} from "@enrich/domain/leads/ImportMapping"
import { ALL_LIST_ID } from "@enrich/domain/ports/LeadRecords"
import { Leads } from "@enrich/domain/ports/Leads"
import { Lists } from "@enrich/domain/ports/Lists"
import { pathIssues } from "@enrich/domain/SchemaIssues"
import { CsvProblem, openCsv } from "./CsvReader.ts"

export interface CsvImportRequest {
  readonly body: Stream.Stream<Uint8Array, unknown>
  /** the `Content-Length` the client declared, if any: refused at once when over `maxBytes` */
  readonly declaredLength?: number | undefined
  readonly listId?: string | undefined
  readonly forced?: ImportLeadType | undefined
  readonly overrides: ReadonlyArray<Override>
  readonly delimiter?: Delimiter | undefined
  readonly strict: boolean
  readonly preview: boolean
  readonly maxBytes: number
  readonly maxRows: number
}

export interface RejectedRow {
  readonly row: number
  readonly reasons: ReadonlyArray<{ readonly path: string; readonly message: string }>
}

export interface CsvReport {
  readonly rows: number
  readonly mapping: ReadonlyArray<{
    readonly column: string
    readonly field: string | null
    readonly reason?: "unknown" | "duplicate" | "skipped" | "empty"
  }>
  readonly unmapped: ReadonlyArray<string>
  readonly rejected: ReadonlyArray<RejectedRow>
}

export type CsvImportResult =
  | ({ readonly created: number; readonly matched: number; readonly leadIds: ReadonlyArray<string> } & CsvReport)
  | ({
      readonly preview: { readonly leadCount: number; readonly personCount: number; readonly companyCount: number }
      /** the first valid rows as the Leads they would import (at most {@link SAMPLE_ROWS}), by row number */
      readonly sample: ReadonlyArray<{ readonly row: number; readonly lead: LeadInput }>
    } & CsvReport)

/** How many rows a preview shows as Leads. */
export const SAMPLE_ROWS = 5

/** The request is refused as a whole: nothing was written. `status` 400 (bad CSV, …) or 413 (a limit). */
export class CsvImportRefused extends Schema.TaggedError<CsvImportRefused>()("CsvImportRefused", {
  status: Schema.Literals([400, 413]),
  code: Schema.Literals(["VALIDATION_FAILED", "LEAD_TYPE_MISMATCH", "PAYLOAD_TOO_LARGE"]),
  message: Schema.String,
  details: Schema.optionalKey(Schema.Unknown)
}) {}

class TooLarge extends Error {}

const refused = (status: 400 | 413, code: CsvImportRefused["code"], message: string, details?: unknown) =>
  new CsvImportRefused({ status, code, message, ...(details === undefined ? {} : { details }) })

const compact = (columns: ReadonlyArray<ColumnMapping>): CsvReport["mapping"] =>
  columns.map((c) =>
    c.field !== null ? { column: c.column, field: c.field } : { column: c.column, field: null, reason: c.reason }
  )

const decodeLead = Schema.decodeUnknownExit(LeadInput, { errors: "all", onExcessProperty: "error" })

/** The bytes of `source`, refused past `max` (counted as they come). */
async function* limited(source: AsyncIterable<Uint8Array>, max: number): AsyncGenerator<Uint8Array> {
  let total = 0
  for await (const chunk of source) {
    total += chunk.byteLength
    if (total > max) throw new TooLarge()
    yield chunk
  }
}

interface Parsed {
  readonly mapping: HeaderMapping
  rows: number
  readonly leads: Array<LeadInput>
  /** the row number of each of `leads` */
  readonly leadRows: Array<number>
  readonly rejected: Array<RejectedRow>
  readonly counts: { person: number; company: number }
  readonly otherRows: Array<number>
  otherCount: number
}

const tooLarge = (request: CsvImportRequest, what: "bytes" | "rows") =>
  refused(
    413,
    "PAYLOAD_TOO_LARGE",
    what === "bytes"
      ? `A CSV import is limited to ${request.maxBytes} bytes (1 MiB) and ${request.maxRows} rows per request: split the file, or use \`enrich lead import\`, which does`
      : `A CSV import is limited to ${request.maxRows} rows per request (this one has more): split the file, or use \`enrich lead import\`, which does`,
    { limit: what === "bytes" ? { bytes: request.maxBytes } : { rows: request.maxRows } }
  )

/** Reads and checks the CSV: the mapping, the valid rows as Leads, the rejected ones. Writes nothing. */
const parse = (request: CsvImportRequest, listType: ImportLeadType | undefined) =>
  // a failure of the body's socket, or a bug, rejects: a defect (a 500 that names its request id)
  Effect.promise(async (): Promise<Parsed | CsvImportRefused> => {
    try {
      const csv = await openCsv(limited(Stream.toAsyncIterable(request.body), request.maxBytes), {
        delimiter: request.delimiter,
        maxColumns: 2_000
      })
      const mapping = mapHeader(csv.header, request.overrides)
      if (request.strict && (mapping.unmapped.length > 0 || mapping.unusedOverrides.length > 0)) {
        await csv.close()
        const parts = [
          ...(mapping.unmapped.length > 0
            ? [`columns not mapped to a Lead field: ${mapping.unmapped.join(", ")}`]
            : []),
          ...(mapping.unusedOverrides.length > 0
            ? [`map names no column of the header: ${mapping.unusedOverrides.join(", ")}`]
            : [])
        ]
        return refused(
          400,
          "VALIDATION_FAILED",
          `strict: ${parts.join("; ")}; map each (map=COLUMN=attributes.<key>) or skip it (map=COLUMN=-)`,
          { unmapped: mapping.unmapped, unusedOverrides: mapping.unusedOverrides, mapping: compact(mapping.columns) }
        )
      }
      const rule = { forced: request.forced, listType }
      const parsed: Parsed = {
        mapping,
        rows: 0,
        leads: [],
        leadRows: [],
        rejected: [],
        counts: { person: 0, company: 0 },
        otherRows: [],
        otherCount: 0
      }
      let rows = 0
      for await (const record of csv.records) {
        const made = leadOfRecord(mapping, record.fields)
        if ("blank" in made) continue
        rows++
        if (rows > request.maxRows) {
          await csv.close()
          return tooLarge(request, "rows")
        }
        if ("error" in made) {
          parsed.rejected.push({ row: record.row, reasons: [{ path: "(row)", message: made.error }] })
          continue
        }
        const decoded = decodeLead(typed(made.lead, rule))
        if (Exit.isFailure(decoded)) {
          const failure = decoded.cause.reasons.find(Cause.isFailReason)
          parsed.rejected.push({
            row: record.row,
            reasons:
              failure !== undefined && Schema.isSchemaError(failure.error)
                ? pathIssues(failure.error.issue, "").map((i) => ({
                    path: i.path.replace(/^\./, "") || "(row)",
                    message: i.message
                  }))
                : [{ path: "(row)", message: "not a valid Lead" }]
          })
          continue
        }
        const lead = decoded.value
        parsed.counts[lead.type]++
        if (listType !== undefined && lead.type !== listType) {
          parsed.otherCount++
          if (parsed.otherRows.length < 5) parsed.otherRows.push(record.row)
        }
        parsed.leads.push(lead)
        parsed.leadRows.push(record.row)
      }
      return { ...parsed, rows }
    } catch (cause) {
      if (cause instanceof TooLarge) return tooLarge(request, "bytes")
      if (cause instanceof CsvProblem) {
        return refused(400, "VALIDATION_FAILED", `The CSV cannot be read: ${cause.message}`, {
          problem: cause.kind,
          line: cause.line ?? null
        })
      }
      throw cause
    }
  }).pipe(
    Effect.flatMap((result) => (result instanceof CsvImportRefused ? Effect.fail(result) : Effect.succeed(result)))
  )

/** The CSV import: see the module comment. */
export const importCsv = Effect.fn("CsvImport.importCsv")(function* (workspaceId: string, request: CsvImportRequest) {
  if (request.declaredLength !== undefined && request.declaredLength > request.maxBytes) {
    return yield* tooLarge(request, "bytes")
  }
  const leads = yield* Leads
  const lists = yield* Lists
  let listType: ImportLeadType | undefined
  if (request.listId !== undefined && request.listId !== ALL_LIST_ID) {
    const list = yield* lists.getList(workspaceId, request.listId)
    if (list.leadType !== "mixed") listType = list.leadType
  }
  const parsed = yield* parse(request, listType)
  const report: CsvReport = {
    rows: parsed.rows,
    mapping: compact(parsed.mapping.columns),
    unmapped: parsed.mapping.unmapped,
    rejected: parsed.rejected
  }
  if (parsed.rows === 0) {
    return yield* refused(400, "VALIDATION_FAILED", "The CSV has a header and no rows", { mapping: report.mapping })
  }
  if (listType !== undefined && parsed.otherCount > 0) {
    return yield* refused(
      400,
      "LEAD_TYPE_MISMATCH",
      typeMismatchSentence({
        listId: request.listId!,
        listType,
        otherRows: parsed.otherCount,
        rows: parsed.rows,
        firstRows: parsed.otherRows,
        forceHint: (type) => `the query parameter type=${type}`
      }),
      { leadType: listType, otherRows: parsed.otherCount, rows: parsed.rows, firstRows: parsed.otherRows }
    )
  }
  if (parsed.leads.length === 0) {
    const first = parsed.rejected[0]
    return yield* refused(
      400,
      "VALIDATION_FAILED",
      `None of the ${parsed.rows} rows is a valid Lead${first === undefined ? "" : ` (row ${first.row}: ${first.reasons[0]?.path}: ${first.reasons[0]?.message})`}`,
      { rejected: parsed.rejected.slice(0, 100), total: parsed.rejected.length, mapping: report.mapping }
    )
  }
  if (request.preview) {
    const { groups } = groupByIdentity(parsed.leads.map(fromInput))
    return {
      preview: {
        leadCount: groups.length,
        personCount: groups.filter((g) => g.fields.type === "person").length,
        companyCount: groups.filter((g) => g.fields.type === "company").length
      },
      sample: parsed.leads.slice(0, SAMPLE_ROWS).map((lead, i) => ({ row: parsed.leadRows[i]!, lead })),
      ...report
    } as CsvImportResult
  }
  const imported = yield* leads.importLeads(workspaceId, parsed.leads, request.listId)
  return { ...imported, ...report } as CsvImportResult
})
