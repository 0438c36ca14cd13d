/**
 * The database of a process: `DATABASE_URL` when set, otherwise an embedded
 * PostgreSQL 18 kept in `ENRICH_DATA_DIR` (default `.data/`), started with the
 * process and stopped with it. Migrations run before anything else uses it.
 */
import { PgClient } from "@effect/sql-pg"
import { Config, Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { startEmbeddedPostgres } from "./EmbeddedPostgres.ts"
import { MigrationsLive } from "./Migrations.ts"
import { retryTransient } from "./Transient.ts"

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

/**
 * Every connection's limits (startup parameters): no statement runs longer than
 * `ENRICH_DB_STATEMENT_TIMEOUT_MS` (default 30 s) and none waits for a lock longer than
 * `ENRICH_DB_LOCK_TIMEOUT_MS` (default 10 s); `0` lifts a limit. A client's request can therefore not
 * hold a connection of the pool for ever; the operator's long work (the rebuild, migrations) lifts them
 * in its own transaction (`SET LOCAL`).
 */
const connectionLimits = Config.all({
  statementTimeoutMs: Config.Int("ENRICH_DB_STATEMENT_TIMEOUT_MS").pipe(Config.withDefault(30_000)),
  lockTimeoutMs: Config.Int("ENRICH_DB_LOCK_TIMEOUT_MS").pipe(Config.withDefault(10_000))
})

export const PgLive = Layer.unwrap(
  Effect.gen(function* () {
    const { url } = yield* DatabaseUrl
    const maxConnections = yield* Config.Int("ENRICH_DB_MAX_CONNECTIONS").pipe(Config.withDefault(10))
    const limits = yield* connectionLimits
    return PgClient.layer({
      url,
      maxConnections,
      startupParameters: {
        statement_timeout: String(Math.max(0, limits.statementTimeoutMs)),
        lock_timeout: String(Math.max(0, limits.lockTimeoutMs))
      }
    })
  })
)

/**
 * The SqlClient whose outermost transactions run again when they fail transiently (a deadlock's victim, a
 * serialization failure, a lock timeout, a lost connection; ./Transient.ts): PostgreSQL rolled all of it back
 * and asks for exactly that, so a request that lost a deadlock is answered, not a 500 (decision 48). A
 * transaction inside another (a savepoint) is left to the outer one.
 */
const RetryingTransactions = Layer.effect(
  SqlClient.SqlClient,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const withTransaction: SqlClient.SqlClient["withTransaction"] = (effect) =>
      Effect.flatMap(Effect.serviceOption(sql.transactionService), (outer) =>
        Option.isSome(outer)
          ? sql.withTransaction(effect)
          : retryTransient("a transaction")(sql.withTransaction(effect))
      )
    const client = Object.assign((...args: Parameters<typeof sql>) => sql(...args), sql, { withTransaction })
    ;(client as { safe?: unknown }).safe = client
    return client as SqlClient.SqlClient
  })
)

/** SqlClient with migrations applied. Needs a DatabaseUrl. */
export const DatabaseLive = MigrationsLive.pipe(Layer.provideMerge(Layer.provideMerge(RetryingTransactions, PgLive)))
