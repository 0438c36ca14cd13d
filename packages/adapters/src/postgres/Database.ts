/**
 * The database of a process: `DATABASE_URL` when set, otherwise an embedded
 * PostgreSQL 18 kept in `ENRICH_DATA_DIR` (default `.data/`), started with the
 * process and stopped with it. Migrations run before anything else uses it.
 */
import { PgClient } from "@effect/sql-pg"
import { Config, Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import { startEmbeddedPostgres } from "./EmbeddedPostgres.ts"
import { MigrationsLive } from "./Migrations.ts"

export class EmbeddedPostgresError extends Schema.TaggedError<EmbeddedPostgresError>()("EmbeddedPostgresError", {
  message: Schema.String
}) {}

export class DatabaseUrl extends Context.Service<
  DatabaseUrl,
  { readonly url: Redacted.Redacted<string>; readonly embedded: boolean }
>()("@enrich/adapters/postgres/DatabaseUrl") {
  static readonly fromEnv = Layer.effect(
    DatabaseUrl,
    Effect.gen(function* () {
      const given = yield* Config.option(Config.String("DATABASE_URL"))
      if (Option.isSome(given) && given.value !== "") {
        return DatabaseUrl.of({ url: Redacted.make(given.value), embedded: false })
      }
      const dataDir = yield* Config.String("ENRICH_DATA_DIR").pipe(Config.withDefault(".data"))
      const pg = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: () => startEmbeddedPostgres({ dataDir }),
          catch: (cause) =>
            new EmbeddedPostgresError({ message: cause instanceof Error ? cause.message : String(cause) })
        }),
        (running) => Effect.promise(() => running.stop())
      ).pipe(Effect.orDie)
      yield* Effect.logInfo(`embedded PostgreSQL 18 started (data in ${dataDir})`)
      return DatabaseUrl.of({ url: Redacted.make(pg.url), embedded: true })
    })
  )

  static readonly make = (url: string) =>
    Layer.succeed(DatabaseUrl, DatabaseUrl.of({ url: Redacted.make(url), embedded: false }))
}

export const PgLive = Layer.unwrap(
  Effect.gen(function* () {
    const { url } = yield* DatabaseUrl
    const maxConnections = yield* Config.Int("ENRICH_DB_MAX_CONNECTIONS").pipe(Config.withDefault(10))
    return PgClient.layer({ url, maxConnections })
  })
)

/** SqlClient with migrations applied. Needs a DatabaseUrl. */
export const DatabaseLive = MigrationsLive.pipe(Layer.provideMerge(PgLive))
