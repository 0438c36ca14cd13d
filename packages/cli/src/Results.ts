/**
 * `enrichment results ID`: `--format json|pretty` prints one page as the API answers it
 * (`--limit`, `--cursor`); `--format jsonl|csv` exports every item of the run, streamed page
 * by page (100 items a request) to stdout, waiting on the pipe: memory stays flat.
 */
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

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
export const csvField = (value: unknown): string => {
  const text = value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value)
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

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

const csvRow = (item: ItemView) =>
  [
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
    .map(csvField)
    .join(",")

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
  if (format === "csv") yield* writeOut(`${csvColumns.join(",")}\n`)
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
    const lines = page.items.map((item) => (format === "csv" ? csvRow(item) : JSON.stringify(item)))
    if (lines.length > 0) yield* writeOut(`${lines.join("\n")}\n`)
    exported += lines.length
    if (!page.page.hasMore || page.page.nextCursor === null) break
    cursor = page.page.nextCursor
  }
  process.stderr.write(`exported ${exported} items of ${runId}\n`)
})
