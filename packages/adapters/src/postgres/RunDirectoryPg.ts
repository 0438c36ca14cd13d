/** The RunDirectory port on `enrichment_runs`. */
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { RunDirectory } from "@enrich/application/ports/RunDirectory"
import { awaitHandOver } from "../engine/HandOver.ts"
import { asStoreFailure } from "./Transient.ts"

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
      awaitHandOver: (runId) => asStoreFailure(awaitHandOver(sql, runId))
    })
  })
)
