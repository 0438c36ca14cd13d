/**
 * A PostgreSQL array literal of text values (`{"a","b\"c"}`), to pass a list
 * as one parameter: `WHERE id = ANY(${textArray(ids)}::text[])`. An `= ANY`
 * condition on a key gives the planner both the index and the row count, so a
 * statement about a batch reads the batch's rows even when the table's
 * statistics are stale (a join with a recordset would be estimated at 100 rows
 * and may scan a whole workspace instead).
 */
const quoted = (v: string) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`

export const textArray = (values: ReadonlyArray<string>): string => `{${values.map(quoted).join(",")}}`

/** The same, with `null`s kept as NULL elements (a nullable column's values in one parameter). */
export const nullableTextArray = (values: ReadonlyArray<string | null>): string =>
  `{${values.map((v) => (v === null ? "NULL" : quoted(v))).join(",")}}`
