/**
 * The database of the commands that work on the event store (`DATABASE_URL`; never an
 * embedded one): a small pool (the adapters' `directDatabase`), the EventStore port and the
 * audit read model (`AuditReadModel`: every statement of these commands) over it, and database
 * failures as exit 5. The CLI holds no SQL and no database client of its own.
 * Kept apart from Audit.ts so `audit credits` and `events tail` load no projection code.
 */
import { Config, Effect, Layer, Option, Redacted } from "effect"
import { AuditReadModel, directDatabase } from "@enrich/adapters/postgres/AuditReadModel"
import { EventStorePgLive } from "@enrich/adapters/postgres/EventStorePg"
import * as CreditAccount from "@enrich/domain/credits/CreditAccount"
import type { RecordedEvent } from "@enrich/domain/ports/EventStore"
import { decodeRunEvent } from "@enrich/domain/runs/RunEvents"
import { CliFailure, errorBody, fail } from "./Output.ts"

type DirectDatabase = Layer.Layer<Layer.Success<ReturnType<typeof directDatabase>>, unknown>

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
      return Layer.effectDiscard(missing) as DirectDatabase
    }
    return directDatabase(Redacted.make(url.value), 2) as DirectDatabase
  })
)

/** The database, the event store and the audit read model. */
const DatabaseLive = Layer.mergeAll(EventStorePgLive, AuditReadModel.layer).pipe(Layer.provideMerge(DatabaseLayer))

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

/** Runs `effect` with the database, the event store and the audit read model; a database failure exits 5. */
export const withDatabase = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provide(DatabaseLive),
    Effect.catchIf(
      (error) => !(error instanceof CliFailure),
      (error) => fail(errorBody("DATABASE_ERROR", describe(error)))
    )
  ) as Effect.Effect<A, CliFailure, Exclude<R, Layer.Success<typeof DatabaseLive>>>

export const decodeCredit = (e: RecordedEvent) => CreditAccount.decodeCreditEvent(e.type, e.version, e.data)
export const decodeRun = (e: RecordedEvent) => decodeRunEvent(e.type, e.version, e.data)
