/**
 * The item id is defined once (domain/runs/ItemId.ts): the id PostgreSQL computes in the bulk writes
 * (ItemIdSql) is the id the code computes, for any run id and any ordinal a run can have.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import fc from "fast-check"
import { itemId } from "@enrich/domain/runs/ItemId"
import { itemIdArray, itemIdSql } from "../../src/postgres/ItemIdSql.ts"
import { TestDatabaseLive } from "../support/TestDatabase.ts"

layer(TestDatabaseLive, { timeout: 60_000 })("Item ids (integration)", (it) => {
  it.effect("the_database_and_the_code_compute_the_same_item_id (property)", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const cases = fc.sample(
        fc.tuple(
          fc.oneof(
            fc.uuid(),
            fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes("\u0000"))
          ),
          fc.oneof(fc.integer({ min: 1, max: 99_999_999 }), fc.constantFrom(1, 9, 10, 99_999_999))
        ),
        { numRuns: 200, seed: 7 }
      )
      for (const [runId, ordinal] of cases) {
        // the run as a bound value (scope freezing) and as a column (the projection, the rebuild)
        const [row] = yield* sql<{ bound: string; column: string }>`
          SELECT ${itemIdSql(sql, runId, "x.ordinal")} AS bound, ${itemIdSql(sql, sql.literal("x.run"), "x.ordinal")} AS column
          FROM (SELECT ${runId}::text AS run, ${ordinal}::int AS ordinal) x`
        const expected = itemId(runId, ordinal)
        assert.strictEqual(row!.bound, expected, `${JSON.stringify(runId)} ${ordinal}`)
        assert.strictEqual(row!.column, expected, `${JSON.stringify(runId)} ${ordinal}`)
      }
      // ids sort in ordinal order within a run
      const ids = [1, 2, 10, 100, 99_999_999].map((o) => itemId("r", o))
      assert.deepStrictEqual([...ids].sort(), ids)
      // the array form is read back by PostgreSQL as the same ids
      const uuidRun = "01a247ab-e9bf-7010-a147-78d794b2191b"
      const [array] = yield* sql<{ ids: Array<string> }>`SELECT ${itemIdArray(uuidRun, [1, 42])}::text[] AS ids`
      assert.deepStrictEqual(array!.ids, [itemId(uuidRun, 1), itemId(uuidRun, 42)])
    })
  )
})
