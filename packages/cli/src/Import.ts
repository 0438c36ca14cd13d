/**
 * `lead import FILE.csv|FILE.jsonl [--list ID] [--map col=field ...]`: reads the file as a
 * stream (never whole), turns each row into a LeadInput, and sends batches of at most 5,000
 * rows (and under the API's 1 MiB body limit) to `POST /api/lists/import`, one at a time, so
 * memory stays flat. The server validates: when it names rows (`body.leads[i]…`), those
 * rows go to `<file>.rejected.jsonl` with the row number and the reasons, and the batch is
 * sent again without them. Progress on stderr; a summary on stdout.
 */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { createReadStream, createWriteStream, type WriteStream } from "node:fs"
import { setFlagsFromString } from "node:v8"
import { CliSettings } from "./Env.ts"
import { errorBody, fail, IoFailure, print } from "./Output.ts"

/**
 * A row of the file: its number (1 = first data row), the Lead as JSON text, or why it could
 * not be read; `raw` is the row as read, as JSON text (the CSV record's fields, or the JSONL
 * object; the line itself when it is not JSON), turned into the rejected file's `source`
 * only for a rejected row. Rows hold fresh flat strings only: a batch lives across young-
 * generation collections, so V8 promotes it to the old generation, where it waits for a full
 * collection once sent — row objects, the parser's concatenated strings and substrings that
 * keep their 64 KiB chunk alive made the importer's RSS climb by ~7 MiB a batch.
 */
interface Row {
  readonly row: number
  readonly json?: string
  readonly raw: string
  readonly error?: string
}

/** The header of a CSV file once read, to rebuild a rejected row's `source`. */
interface Header {
  columns: ReadonlyArray<string> | undefined
}

/** Column names that map to a LeadInput field without a --map. */
const aliases: Record<string, string> = {
  name: "name.full",
  full_name: "name.full",
  first_name: "name.first",
  firstname: "name.first",
  last_name: "name.last",
  lastname: "name.last",
  company: "company.name",
  company_name: "company.name",
  company_domain: "company.domain",
  linkedin: "linkedinUrl",
  linkedin_url: "linkedinUrl",
  city: "location.city",
  state: "location.state",
  country: "location.country"
}

const topLevel = new Set([
  "type",
  "title",
  "email",
  "phone",
  "linkedinUrl",
  "domain",
  "industry",
  "size",
  "name",
  "company",
  "location",
  "contacts",
  "socials",
  "attributes"
])

const knownPath = (path: string) =>
  topLevel.has(path) ||
  /^(name\.(full|first|last)|company\.(name|domain)|location\.(city|state|country)|attributes\.[a-z][a-z0-9_]{0,63})$/.test(
    path
  )

const setPath = (target: Record<string, unknown>, path: string, value: unknown) => {
  const parts = path.split(".")
  let node = target
  for (const part of parts.slice(0, -1)) {
    const next = node[part]
    if (typeof next !== "object" || next === null) node[part] = {}
    node = node[part] as Record<string, unknown>
  }
  node[parts[parts.length - 1]!] = value
}

const personFields = ["email", "name", "linkedinUrl", "title", "phone"]

/** Streams CSV records (RFC 4180: quoted fields may hold commas, quotes and line breaks). */
async function* csvRecords(path: string): AsyncGenerator<ReadonlyArray<string>> {
  let field = ""
  let record: Array<string> = []
  let quoted = false
  let afterQuote = false
  let any = false
  for await (const chunk of createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 16 })) {
    const text = chunk as string
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!
      if (quoted) {
        if (ch === '"') {
          if (text[i + 1] === '"') {
            field += '"'
            i++
          } else if (i + 1 === text.length) {
            // a quote at the end of a chunk: decided by the next chunk
            quoted = false
            afterQuote = true
          } else {
            quoted = false
          }
        } else field += ch
        continue
      }
      if (afterQuote && ch === '"') {
        field += '"'
        quoted = true
        afterQuote = false
        continue
      }
      afterQuote = false
      if (ch === '"' && field === "") {
        quoted = true
        any = true
      } else if (ch === ",") {
        record.push(field)
        field = ""
        any = true
      } else if (ch === "\n") {
        record.push(field.endsWith("\r") ? field.slice(0, -1) : field)
        yield record
        record = []
        field = ""
        any = false
      } else {
        field += ch
        any = true
      }
    }
  }
  if (any || record.length > 0) {
    record.push(field.endsWith("\r") ? field.slice(0, -1) : field)
    yield record
  }
}

/** Streams the rows of a CSV (header first) or JSONL file as Leads. */
async function* readRows(
  path: string,
  mapping: ReadonlyMap<string, string>,
  defaultType: string | undefined,
  header: Header
): AsyncGenerator<Row> {
  const typed = (lead: Record<string, unknown>) => {
    if (lead["type"] === undefined) {
      lead["type"] = defaultType ?? (personFields.some((f) => lead[f] !== undefined) ? "person" : "company")
    }
    return lead
  }
  if (/\.jsonl$|\.ndjson$/i.test(path)) {
    let row = 0
    let pending = ""
    for await (const chunk of createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 16 })) {
      pending += chunk as string
      const lines = pending.split("\n")
      pending = lines.pop()!
      for (const line of lines) {
        if (line.trim() === "") continue
        row++
        yield jsonRow(row, line, mapping, typed)
      }
    }
    if (pending.trim() !== "") yield jsonRow(row + 1, pending, mapping, typed)
    return
  }
  let fields: ReadonlyArray<string> | undefined
  let row = 0
  for await (const record of csvRecords(path)) {
    if (fields === undefined) {
      header.columns = record
      fields = record.map((h) => {
        const name = h.trim().replace(/^\uFEFF/, "")
        return mapping.get(name) ?? aliases[name.toLowerCase()] ?? (knownPath(name) ? name : `?${name}`)
      })
      continue
    }
    if (record.length === 1 && record[0] === "") continue
    row++
    const lead: Record<string, unknown> = {}
    fields.forEach((field, i) => {
      const value = record[i]
      if (value === undefined || value === "" || field.startsWith("?")) return
      setPath(lead, field, value)
    })
    yield { row, json: JSON.stringify(typed(lead)), raw: JSON.stringify(record) }
  }
}

const jsonRow = (
  row: number,
  line: string,
  mapping: ReadonlyMap<string, string>,
  typed: (lead: Record<string, unknown>) => Record<string, unknown>
): Row => {
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch (error) {
    return { row, raw: line, error: `not JSON: ${error instanceof Error ? error.message : String(error)}` }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { row, raw: line, error: "not a JSON object" }
  }
  const lead: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(parsed)) setPath(lead, mapping.get(key) ?? key, value)
  return { row, raw: JSON.stringify(parsed), json: JSON.stringify(typed(lead)) }
}

/** What `POST /api/lists/import` answers: counts, or the error body. */
interface ImportAnswer {
  readonly created?: number
  readonly matched?: number
  readonly code?: string
  readonly details?: { readonly issues?: ReadonlyArray<{ readonly path: string; readonly message: string }> }
}

interface Batch {
  readonly rows: Array<Row>
  bytes: number
}

const MAX_BYTES = 900_000

export const leadImport = Command.make(
  "import",
  {
    file: Argument.String("file").pipe(Argument.withDescription("A .csv (with a header row) or .jsonl file")),
    list: Flag.String("list").pipe(Flag.withDescription("Add the Leads to this List"), Flag.optional),
    map: Flag.String("map").pipe(
      Flag.withDescription(
        "col=field: a column (or JSONL key) to a Lead field, e.g. Mail=email, score=attributes.score"
      ),
      Flag.atLeast(0)
    ),
    type: Flag.Literals("type", ["person", "company"]).pipe(
      Flag.withDescription("The type of rows without a type column (default: person when a person field is set)"),
      Flag.optional
    ),
    batchSize: Flag.Int("batch-size").pipe(Flag.withDescription("Rows per request, 1..5000"), Flag.withDefault(5000))
  },
  Effect.fn(function* ({ file, list, map, type, batchSize }) {
    const mapping = new Map<string, string>()
    for (const entry of map) {
      const eq = entry.indexOf("=")
      const field = entry.slice(eq + 1).trim()
      if (eq <= 0 || !knownPath(field)) {
        return yield* fail(
          errorBody("VALIDATION_FAILED", `--map ${entry}: expected column=field with a Lead field (email, name.full…)`)
        )
      }
      mapping.set(entry.slice(0, eq).trim(), field)
    }
    if (batchSize < 1 || batchSize > 5000) {
      return yield* fail(errorBody("VALIDATION_FAILED", "--batch-size must be 1..5000"))
    }
    // Flat memory: a batch in the making survives V8's young-generation collections, and V8
    // answers a steady stream of survivors by doubling the young generation up to 2 × 64 MiB
    // (Node 24), so RSS climbed for ~35 batches before levelling off at ~400 MiB. V8 reads this
    // flag each time it would grow it, so setting it here keeps the size start-up left
    // (measured in docs/PERFORMANCE.md: ~160 MiB peak for 100,000 and for 500,000 rows).
    setFlagsFromString("--semi-space-growth-factor=1")
    const settings = yield* CliSettings
    if (settings.apiKey === undefined) return yield* fail(errorBody("UNAUTHORIZED", "ENRICH_API_KEY is not set"), 401)
    const apiKey = settings.apiKey
    const listId = Option.getOrUndefined(list)
    const rejectedPath = `${file}.rejected.jsonl`
    const tty = process.stderr.isTTY === true
    const started = Date.now()
    const totals = { rows: 0, created: 0, matched: 0, rejected: 0, batches: 0 }

    const outcome = yield* Effect.tryPromise({
      try: async () => {
        const header: Header = { columns: undefined }
        /** a rejected row as the file had it: the CSV columns by header, or the JSONL object (or line) */
        const sourceOf = (row: Row): unknown => {
          if (row.error !== undefined) return row.raw
          const parsed: unknown = JSON.parse(row.raw)
          if (!Array.isArray(parsed)) return parsed
          return Object.fromEntries((header.columns ?? []).map((h, i) => [h, parsed[i] ?? ""]))
        }
        let rejected: WriteStream | undefined
        const reject = async (
          row: Row,
          reasons: ReadonlyArray<{ readonly path: string; readonly message: string }>
        ) => {
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
        const send = async (batch: Batch): Promise<{ readonly failure?: { status: number; body: unknown } }> => {
          let rows = batch.rows
          while (rows.length > 0) {
            const response = await fetch(`${settings.baseUrl}/api/lists/import`, {
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
              return {}
            }
            const issues: ReadonlyArray<{ path: string; message: string }> =
              response.status === 400 && answer?.code === "VALIDATION_FAILED" ? (answer.details?.issues ?? []) : []
            const byIndex = new Map<number, Array<{ path: string; message: string }>>()
            for (const issue of issues) {
              const m = /^body\.leads\[(\d+)\](.*)$/.exec(issue.path)
              if (m === null) continue
              const index = Number(m[1])
              const list = byIndex.get(index) ?? []
              list.push({ path: m[2]!.replace(/^\./, "") || "(row)", message: issue.message })
              byIndex.set(index, list)
            }
            if (byIndex.size === 0) return { failure: { status: response.status, body: answer } }
            for (const [index, reasons] of [...byIndex].sort((a, b) => a[0] - b[0])) {
              await reject(rows[index]!, reasons)
            }
            rows = rows.filter((_, i) => !byIndex.has(i))
          }
          return {}
        }

        let batch: Batch = { rows: [], bytes: 0 }
        for await (const row of readRows(file, mapping, Option.getOrUndefined(type), header)) {
          totals.rows++
          if (row.error !== undefined) {
            await reject(row, [{ path: "(row)", message: row.error }])
            continue
          }
          const bytes = row.json!.length + 1
          if (batch.rows.length > 0 && (batch.rows.length >= batchSize || batch.bytes + bytes > MAX_BYTES)) {
            const sent = await send(batch)
            if (sent.failure !== undefined) return sent.failure
            progress()
            batch = { rows: [], bytes: 0 }
          }
          batch.rows.push(row)
          batch.bytes += bytes
        }
        if (batch.rows.length > 0) {
          const sent = await send(batch)
          if (sent.failure !== undefined) return sent.failure
        }
        progress()
        if (tty) process.stderr.write("\n")
        if (rejected !== undefined) {
          const stream = rejected as WriteStream
          await new Promise<void>((resolve) => stream.end(() => resolve()))
        }
        return undefined
      },
      catch: (cause) => new IoFailure({ cause })
    }).pipe(
      Effect.catch(({ cause }) => {
        const message = cause instanceof Error ? cause.message : String(cause)
        const code = (cause as { code?: unknown }).code
        return code === "ENOENT"
          ? fail(errorBody("VALIDATION_FAILED", `cannot read ${file}: ${message}`))
          : fail(errorBody("NETWORK_ERROR", `import stopped after ${totals.batches} batches: ${message}`))
      })
    )
    if (outcome !== undefined) {
      const body = outcome.body as { readonly code?: unknown; readonly message?: unknown }
      return yield* fail(
        {
          ...(typeof body.code === "string"
            ? (outcome.body as never)
            : errorBody("SERVER_ERROR", String(body.message))),
          imported: { ...totals }
        },
        outcome.status
      )
    }
    yield* print({
      file,
      rows: totals.rows,
      imported: totals.created + totals.matched,
      created: totals.created,
      matched: totals.matched,
      rejected: totals.rejected,
      rejectedFile: totals.rejected > 0 ? rejectedPath : null,
      batches: totals.batches,
      seconds: Math.round((Date.now() - started) / 100) / 10
    })
  })
).pipe(
  Command.withDescription(
    "Import Leads from a CSV or JSONL file, streamed in batches; rejected rows to <file>.rejected.jsonl"
  ),
  Command.withExamples([
    {
      command: "enrich lead import leads.csv --list LIST --map Mail=email --map Score=attributes.score",
      description: ""
    }
  ])
)
