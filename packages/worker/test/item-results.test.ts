/**
 * What a batch writes per item (decision 39): one result row, whose provider answer is not a second copy of
 * the result when the provider answered with the result itself (every built-in), read back the same.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import { RunReadModel } from "@enrich/adapters/postgres/RunReadModel"
import { RunExecutor } from "../src/RunExecutor.ts"
import { executorWith } from "./support/Executor.ts"
import { listRun } from "./support/ListRuns.ts"

const Live = executorWith({ ENRICH_BATCH_SIZE: "10" })

layer(Live, { timeout: 120_000, excludeTestServices: true })("Item results (integration)", (it) => {
  it.effect("a_builtin_result_is_stored_once_and_read_back_as_the_providers_answer", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const { workspace, runId } = yield* listRun("once", 3, {
        credits: 10,
        // and one without an email
        before: (workspaceId) =>
          Effect.asVoid(
            sql`INSERT INTO leads (id, workspace_id, type) VALUES (${`${workspaceId}-none`}, ${workspaceId}, 'person')`
          )
      })
      const outcome = yield* (yield* RunExecutor).runBatch({ runId, workspaceId: workspace.id }, `${runId}/b1`)
      assert.strictEqual(outcome.claimed, 4)

      const rows = yield* sql<{ lead_id: string; copy: boolean; is_result: boolean; attribute: unknown }>`
        SELECT r.lead_id, r.provider_result IS NOT NULL AS copy, r.provider_result_is_result AS is_result,
               l.attributes -> 'email_validation' AS attribute
        FROM run_items r JOIN leads l ON l.id = r.lead_id
        WHERE r.run_id = ${runId} AND r.recorded_at IS NOT NULL ORDER BY r.lead_id`
      assert.strictEqual(rows.length, 4)
      for (const row of rows) assert.deepStrictEqual([row.copy, row.is_result], [false, true], row.lead_id)

      const listed = yield* (yield* RunReadModel).listItems(workspace.id, runId, {
        status: undefined,
        leadId: undefined,
        cursor: undefined,
        limit: 10
      })
      const items = Option.getOrThrow(listed).items
      assert.strictEqual(items.length, 4)
      for (const item of items) {
        assert.strictEqual(item.status, "completed")
        assert.isNotNull(item.result)
        // the provider's answer reads as it was: the result itself
        assert.deepStrictEqual(item.metadata.result, item.result)
        // and the Lead's attribute holds the same value
        assert.deepStrictEqual(rows.find((r) => r.lead_id === item.leadId)?.attribute, item.result)
      }
      const none = items.find((i) => i.leadId === `${workspace.id}-none`) as any
      assert.strictEqual(none.result.found, false)
    })
  )
})
