/**
 * CSV as a stream of records, for every importer (the CLI's `lead import`, the API's CSV
 * import), on `csv-parse`'s streaming parser: the bytes are decoded as UTF-8 (invalid UTF-8
 * is an error, never U+FFFD; a BOM is dropped), the delimiter is the caller's or the one of
 * `,` `;` tab the header line uses most (`detectDelimiter`), quoted fields may hold delimiters,
 * quotes (`""`) and line breaks, whitespace around fields is dropped, empty lines are skipped,
 * and a record may have fewer or more fields than the header (the caller decides). Memory is
 * bounded by one record (`maxRecordBytes`) and the parser's buffers, whatever the file's size.
 *
 * What makes the file unreadable is a {@link CsvProblem} whose message names it and the line:
 * invalid UTF-8, a NUL character (a binary or UTF-16 file), an unterminated quote, text after a
 * closing quote, a record over `maxRecordBytes`, no header, a header over `maxColumns` columns.
 */
import { parse } from "csv-parse"
import { Readable } from "node:stream"
import { type Delimiter, detectDelimiter } from "@enrich/domain/leads/ImportMapping"

export interface CsvOptions {
  /** `,`, `;` or a tab; detected from the header line when not given */
  readonly delimiter?: Delimiter | undefined
  /** the most columns a header may have (default 2,000) */
  readonly maxColumns?: number | undefined
  /** the most bytes one record may take (default 1 MiB) */
  readonly maxRecordBytes?: number | undefined
}

export type CsvProblemKind = "utf8" | "nul" | "quote" | "record_size" | "empty" | "columns" | "syntax"

/** Why the CSV cannot be read, with the line where it was found (1 = the header's first line). */
export class CsvProblem extends Error {
  readonly _tag = "CsvProblem"
  readonly kind: CsvProblemKind
  readonly line: number | undefined
  constructor(kind: CsvProblemKind, message: string, line?: number | undefined) {
    super(message)
    this.kind = kind
    this.line = line
  }
}

export interface CsvRecord {
  /** 1 = the first record after the header */
  readonly row: number
  /** the line the record ends on (a quoted field may span lines) */
  readonly line: number
  readonly fields: ReadonlyArray<string>
}

export interface CsvFile {
  readonly header: ReadonlyArray<string>
  readonly delimiter: Delimiter
  /** the records after the header, read as they are pulled; throws a CsvProblem */
  readonly records: AsyncIterable<CsvRecord>
  /** stops reading (the source is released); also done when `records` is left early */
  readonly close: () => Promise<void>
}

const HEAD_LIMIT = 64 * 1024

/** A parser's error as a CsvProblem; `started` is the line the record being read starts on. */
const problemOf = (error: unknown, started: number): unknown => {
  if (error instanceof CsvProblem) return error
  const code = (error as { code?: unknown }).code
  const line = (error as { lines?: unknown }).lines
  const at = typeof line === "number" ? line : undefined
  switch (code) {
    case "CSV_QUOTE_NOT_CLOSED":
      return new CsvProblem(
        "quote",
        `unterminated quote: the row that starts on line ${started} opens a quoted field that never closes (a quote inside a quoted field is written "")`,
        started
      )
    case "CSV_INVALID_CLOSING_QUOTE":
    case "CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE":
      return new CsvProblem(
        "quote",
        `line ${at}: text after the closing quote of a field; a quote inside a quoted field is written ""`,
        at
      )
    case "CSV_MAX_RECORD_SIZE":
      return new CsvProblem("record_size", `line ${at}: a row is too large (an unterminated quote?)`, at)
    default:
      return typeof code === "string" && error instanceof Error
        ? new CsvProblem("syntax", `line ${at}: ${error.message}`, at)
        : error
  }
}

/**
 * Opens a CSV from its bytes (or text): reads up to the header, and hands out the records as
 * an async iterable. Throws a {@link CsvProblem} for a file that cannot be read.
 */
export const openCsv = async (
  source: AsyncIterable<Uint8Array | string>,
  options: CsvOptions = {}
): Promise<CsvFile> => {
  const maxColumns = options.maxColumns ?? 2_000
  const decoder = new TextDecoder("utf-8", { fatal: true })
  const input = source[Symbol.asyncIterator]()
  let offset = 0
  const decode = (chunk: Uint8Array | string): string => {
    if (typeof chunk === "string") return chunk
    const at = offset
    offset += chunk.byteLength
    try {
      return decoder.decode(chunk, { stream: true })
    } catch {
      const utf16 = at === 0 && ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff))
      throw new CsvProblem(
        "utf8",
        `not valid UTF-8 (${utf16 ? "UTF-16: it starts with a UTF-16 byte order mark" : `between bytes ${at} and ${offset}`}): save the file as UTF-8 ("CSV UTF-8" in Excel)`
      )
    }
  }
  const end = (): string => {
    try {
      return decoder.decode()
    } catch {
      throw new CsvProblem("utf8", `not valid UTF-8 (the last bytes): save the file as UTF-8 ("CSV UTF-8" in Excel)`)
    }
  }
  // the start of the data, up to the end of the header line, for the delimiter
  let head = ""
  let exhausted = false
  while (!/[\r\n]/.test(head) && head.length < HEAD_LIMIT) {
    const next = await input.next()
    if (next.done === true) {
      head += end()
      exhausted = true
      break
    }
    head += decode(next.value)
  }
  const delimiter = options.delimiter ?? detectDelimiter(head.split(/\r?\n|\r/, 1)[0] ?? "")
  async function* text(): AsyncGenerator<string> {
    try {
      if (head !== "") yield head
      if (exhausted) return
      for (;;) {
        const next = await input.next()
        if (next.done === true) {
          const rest = end()
          if (rest !== "") yield rest
          return
        }
        const chunk = decode(next.value)
        if (chunk !== "") yield chunk
      }
    } finally {
      if (!exhausted) await input.return?.()
    }
  }
  // the line the last complete record ended on, as the parser saw it (ahead of what is pulled)
  let lastLine = 0
  const parser = parse({
    delimiter,
    bom: true,
    trim: true,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: options.maxRecordBytes ?? 1024 * 1024,
    info: true,
    on_record: (record, context) => {
      lastLine = context.lines
      return record
    }
  })
  const reader = Readable.from(text(), { objectMode: false })
  reader.on("error", (error) => parser.destroy(error))
  reader.pipe(parser)
  const parsed = parser[Symbol.asyncIterator]() as AsyncIterator<{
    readonly record: Array<string>
    readonly info: { readonly lines: number }
  }>
  const close = async () => {
    reader.destroy()
    parser.destroy()
    await parsed.return?.()
  }
  const pull = async () => {
    try {
      const next = await parsed.next()
      if (next.done === true) return undefined
      const { record, info } = next.value
      for (const field of record) {
        if (field.includes("\u0000")) {
          throw new CsvProblem(
            "nul",
            `line ${info.lines}: a NUL character: not a text file, or UTF-16 (save it as UTF-8)`,
            info.lines
          )
        }
      }
      return next.value
    } catch (error) {
      await close().catch(() => undefined)
      throw problemOf(error, lastLine + 1)
    }
  }
  const first = await pull()
  if (first === undefined) throw new CsvProblem("empty", "no header row: the data is empty", 1)
  if (first.record.length > maxColumns) {
    await close()
    throw new CsvProblem(
      "columns",
      `the header has ${first.record.length} columns; at most ${maxColumns} (is the delimiter ${JSON.stringify(delimiter)} right?)`,
      first.info.lines
    )
  }
  async function* records(): AsyncGenerator<CsvRecord> {
    let row = 0
    try {
      for (;;) {
        const next = await pull()
        if (next === undefined) return
        row++
        yield { row, line: next.info.lines, fields: next.record }
      }
    } finally {
      await close()
    }
  }
  return { header: first.record, delimiter, records: records(), close }
}

/** Bytes or text as chunks, for {@link openCsv}: a whole string or buffer, cut in 64 KiB pieces. */
export async function* chunksOf(data: string | Uint8Array, size = 64 * 1024): AsyncGenerator<string | Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.slice(i, i + size)
}
