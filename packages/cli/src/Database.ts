/**
 * The database of the commands that work on the event store (`DATABASE_URL`; never an
 * embedded one): a small pool, the EventStore port over it, and database failures as exit 5.
 * Kept apart from Audit.ts so `audit credits` and `events tail` load no projection code.
 */
import { PgClient } from "@effect/sql-pg"
import { Config, Effect, Layer, Option, Redacted } from "effect"
import type { SqlClient } from "effect/sql"
import { EventStorePgLive } from "@enrich/adapters/postgres/EventStorePg"
import * as CreditAccount from "@enrich/domain/credits/CreditAccount"
import type { EventStore, RecordedEvent } from "@enrich/domain/ports/EventStore"
import { decodeRunEvent } from "@enrich/domain/runs/RunEvents"
import { CliFailure, errorBody, fail } from "./Output.ts"

const DatabaseLayer = Layer.unwrap(
  Effect.gen(function* () {
    const url = yield* Config.option(Config.String("DATABASE_URL")).pipe(Effect.orDie)
    if (Option.isNone(url) || url.value === "") {
      const missing = fail(
        errorBody(
          "VALIDATION_FAILED",
          "DATABASE_URL is not set: audit, events, replay and migrate work on the service's PostgreSQL directly"
        )
      )
      return Layer.effectDiscard(missing) as Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, unknown>
    }
    return PgClient.layer({ url: Redacted.make(url.value), maxConnections: 2 }) as Layer.Layer<
      PgClient.PgClient | SqlClient.SqlClient,
      unknown
    >
  })
)

/** An error and its causes, as one line ("read failed: connect ECONNREFUSED 127.0.0.1:5432"). */
const describe = (error: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = error
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    const message = current instanceof Error ? current.message : String(current)
    if (message !== "" && !parts.includes(message)) parts.push(message)
    current = (current as { cause?: unknown }).cause
  }
  return parts.join(": ")
}

/** Runs `effect` with the database and the event store; a database failure exits 5. */
export const withDatabase = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provide(EventStorePgLive.pipe(Layer.provideMerge(DatabaseLayer))),
    Effect.catchIf(
      (error) => !(error instanceof CliFailure),
      (error) => fail(errorBody("DATABASE_ERROR", describe(error)))
    )
  ) as Effect.Effect<A, CliFailure, Exclude<R, EventStore | SqlClient.SqlClient>>

export const decodeCredit = (e: RecordedEvent) => CreditAccount.decodeCreditEvent(e.type, e.version, e.data)
export const decodeRun = (e: RecordedEvent) => decodeRunEvent(e.type, e.version, e.data)
