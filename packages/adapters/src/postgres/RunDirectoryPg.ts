/** The RunDirectory port on `enrichment_runs`. */
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { RunDirectory } from "@enrich/application/ports/RunDirectory"
import { awaitHandOver } from "../engine/HandOver.ts"
import { asStoreFailure } from "./Transient.ts"
import type { OutputTarget } from "@enrich/domain/catalog/Enrichment"
import type { WritePolicy } from "@enrich/domain/runs/RunEvents"

export const RunDirectoryPgLive = Layer.effect(
  RunDirectory,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return RunDirectory.of({
      find: (runId, workspaceId) =>
        sql<{ workspace_id: string; status: string; resolved_count: number; trigger_run_id: string | null }>`
          SELECT workspace_id, status, resolved_count, trigger_run_id FROM enrichment_runs
          WHERE id = ${runId} ${workspaceId === undefined ? sql`` : sql`AND workspace_id = ${workspaceId}`}`.pipe(
          Effect.map(([row]) =>
            row === undefined
              ? undefined
              : {
                  workspaceId: row.workspace_id,
                  status: row.status,
                  leadCount: row.resolved_count,
                  triggerRunId: row.trigger_run_id
                }
          ),
          asStoreFailure
        ),
      request: (runId, workspaceId) =>
        sql<{
          status: string
          settled: boolean
          count_failed: number
          enrichment: { id: string }
          input: { [key: string]: unknown } | null
          output: { target: OutputTarget; attributeKey: string; writePolicy: WritePolicy }
          dispatch_metadata: { displayRequest?: { fieldId: string } | null }
          scope: { listId: string | null }
        }>`
          SELECT status, settled_at IS NOT NULL AS settled, count_failed, enrichment, input, output, dispatch_metadata,
            scope
          FROM enrichment_runs WHERE id = ${runId} AND workspace_id = ${workspaceId}`.pipe(
          Effect.map(([row]) =>
            row === undefined
              ? undefined
              : {
                  status: row.status,
                  settled: row.settled,
                  failedCount: row.count_failed,
                  enrichmentId: row.enrichment.id,
                  input: row.input ?? {},
                  output: {
                    target: row.output.target,
                    attributeKey: row.output.attributeKey,
                    writePolicy: row.output.writePolicy
                  },
                  displayRequest: row.dispatch_metadata.displayRequest ?? null,
                  listId: row.scope.listId
                }
          ),
          asStoreFailure
        ),
      awaitHandOver: (runId) => asStoreFailure(awaitHandOver(sql, runId))
    })
  })
)
