/**
 * Where a running item is found: its row stays `pending` while an open batch of its run holds its ordinal
 * (`domain/runs/ItemMoves.ts` `storedStatus`; decision 72). The one SQL form of that rule, for every statement
 * that tells a running item from a pending one: the projection's moves, the next pending items, the item view.
 */
import type { SqlClient } from "effect/sql"
import type { Fragment } from "effect/sql/Statement"

/**
 * `FROM run_batches b WHERE …`: the open batches (alias `b`) of `run` that hold `ordinal`. `run` is a column
 * (`sql.literal("i.run_id")`) or a value (bound as a parameter), `ordinal` a column (`"i.ordinal"`).
 */
export const openBatchesHolding = (sql: SqlClient.SqlClient, run: Fragment | string, ordinal: string): Fragment =>
  sql`FROM run_batches b WHERE b.run_id = ${run} AND NOT b.ended AND ${sql.literal(ordinal)} = ANY(b.ordinals)`

/** `EXISTS (…)`: the item (`run`, `ordinal`) is in an open batch, i.e. its pending row runs. */
export const inOpenBatch = (sql: SqlClient.SqlClient, run: Fragment | string, ordinal: string): Fragment =>
  sql`EXISTS (SELECT 1 ${openBatchesHolding(sql, run, ordinal)})`
