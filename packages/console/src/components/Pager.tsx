/**
 * Cursor paging, as every listing of the API pages: the cursors walked so far (the page shown is after the last),
 * and the two buttons under a table — back (to the first page, or one page back) and on to the next page.
 */
import { useState } from "preact/hooks"

export interface CursorPages {
  /** the cursor of the page shown; undefined on the first page */
  readonly cursor: string | undefined
  readonly onFirstPage: boolean
  readonly reset: () => void
  readonly previous: () => void
  readonly advance: (next: string) => void
}

export const useCursorPages = (): CursorPages => {
  const [cursors, setCursors] = useState<ReadonlyArray<string>>([])
  return {
    cursor: cursors.at(-1),
    onFirstPage: cursors.length === 0,
    reset: () => setCursors([]),
    previous: () => setCursors(cursors.slice(0, -1)),
    advance: (next) => setCursors([...cursors, next])
  }
}

export const Pager = ({
  label,
  pages,
  next,
  back = "first",
  backText = "First page",
  nextText = "Next page"
}: {
  /** the navigation's accessible name (`Runs pages`) */
  readonly label: string
  readonly pages: CursorPages
  /** the next page's cursor; null on the last page */
  readonly next: string | null
  /** what the back button does: to the first page, or one page back */
  readonly back?: "first" | "previous"
  readonly backText?: string
  readonly nextText?: string
}) => (
  <nav class="pager" aria-label={label}>
    <button type="button" disabled={pages.onFirstPage} onClick={back === "first" ? pages.reset : pages.previous}>
      {backText}
    </button>
    <button type="button" disabled={next === null} onClick={() => next !== null && pages.advance(next)}>
      {nextText}
    </button>
  </nav>
)
