/** Handlers of the system group. */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { HttpApiBuilder } from "effect/http-api"
import { latestKnownMigration } from "@enrich/adapters/postgres/Migrations"
import { EnrichApi } from "../../api/Api.ts"
import { Metrics } from "../Metrics.ts"

export const SystemHandlers = HttpApiBuilder.group(
  EnrichApi,
  "system",
  Effect.fn(function* (handlers) {
    const sql = yield* SqlClient.SqlClient
    const metrics = yield* Metrics
    return handlers.handleAll({
      metrics: () => metrics.render,
      healthz: () => Effect.succeed({ status: "ok" as const }),
      readyz: () =>
        sql<{ latest: number | null }>`SELECT max(migration_id)::int AS latest FROM effect_sql_migrations`.pipe(
          Effect.map((rows) => {
            const migrations = (rows[0]?.latest ?? 0) >= latestKnownMigration
            return { status: migrations ? ("ready" as const) : ("not_ready" as const), database: true, migrations }
          }),
          Effect.timeout("2 seconds"),
          Effect.orElseSucceed(() => ({ status: "not_ready" as const, database: false, migrations: false }))
        )
    })
  })
)
