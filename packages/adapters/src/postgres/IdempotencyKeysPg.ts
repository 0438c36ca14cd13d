/** The IdempotencyKeys port on `idempotency_keys` (its rules: domain/runs/Idempotency.ts). */
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { IdempotencyKeys } from "@enrich/application/ports/IdempotencyKeys"
import { idempotencyKeyRow } from "./projections/RunProjection.ts"
import { asStoreFailure } from "./Transient.ts"

export const IdempotencyKeysPgLive = Layer.effect(
  IdempotencyKeys,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return IdempotencyKeys.of({
      find: (workspaceId, key) =>
        sql<{ fingerprint: string; run_id: string }>`
          SELECT fingerprint, run_id FROM idempotency_keys WHERE workspace_id = ${workspaceId} AND key = ${key}`.pipe(
          Effect.map((rows) =>
            rows[0] === undefined ? undefined : { fingerprint: rows[0].fingerprint, runId: rows[0].run_id }
          ),
          asStoreFailure
        ),
      // the row the run's RunRequested projection writes (a no-op then; the row itself on a rebuild)
      claim: (row) =>
        sql`${idempotencyKeyRow(sql, row, sql`true`)} RETURNING 1`.pipe(
          Effect.map((rows) => rows.length > 0),
          asStoreFailure
        )
    })
  })
)
