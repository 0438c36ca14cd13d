/**
 * Regression (its own file, so `events` starts empty): an append's "none of my event ids is stored yet"
 * check must not read the events table, whatever the table held when its connection planned the statement.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { ExpectedVersion } from "@enrich/domain/ports/EventStore"
import { EventStorePgLive } from "../../src/postgres/EventStorePg.ts"
import { appendTo, newEvent, uniqueStream } from "../support/EventStoreConformance.ts"
import { TestDatabaseLive } from "../support/TestDatabase.ts"

const Live = EventStorePgLive.pipe(Layer.provideMerge(TestDatabaseLive))

layer(Live, { timeout: 120_000, excludeTestServices: true })("Postgres event store, plans (integration)", (it) => {
  it.effect("regression_an_append_planned_on_an_empty_events_table_kept_scanning_it_as_it_grew", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      // this backend's scans of the table (pg_stat_xact_*, read as deltas in one transaction)
      const scans = sql<{ seq_scan: number }>`
        SELECT seq_scan::int FROM pg_stat_xact_user_tables WHERE relname = 'events'`
      const appends = (n: number, expected: ExpectedVersion) =>
        Effect.forEach(Array.from({ length: n }), (_, i) => appendTo(uniqueStream("plan"), expected, [newEvent(i)]), {
          discard: true
        })
      const seqScans = yield* sql.withTransaction(
        Effect.gen(function* () {
          // one connection (the transaction's) prepares the appends while the table is nearly empty: after five
          // runs PostgreSQL keeps a generic plan, and a plan made for a table of a page reads it
          yield* appends(7, ExpectedVersion.noStream)
          yield* appends(7, ExpectedVersion.any)
          // the table grows past what a scan should ever read, with nothing telling the cached plans
          yield* appendTo(
            uniqueStream("many"),
            ExpectedVersion.noStream,
            Array.from({ length: 5000 }, (_, i) => newEvent(i))
          )
          const before = (yield* scans)[0]!.seq_scan
          yield* appends(4, ExpectedVersion.noStream)
          yield* appends(4, ExpectedVersion.any)
          return (yield* scans)[0]!.seq_scan - before
        })
      )
      assert.strictEqual(seqScans, 0, "appends that read the events table")
    })
  )
})
