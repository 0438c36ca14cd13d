/**
 * `lead import FILE.csv|FILE.jsonl [--list ID] [--map col=field ...] [--type person|company]
 * [--delimiter ,|;|tab] [--strict] [--dry-run]`.
 *
 * A CSV is read by the adapters' streaming reader (`csv-parse`: a BOM, `,` `;` or tab detected
 * from the header line, quoted fields with delimiters, quotes and line breaks), and its header
 * mapped by the domain's ImportMapping (normalised names, the alias table of the common
 * exports, `--map` overrides, the Lead type per row); a JSONL line is a Lead whose keys are
 * Lead fields or aliases. The importer:
 *
 * 1. prints the mapping on stderr, with the columns that are not imported (`--strict`: any
 *    such column refuses the file, exit 2);
 * 2. reads the whole file once to check it, writing nothing: a file that cannot be read (an
 *    unterminated quote, invalid UTF-8, …) or that has rows of the other type than the List's
 *    is refused (exit 2) with one sentence, before anything is imported; `--dry-run` stops
 *    here and prints the first rows as the Leads they become;
 * 3. reads it again and sends batches of at most 5,000 rows (and under the API's 1 MiB body
 *    limit) to `POST /api/lists/import`, one at a time, so memory stays flat. When the server
 *    names rows (`body.leads[i]…`), those rows go to `<file>.rejected.jsonl` with the row
 *    number and the reasons, and the batch is sent again without them. Progress on stderr; a
 *    summary on stdout.
 */
import { Cause, Effect, Exit, Option, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { createReadStream, createWriteStream, type WriteStream } from "node:fs"
import { setFlagsFromString } from "node:v8"
import { CsvProblem, openCsv } from "@enrich/adapters/import/CsvReader"
import {
  type ColumnMapping,
  type Delimiter,
  describeMapping,
  type HeaderMapping,
  type ImportLeadType,
  leadOfObject,
  leadOfRecord,
  mapHeader,
  type Override,
  parseDelimiter,
  parseOverride,
  type TypeRule,
  typed,
  typeMismatchSentence
} from "@enrich/domain/leads/ImportMapping"
import { LeadInput } from "@enrich/domain/leads/Lead"
import { pathIssues } from "@enrich/domain/SchemaIssues"
import { CliSettings } from "./Env.ts"
import { type ErrorBody, errorBody, fail, IoFailure, print } from "./Output.ts"

/**
 * A row of the file: its number (1 = first data row), the Lead as JSON text, or why it could
 * not be read; `raw` is the row as read, as JSON text (the CSV record's fields, or the JSONL
 * object; the line itself when it is not JSON), turned into the rejected file's `source`
 * only for a rejected row. Rows hold fresh flat strings only: a batch lives across young-
 * generation collections, so V8 promotes it to the old generation, where it waits for a full
 * collection once sent — row objects and substrings that keep their chunk alive made the
 * importer's RSS climb by ~7 MiB a batch.
 */
interface Row {
  readonly row: number
  readonly json?: string
  readonly raw: string
  readonly error?: string
  readonly type?: string
}

/** An opened file: how it is read, and its rows (read as they are pulled). */
interface Source {
  readonly format: "csv" | "jsonl"
  readonly delimiter: Delimiter | null
  readonly header: ReadonlyArray<string> | null
  readonly mapping: HeaderMapping | null
  readonly rows: AsyncIterable<Row>
  /** stops reading (also done when `rows` is read to its end or left early) */
  readonly close: () => Promise<void>
}

const isJsonl = (path: string) => /\.jsonl$|\.ndjson$/i.test(path)

/** Opens `path` (a CSV: up to its header) with the mapping and the type rule. */
const openSource = async (
  path: string,
  overrides: ReadonlyArray<Override>,
  delimiter: Delimiter | undefined,
  rule: TypeRule,
  mapped?: HeaderMapping
): Promise<Source> => {
  if (isJsonl(path)) {
    // opened at once, so a missing file fails here as it does for a CSV
    const stream = createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 16 })
    await new Promise<void>((resolve, reject) => stream.once("open", () => resolve()).once("error", reject))
    return {
      format: "jsonl",
      delimiter: null,
      header: null,
      mapping: null,
      rows: jsonlRows(stream, overrides, rule),
      close: async () => void stream.destroy()
    }
  }
  const csv = await openCsv(createReadStream(path, { highWaterMark: 1 << 16 }), { delimiter })
  const mapping = mapped ?? mapHeader(csv.header, overrides)
  async function* rows(): AsyncGenerator<Row> {
    for await (const record of csv.records) {
      const made = leadOfRecord(mapping, record.fields)
      if ("blank" in made) continue
      const raw = JSON.stringify(record.fields)
      if ("error" in made) {
        yield { row: record.row, raw, error: made.error }
        continue
      }
      const lead = typed(made.lead, rule)
      yield { row: record.row, json: JSON.stringify(lead), raw, type: String(lead["type"]) }
    }
  }
  return { format: "csv", delimiter: csv.delimiter, header: csv.header, mapping, rows: rows(), close: csv.close }
}

async function* jsonlRows(
  stream: AsyncIterable<unknown>,
  overrides: ReadonlyArray<Override>,
  rule: TypeRule
): AsyncGenerator<Row> {
  let row = 0
  let pending = ""
  const jsonRow = (line: string): Row => {
    row++
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch (error) {
      return { row, raw: line, error: `not JSON: ${error instanceof Error ? error.message : String(error)}` }
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return { row, raw: line, error: "not a JSON object" }
    }
    const lead = typed(leadOfObject(parsed as Record<string, unknown>, overrides), rule)
    return { row, raw: JSON.stringify(parsed), json: JSON.stringify(lead), type: String(lead["type"]) }
  }
  for await (const chunk of stream) {
    pending += chunk as string
    const lines = pending.split("\n")
    pending = lines.pop()!
    for (const line of lines) if (line.trim() !== "") yield jsonRow(line)
  }
  if (pending.trim() !== "") yield jsonRow(pending)
}

/** What `POST /api/lists/import` answers: counts, or the error body. */
interface ImportAnswer {
  readonly created?: number
  readonly matched?: number
  readonly code?: string
  readonly message?: string
  readonly details?: {
    readonly issues?: ReadonlyArray<{ readonly path: string; readonly message: string }>
    readonly total?: number
  }
}

interface Batch {
  readonly rows: Array<Row>
  bytes: number
}

const MAX_BYTES = 900_000
const DRY_RUN_ROWS = 5

/** An outcome of the importer: the summary to print, or a failure (its body, its HTTP status if any). */
type Outcome =
  | { readonly ok: Record<string, unknown> }
  | { readonly failure: ErrorBody; readonly status?: number | undefined }

const refuse = (code: string, message: string, extra: Record<string, unknown> = {}): Outcome => ({
  failure: errorBody(code, message, extra)
})

const compact = (columns: ReadonlyArray<ColumnMapping>) =>
  columns.map((c) =>
    c.field !== null ? { column: c.column, field: c.field } : { column: c.column, field: null, reason: c.reason }
  )

/** The List's type through the API (`GET /api/lists`, page by page): read-only. */
const listTypeOf = async (
  baseUrl: string,
  apiKey: string,
  listId: string
): Promise<{ readonly leadType: string } | { readonly failure: ErrorBody; readonly status: number }> => {
  let cursor: string | null = null
  for (;;) {
    const response: Response = await fetch(
      `${baseUrl}/api/lists?limit=500${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`,
      { headers: { authorization: `Bearer ${apiKey}` } }
    )
    const body = (await response.json().catch(() => undefined)) as
      | {
          readonly code?: string
          readonly lists?: ReadonlyArray<{ readonly id: string; readonly leadType: string }>
          readonly hasMore?: boolean
          readonly nextCursor?: string | null
        }
      | undefined
    if (!response.ok || body?.lists === undefined) {
      return {
        failure:
          typeof body?.code === "string"
            ? (body as ErrorBody)
            : errorBody("SERVER_ERROR", `HTTP ${response.status} from the API`),
        status: response.status
      }
    }
    const found = body.lists.find((l) => l.id === listId)
    if (found !== undefined) return { leadType: found.leadType }
    if (body.hasMore !== true || body.nextCursor === null || body.nextCursor === undefined) {
      return { failure: errorBody("LIST_NOT_FOUND", `List ${listId} does not exist`), status: 400 }
    }
    cursor = body.nextCursor
  }
}

const validateLead = Schema.decodeUnknownExit(LeadInput)

interface Options {
  readonly file: string
  readonly listId: string | undefined
  readonly overrides: ReadonlyArray<Override>
  readonly forced: ImportLeadType | undefined
  readonly delimiter: Delimiter | undefined
  readonly strict: boolean
  readonly dryRun: boolean
  readonly batchSize: number
  readonly baseUrl: string
  readonly apiKey: string | undefined
}

const runImport = async (options: Options): Promise<Outcome> => {
  const { file, listId, overrides, forced, delimiter, strict, dryRun, batchSize, baseUrl } = options
  const started = Date.now()
  const tty = process.stderr.isTTY === true
  const say = (line: string) => void process.stderr.write(`${line}\n`)

  // 1. the header and its mapping
  const first = await openSource(file, overrides, delimiter, { forced })
  await first.close()
  const mapping = first.mapping
  if (mapping !== null) {
    say(
      `mapping of ${file} (${mapping.columns.length} columns, delimiter ${first.delimiter === "\t" ? "tab" : JSON.stringify(first.delimiter)}):`
    )
    for (const line of describeMapping(mapping)) say(line)
    if (mapping.unusedOverrides.length > 0) {
      say(`--map names no column of the header: ${mapping.unusedOverrides.join(", ")}`)
    }
    if (strict && (mapping.unmapped.length > 0 || mapping.unusedOverrides.length > 0)) {
      const parts = [
        ...(mapping.unmapped.length > 0 ? [`columns not mapped to a Lead field: ${mapping.unmapped.join(", ")}`] : []),
        ...(mapping.unusedOverrides.length > 0
          ? [`--map names no column of the header: ${mapping.unusedOverrides.join(", ")}`]
          : [])
      ]
      return refuse(
        "VALIDATION_FAILED",
        `--strict: ${parts.join("; ")}; map each (--map "COLUMN=attributes.<key>") or skip it (--map "COLUMN=-"); nothing was imported`,
        { details: { unmapped: mapping.unmapped, unusedOverrides: mapping.unusedOverrides } }
      )
    }
  } else {
    say(`reading ${file} as JSONL: each line is a Lead (keys: Lead fields, or the CSV aliases)`)
  }

  // 2. the List's type
  const needsApi = !dryRun || listId !== undefined
  if (needsApi && options.apiKey === undefined) {
    return { failure: errorBody("UNAUTHORIZED", "ENRICH_API_KEY is not set"), status: 401 }
  }
  let listType: ImportLeadType | undefined
  if (listId !== undefined && listId !== "all") {
    const found = await listTypeOf(baseUrl, options.apiKey!, listId)
    if ("failure" in found) return found
    if (found.leadType === "person" || found.leadType === "company") listType = found.leadType
  }
  const rule: TypeRule = { forced, listType }

  // 3. the check: the whole file once, writing nothing
  const check = await openSource(file, overrides, delimiter, rule, mapping ?? undefined)
  const counts = { rows: 0, person: 0, company: 0, refused: 0 }
  const otherRows: Array<number> = []
  const preview: Array<{ readonly row: number; readonly lead: unknown }> = []
  const wouldReject: Array<{
    readonly row: number
    readonly reasons: ReadonlyArray<{ path: string; message: string }>
  }> = []
  for await (const row of check.rows) {
    counts.rows++
    if (row.error !== undefined) {
      counts.refused++
      if (dryRun && wouldReject.length < DRY_RUN_ROWS) {
        wouldReject.push({ row: row.row, reasons: [{ path: "(row)", message: row.error }] })
      }
      continue
    }
    if (row.type === "person") counts.person++
    else if (row.type === "company") counts.company++
    if (listType !== undefined && (row.type === "person" || row.type === "company") && row.type !== listType) {
      if (otherRows.length < 5) otherRows.push(row.row)
    }
    if (dryRun) {
      const lead = JSON.parse(row.json!)
      if (preview.length < DRY_RUN_ROWS) preview.push({ row: row.row, lead })
      const decoded = validateLead(lead)
      if (Exit.isFailure(decoded)) {
        counts.refused++
        if (wouldReject.length < DRY_RUN_ROWS) {
          const issue = decoded.cause.reasons.find(Cause.isFailReason)
          const reasons =
            issue !== undefined && Schema.isSchemaError(issue.error)
              ? pathIssues(issue.error.issue, "").map((i) => ({
                  path: i.path.replace(/^\./, "") || "(row)",
                  message: i.message
                }))
              : [{ path: "(row)", message: "not a valid Lead" }]
          wouldReject.push({ row: row.row, reasons })
        }
      }
    }
  }
  const others = listType === undefined ? 0 : listType === "person" ? counts.company : counts.person
  say(
    `checked ${counts.rows} rows: ${counts.person} ${counts.person === 1 ? "person" : "people"}, ${counts.company} ${counts.company === 1 ? "company" : "companies"}${counts.refused > 0 ? `, ${counts.refused} ${dryRun ? "would be rejected" : "unreadable"}` : ""} (${((Date.now() - started) / 1000).toFixed(1)} s)`
  )
  if (counts.rows === 0) {
    return refuse(
      "VALIDATION_FAILED",
      `${file} has no rows${mapping === null ? "" : " after its header"}; nothing was imported`
    )
  }
  if (listType !== undefined && others > 0) {
    return refuse(
      "LEAD_TYPE_MISMATCH",
      typeMismatchSentence({
        listId: listId!,
        listType,
        otherRows: others,
        rows: counts.rows,
        firstRows: otherRows,
        forceHint: (type) => `--type ${type}`
      }),
      { details: { leadType: listType, otherRows: others, rows: counts.rows, firstRows: otherRows } }
    )
  }
  const summaryBase = {
    file,
    format: first.format,
    ...(mapping === null
      ? {}
      : { delimiter: first.delimiter, mapping: compact(mapping.columns), unmapped: mapping.unmapped }),
    rows: counts.rows,
    people: counts.person,
    companies: counts.company
  }
  if (dryRun) {
    return {
      ok: {
        dryRun: true,
        ...summaryBase,
        list: listId === undefined ? null : { id: listId, leadType: listType ?? "mixed" },
        wouldReject: counts.refused,
        leads: preview,
        rejected: wouldReject
      }
    }
  }

  // 4. the import
  const apiKey = options.apiKey!
  const rejectedPath = `${file}.rejected.jsonl`
  const totals = { rows: 0, created: 0, matched: 0, rejected: 0, batches: 0 }
  const header = first.header
  /** a rejected row as the file had it: the CSV columns by header, or the JSONL object (or line) */
  const sourceOf = (row: Row): unknown => {
    if (row.error !== undefined && header === null) return row.raw
    const parsed: unknown = JSON.parse(row.raw)
    if (!Array.isArray(parsed)) return parsed
    const columns = header ?? []
    // the fields past the header (a row with more fields than columns) too
    return Object.fromEntries(
      parsed.length > columns.length
        ? parsed.map((v, i) => [columns[i] ?? `(field ${i + 1})`, v])
        : columns.map((h, i) => [h, parsed[i] ?? ""])
    )
  }
  let rejected: WriteStream | undefined
  const reject = async (row: Row, reasons: ReadonlyArray<{ readonly path: string; readonly message: string }>) => {
    rejected ??= createWriteStream(rejectedPath)
    totals.rejected++
    if (!rejected.write(`${JSON.stringify({ row: row.row, reasons, source: sourceOf(row) })}\n`)) {
      await new Promise<void>((resolve) => rejected!.once("drain", () => resolve()))
    }
  }
  const progress = () => {
    const seconds = (Date.now() - started) / 1000
    const line = `imported ${totals.created + totals.matched}/${totals.rows} rows (created ${totals.created}, matched ${totals.matched}, rejected ${totals.rejected}) · ${(totals.rows / Math.max(seconds, 0.001)).toFixed(0)} rows/s`
    process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`)
  }
  const send = async (batch: Batch): Promise<Outcome | undefined> => {
    let rows = batch.rows
    while (rows.length > 0) {
      const response = await fetch(`${baseUrl}/api/lists/import`, {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
        body: `{"leads":[${rows.map((r) => r.json).join(",")}]${listId === undefined ? "" : `,"listId":${JSON.stringify(listId)}`}}`
      })
      const text = await response.text()
      let answer: ImportAnswer
      try {
        answer = JSON.parse(text)
      } catch {
        answer = errorBody("SERVER_ERROR", `HTTP ${response.status} from the API`) as ImportAnswer
      }
      if (response.ok) {
        totals.created += answer.created ?? 0
        totals.matched += answer.matched ?? 0
        totals.batches++
        return undefined
      }
      if (answer.code === "LEAD_TYPE_MISMATCH") {
        // the List's type changed since the check: one sentence, not the Lead ids
        return {
          failure: errorBody(
            "LEAD_TYPE_MISMATCH",
            `List ${listId} no longer takes the Leads of this file (${answer.message}; its type changed during the import?): ${totals.created + totals.matched} rows were imported before this batch, none of this batch`,
            { details: { total: answer.details?.total, imported: { ...totals } } }
          ),
          status: response.status
        }
      }
      const issues: ReadonlyArray<{ path: string; message: string }> =
        response.status === 400 && answer.code === "VALIDATION_FAILED" ? (answer.details?.issues ?? []) : []
      const byIndex = new Map<number, Array<{ path: string; message: string }>>()
      for (const issue of issues) {
        const m = /^body\.leads\[(\d+)\](.*)$/.exec(issue.path)
        if (m === null) continue
        const index = Number(m[1])
        const list = byIndex.get(index) ?? []
        list.push({ path: m[2]!.replace(/^\./, "") || "(row)", message: issue.message })
        byIndex.set(index, list)
      }
      if (byIndex.size === 0) {
        const body = answer as { readonly code?: unknown; readonly message?: unknown }
        return {
          failure: {
            ...(typeof body.code === "string"
              ? (answer as ErrorBody)
              : errorBody("SERVER_ERROR", String(body.message ?? `HTTP ${response.status}`))),
            imported: { ...totals }
          },
          status: response.status
        }
      }
      for (const [index, reasons] of [...byIndex].sort((a, b) => a[0] - b[0])) await reject(rows[index]!, reasons)
      rows = rows.filter((_, i) => !byIndex.has(i))
    }
    return undefined
  }

  const source = await openSource(file, overrides, delimiter, rule, mapping ?? undefined)
  let batch: Batch = { rows: [], bytes: 0 }
  for await (const row of source.rows) {
    totals.rows++
    if (row.error !== undefined) {
      await reject(row, [{ path: "(row)", message: row.error }])
      continue
    }
    const bytes = row.json!.length + 1
    if (batch.rows.length > 0 && (batch.rows.length >= batchSize || batch.bytes + bytes > MAX_BYTES)) {
      const failed = await send(batch)
      if (failed !== undefined) return failed
      progress()
      batch = { rows: [], bytes: 0 }
    }
    batch.rows.push(row)
    batch.bytes += bytes
  }
  if (batch.rows.length > 0) {
    const failed = await send(batch)
    if (failed !== undefined) return failed
  }
  progress()
  if (tty) process.stderr.write("\n")
  if (rejected !== undefined) {
    const stream = rejected as WriteStream
    await new Promise<void>((resolve) => stream.end(() => resolve()))
  }
  return {
    ok: {
      ...summaryBase,
      rows: totals.rows,
      imported: totals.created + totals.matched,
      created: totals.created,
      matched: totals.matched,
      rejected: totals.rejected,
      rejectedFile: totals.rejected > 0 ? rejectedPath : null,
      batches: totals.batches,
      seconds: Math.round((Date.now() - started) / 100) / 10
    }
  }
}

export const leadImport = Command.make(
  "import",
  {
    file: Argument.String("file").pipe(Argument.withDescription("A .csv (with a header row) or .jsonl file")),
    list: Flag.String("list").pipe(Flag.withDescription("Add the Leads to this List"), Flag.optional),
    map: Flag.String("map").pipe(
      Flag.withDescription(
        "col=field: a column (or JSONL key) to a Lead field, e.g. Mail=email, Score=attributes.score; col=- skips the column"
      ),
      Flag.atLeast(0)
    ),
    type: Flag.Literals("type", ["person", "company"]).pipe(
      Flag.withDescription(
        "The type of every row without a type value (default: per row, person when a person field is set, company when only company fields are, else the List's type)"
      ),
      Flag.optional
    ),
    delimiter: Flag.String("delimiter").pipe(
      Flag.withDescription("The CSV delimiter: , ; or tab (default: detected from the header line)"),
      Flag.optional
    ),
    strict: Flag.Boolean("strict").pipe(
      Flag.withDescription("Refuse the file when a column is not mapped to a Lead field (exit 2)"),
      Flag.withDefault(false)
    ),
    dryRun: Flag.Boolean("dry-run").pipe(
      Flag.withDescription("Check the file and print the mapping and the first rows as Leads; import nothing"),
      Flag.withDefault(false)
    ),
    batchSize: Flag.Int("batch-size").pipe(Flag.withDescription("Rows per request, 1..5000"), Flag.withDefault(5000))
  },
  Effect.fn(function* ({ file, list, map, type, delimiter, strict, dryRun, batchSize }) {
    const overrides: Array<Override> = []
    for (const entry of map) {
      const parsed = parseOverride(entry)
      if ("error" in parsed) return yield* fail(errorBody("VALIDATION_FAILED", `--map ${parsed.error}`))
      overrides.push(parsed)
    }
    if (batchSize < 1 || batchSize > 5000) {
      return yield* fail(errorBody("VALIDATION_FAILED", "--batch-size must be 1..5000"))
    }
    const given = Option.getOrUndefined(delimiter)
    const parsedDelimiter = given === undefined ? undefined : parseDelimiter(given)
    if (given !== undefined && parsedDelimiter === undefined) {
      return yield* fail(errorBody("VALIDATION_FAILED", `--delimiter ${JSON.stringify(given)}: one of , ; tab`))
    }
    // Flat memory: a batch in the making survives V8's young-generation collections, and V8
    // answers a steady stream of survivors by doubling the young generation up to 2 × 64 MiB
    // (Node 24), so RSS climbed for ~35 batches before levelling off at ~400 MiB. V8 reads this
    // flag each time it would grow it, so setting it here keeps the size start-up left
    // (measured in docs/PERFORMANCE.md: ~160 MiB peak for 100,000 and for 500,000 rows).
    setFlagsFromString("--semi-space-growth-factor=1")
    const settings = yield* CliSettings
    const outcome = yield* Effect.tryPromise({
      try: () =>
        runImport({
          file,
          listId: Option.getOrUndefined(list),
          overrides,
          forced: Option.getOrUndefined(type),
          delimiter: parsedDelimiter,
          strict,
          dryRun,
          batchSize,
          baseUrl: settings.baseUrl,
          apiKey: settings.apiKey
        }),
      catch: (cause) => new IoFailure({ cause })
    }).pipe(
      Effect.catch(({ cause }) => {
        const message = cause instanceof Error ? cause.message : String(cause)
        if (cause instanceof CsvProblem) {
          return fail(
            errorBody("VALIDATION_FAILED", `${file}: ${message}; nothing was imported`, {
              details: { problem: cause.kind, line: cause.line ?? null }
            })
          )
        }
        const code = (cause as { code?: unknown }).code
        return code === "ENOENT" || code === "EISDIR" || code === "EACCES"
          ? fail(errorBody("VALIDATION_FAILED", `cannot read ${file}: ${message}`))
          : fail(errorBody("NETWORK_ERROR", `import stopped: ${message}`))
      })
    )
    if ("failure" in outcome) return yield* fail(outcome.failure, outcome.status)
    yield* print(outcome.ok)
  })
).pipe(
  Command.withDescription(
    "Import Leads from a CSV or JSONL file: prints the column mapping, checks the whole file, then streams it in batches; rejected rows to <file>.rejected.jsonl"
  ),
  Command.withExamples([
    {
      command: "enrich lead import leads.csv --list LIST --map Mail=email --map Score=attributes.score",
      description: ""
    },
    { command: "enrich lead import apollo.csv --list LIST --dry-run", description: "" }
  ])
)
