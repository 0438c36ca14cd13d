/**
 * An item's id: its run's id and its ordinal in the run's frozen scope, `<runId>.<ordinal>` with the
 * ordinal zero-padded to ITEM_ORDINAL_DIGITS digits, so ids sort in ordinal order within a run
 * (`run-1.00000001`, `run-1.00000002`, …). The one definition: the adapters write the same form in SQL
 * from these constants (`adapters/postgres/ItemIdSql.ts`), and a test holds the two equal.
 */

/** Digits of the ordinal in an item id (a run holds fewer than 10⁸ items). */
export const ITEM_ORDINAL_DIGITS = 8

/** Between the run id and the ordinal. */
export const ITEM_ID_SEPARATOR = "."

/** The id of item `ordinal` (1-based) of run `runId`. */
export const itemId = (runId: string, ordinal: number): string =>
  `${runId}${ITEM_ID_SEPARATOR}${String(Math.trunc(ordinal)).padStart(ITEM_ORDINAL_DIGITS, "0")}`
