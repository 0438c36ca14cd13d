/**
 * A run's items exported in the browser: every page of `GET /api/enrichment/{id}/items` (100 a page),
 * written as JSON Lines or as CSV (csv-stringify; a cell that a spreadsheet would take for a formula is
 * prefixed with `'`: Lead data is attacker-controlled), and handed to the browser as a download.
 */
import { stringify } from "csv-stringify/browser/esm/sync"
import { api, attempt, type Item } from "./api.ts"

export const allItems = async (id: string): Promise<{ items: ReadonlyArray<Item> } | { error: string }> => {
  const items: Array<Item> = []
  let cursor: string | undefined
  for (;;) {
    const answer = await attempt(() =>
      api.GET("/api/enrichment/{id}/items", {
        params: { path: { id }, query: { limit: "100", ...(cursor === undefined ? {} : { cursor }) } }
      })
    )
    if ("error" in answer) return answer
    items.push(...answer.data.items)
    if (!answer.data.page.hasMore || answer.data.page.nextCursor === null) return { items }
    cursor = answer.data.page.nextCursor
  }
}

const json = (value: unknown) => (value === null || value === undefined ? "" : JSON.stringify(value))

/** A cell a spreadsheet would evaluate (`=`, `+`, `-`, `@`, a tab or a carriage return first) is made text. */
const inert = (cell: string) => (/^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell)

export const toJsonl = (items: ReadonlyArray<Item>) => `${items.map((item) => JSON.stringify(item)).join("\n")}\n`

export const toCsv = (items: ReadonlyArray<Item>) =>
  stringify(
    items.map((item) =>
      [
        item.id,
        item.leadId,
        item.status,
        json(item.result),
        item.error?.message ?? "",
        item.skippedReason ?? "",
        String(item.attempts),
        json(item.metadata.leadSnapshot),
        item.timing.completedAt ?? ""
      ].map(inert)
    ),
    {
      header: true,
      columns: ["id", "leadId", "status", "result", "error", "skippedReason", "attempts", "leadSnapshot", "completedAt"]
    }
  )

export const download = (name: string, type: string, text: string) => {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const link = document.createElement("a")
  link.href = url
  link.download = name
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
