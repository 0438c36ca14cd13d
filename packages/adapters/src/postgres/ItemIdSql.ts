/**
 * The item id (`domain/runs/ItemId.ts`) as a SQL expression, for the statements that write items in
 * bulk (scope freezing, the RunRequested projection, the rebuild): built from the domain's constants,
 * so the id the database computes is the id the code computes (ItemIdSql.test.ts).
 */
import type { SqlClient } from "effect/sql"
import type { Fragment } from "effect/sql/Statement"
import { ITEM_ID_SEPARATOR, ITEM_ORDINAL_DIGITS, itemId } from "@enrich/domain/runs/ItemId"

/**
 * `<run> || '.' || lpad(<ordinal>::text, 8, '0')`: `run` is a column (`sql.literal("s.run_id")`) or a
 * value (bound as a parameter), `ordinal` a column.
 */
export const itemIdSql = (sql: SqlClient.SqlClient, run: Fragment | string, ordinal: string): Fragment =>
  sql`${run} || ${sql.literal(`'${ITEM_ID_SEPARATOR}'`)} || lpad(${sql.literal(ordinal)}::text, ${sql.literal(String(ITEM_ORDINAL_DIGITS))}, '0')`

/**
 * The ids of these items of a run as a PostgreSQL `text[]` literal: `id = ANY(…::text[])` is a lookup
 * on the primary key whatever the statistics say (a fresh run's items have none yet), where an
 * `IN (SELECT … jsonb …)` or a join on a recordset let the planner read every item of the run per
 * batch — O(run size) per batch (test/postgres/RunProjection.regressions.test.ts).
 */
export const itemIdArray = (runId: string, ordinals: ReadonlyArray<number>): string =>
  `{${ordinals.map((o) => `"${itemId(runId, o)}"`).join(",")}}`
