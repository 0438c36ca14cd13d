/**
 * `enrichment results ID`: `--format json|pretty` prints one page as the API answers it
 * (`--limit`, `--cursor`); `--format jsonl|csv` exports every item of the run, streamed page
 * by page (100 items a request) to stdout, waiting on the pipe: memory stays flat.
 */
import { stringify } from "csv-stringify/sync"
import { Effect } from "effect"
import { api } from "./Env.ts"
import { Format, print, writeOut } from "./Output.ts"

const csvColumns = [
  "itemId",
  "runId",
  "leadId",
  "listId",
  "status",
  "skippedReason",
  "error",
  "attempts",
  "result",
  "startedAt",
  "completedAt"
] as const

/**
 * Rows as CSV (RFC 4180, csv-stringify). Cells are Lead and vendor data, so any that begins with `=`, `+`,
 * `-`, `@`, a tab or a carriage return is prefixed with `'`: a spreadsheet opening the export shows it as
 * text instead of running it as a formula (CSV injection; regression_a_csv_export_let_a_cell_run_as_a_formula).
 */
export const csvLines = (rows: ReadonlyArray<ReadonlyArray<unknown>>): string =>
  stringify(
    rows.map((row) =>
      row.map((value) =>
        value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value)
      )
    ),
    { escape_formulas: true, record_delimiter: "unix" }
  )

interface ItemView {
  readonly id: string
  readonly runId: string
  readonly leadId: string
  readonly listId: string | null
  readonly status: string
  readonly skippedReason: string | null
  readonly error: { readonly message: string } | null
  readonly attempts: number
  readonly result: unknown
  readonly timing: { readonly startedAt: string | null; readonly completedAt: string | null }
}

const csvRow = (item: ItemView): ReadonlyArray<unknown> => [
  item.id,
  item.runId,
  item.leadId,
  item.listId,
  item.status,
  item.skippedReason,
  item.error?.message ?? null,
  item.attempts,
  item.result,
  item.timing.startedAt,
  item.timing.completedAt
]

export const results = Effect.fnUntraced(function* (
  runId: string,
  query: { readonly status?: string; readonly leadId?: string; readonly limit?: number; readonly cursor?: string }
) {
  const format = yield* Format
  if (format === "json" || format === "pretty") {
    const page = yield* api((client) =>
      client.enrichments.items({
        params: { id: runId },
        query: query as Parameters<typeof client.enrichments.items>[0]["query"]
      })
    )
    return yield* print(page)
  }
  if (format === "csv") yield* writeOut(csvLines([csvColumns]))
  let cursor = query.cursor
  let exported = 0
  for (;;) {
    const page = yield* api((client) =>
      client.enrichments.items({
        params: { id: runId },
        query: { ...query, limit: 100, ...(cursor === undefined ? {} : { cursor }) } as Parameters<
          typeof client.enrichments.items
        >[0]["query"]
      })
    )
    if (page.items.length > 0) {
      yield* writeOut(
        format === "csv"
          ? csvLines(page.items.map(csvRow))
          : `${page.items.map((item) => JSON.stringify(item)).join("\n")}\n`
      )
    }
    exported += page.items.length
    if (!page.page.hasMore || page.page.nextCursor === null) break
    cursor = page.page.nextCursor
  }
  process.stderr.write(`exported ${exported} items of ${runId}\n`)
})
