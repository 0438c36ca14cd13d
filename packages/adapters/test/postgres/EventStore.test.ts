import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { type Appended, EventStore, ExpectedVersion, type RecordedEvent } from "@enrich/domain/ports/EventStore"
import { appendEventsPg, EventStorePgLive } from "../../src/postgres/EventStorePg.ts"
import {
  appendTo,
  eventStoreConformance,
  eventually,
  newEvent,
  readStream,
  uniqueStream
} from "../support/EventStoreConformance.ts"
import { TestDatabaseLive } from "../support/TestDatabase.ts"

const Live = EventStorePgLive.pipe(Layer.provideMerge(TestDatabaseLive))

eventStoreConformance("Postgres event store (integration)", Live)

const readAllOf = (streams: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const page = yield* store.readAll({ after: 0n, limit: 100 })
    return page.events.filter((e) => streams.includes(e.streamId))
  })

const positions = (events: ReadonlyArray<RecordedEvent>) => events.map((e) => [e.streamId, e.globalPosition])

layer(Live, { timeout: 120_000, excludeTestServices: true })(
  "Postgres event store, Postgres only (integration)",
  (it) => {
    it.effect("an_append_inside_a_rolled_back_transaction_leaves_nothing", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const stream = uniqueStream("rollback")
        yield* sql
          .withTransaction(
            Effect.andThen(appendTo(stream, ExpectedVersion.noStream, [newEvent(1)]), Effect.fail("abort"))
          )
          .pipe(Effect.ignore)
        assert.strictEqual((yield* readStream(stream)).length, 0)
        const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM event_streams WHERE stream_id = ${stream}`
        assert.strictEqual(rows[0]!.n, 0)
        const appended = yield* appendTo(stream, ExpectedVersion.noStream, [newEvent(1)])
        assert.strictEqual(appended.nextVersion, 1)
      })
    )

    it.effect("when_an_older_transaction_commits_late_read_all_holds_back_the_younger_events_until_then", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [a, b] = [uniqueStream("late-a"), uniqueStream("late-b")]
        const appendedInA = yield* Deferred.make<Appended>()
        const commitA = yield* Deferred.make<void>()
        // transaction A holds its own connection until it commits
        const transactionA = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              yield* Deferred.succeed(appendedInA, yield* appendTo(a, ExpectedVersion.noStream, [newEvent(1)]))
              yield* Deferred.await(commitA)
            })
          )
          .pipe(Effect.forkChild)
        const inA = yield* Deferred.await(appendedInA)
        const inB = yield* appendTo(b, ExpectedVersion.noStream, [newEvent(2)])
        assert.isTrue(inA.lastPosition < inB.firstPosition, "A drew its position first")
        assert.strictEqual((yield* readStream(b)).length, 1, "B is committed")
        assert.strictEqual((yield* readStream(a)).length, 0, "A is not")
        assert.deepStrictEqual(yield* readAllOf([a, b]), [], "B waits behind A, which is older and still open")

        yield* Deferred.succeed(commitA, undefined)
        yield* Fiber.join(transactionA)
        const read = yield* eventually(readAllOf([a, b]), (events) => events.length === 2)
        assert.deepStrictEqual(positions(read), [
          [a, inA.firstPosition],
          [b, inB.firstPosition]
        ])
      })
    )

    it.effect(
      "when_a_transaction_took_its_id_early_and_its_position_late_read_all_still_delivers_every_event_once",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const [w, x] = [uniqueStream("unsettled-w"), uniqueStream("settled-x")]
          /** A transaction that takes its transaction id, then waits for `go` and runs `then`. */
          const holdingAnXid = <A, E, R>(go: Deferred.Deferred<void>, then: Effect.Effect<A, E, R>) =>
            Effect.gen(function* () {
              const ready = yield* Deferred.make<void>()
              const fiber = yield* sql
                .withTransaction(
                  Effect.gen(function* () {
                    // as text: the driver decodes an unregistered type (xid8) as UTF-8 and can hang on it
                    yield* sql`SELECT pg_current_xact_id()::text AS xid`
                    yield* Deferred.succeed(ready, undefined)
                    yield* Deferred.await(go)
                    return yield* then
                  })
                )
                .pipe(Effect.forkChild)
              yield* Deferred.await(ready)
              return fiber
            })
          const [goX, goO] = [yield* Deferred.make<void>(), yield* Deferred.make<void>()]
          // X is older than O, O is older than W; X appends after W, while O is open
          const transactionX = yield* holdingAnXid(goX, appendTo(x, ExpectedVersion.noStream, [newEvent(2)]))
          const transactionO = yield* holdingAnXid(goO, Effect.void)
          const inW = yield* appendTo(w, ExpectedVersion.noStream, [newEvent(1)])
          yield* Deferred.succeed(goX, undefined)
          const inX = yield* Fiber.join(transactionX)
          assert.isTrue(inW.lastPosition < inX.firstPosition, "W took the lower position, X the higher one")
          // X is older than every open transaction: it is delivered; W (younger than the open O) waits
          const first = yield* eventually(readAllOf([w, x]), (events) => events.length === 1)
          assert.deepStrictEqual(positions(first), [[x, inX.firstPosition]])
          const store = yield* EventStore
          const cursor = first[0]!.globalPosition

          yield* Deferred.succeed(goO, undefined)
          yield* Fiber.join(transactionO)
          // position order alone would now have passed W over (its position is below X's): the
          // transaction-id order delivers it after the cursor
          const rest = yield* eventually(
            Effect.map(store.readAll({ after: cursor, limit: 100 }), (page) =>
              page.events.filter((e) => e.streamId === w)
            ),
            (events) => events.length === 1
          )
          assert.deepStrictEqual(positions(rest), [[w, inW.firstPosition]])
          assert.deepStrictEqual(positions(yield* readAllOf([w, x])), [
            [x, inX.firstPosition],
            [w, inW.firstPosition]
          ])
        })
    )

    it.effect("when_a_retry_races_the_uncommitted_original_it_waits_for_it_and_returns_the_original_outcome", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const stream = uniqueStream("retry-waits")
        yield* appendTo(stream, ExpectedVersion.noStream, [newEvent(0)])
        const batch = [newEvent(1), newEvent(2)]
        const appendedInOriginal = yield* Deferred.make<Appended>()
        const commitOriginal = yield* Deferred.make<void>()
        const original = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              yield* Deferred.succeed(appendedInOriginal, yield* appendTo(stream, ExpectedVersion.any, batch))
              yield* Deferred.await(commitOriginal)
            })
          )
          .pipe(Effect.forkChild)
        const outcome = yield* Deferred.await(appendedInOriginal)
        // the retry sees no stored id yet, so it goes for the stream row and waits on the original's lock
        const retry = yield* appendTo(stream, ExpectedVersion.any, batch).pipe(Effect.forkChild)
        const waiting = yield* eventually(
          sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          (rows) => rows[0]!.n === 1
        )
        assert.strictEqual(waiting[0]!.n, 1, "the retry waits for the original")
        yield* Deferred.succeed(commitOriginal, undefined)
        yield* Fiber.join(original)
        assert.deepStrictEqual(yield* Fiber.join(retry), outcome)
        const read = yield* readStream(stream)
        assert.deepStrictEqual(
          read.map((e) => [e.streamVersion, e.eventId]),
          [[1, read[0]!.eventId], ...batch.map((e, i) => [i + 2, e.eventId])]
        )
      })
    )

    it.effect(
      "when_an_append_is_retried_inside_a_transaction_it_returns_the_original_outcome_and_the_transaction_commits",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const stream = uniqueStream("retry-in-transaction")
          yield* appendTo(stream, ExpectedVersion.noStream, [newEvent(0)])
          const batch = [newEvent(1), newEvent(2)]
          const [first, again] = yield* sql.withTransaction(
            Effect.all([appendTo(stream, ExpectedVersion.any, batch), appendTo(stream, ExpectedVersion.any, batch)])
          )
          assert.deepStrictEqual(again, first)
          assert.strictEqual(first.nextVersion, 3)
          assert.strictEqual((yield* readStream(stream)).length, 3)
        })
    )

    it.effect("regression_an_append_scanned_every_event_to_check_its_ids_were_new", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        // enough events (and statistics saying so) that reading the table costs more than probing its key
        yield* appendTo(
          uniqueStream("many"),
          ExpectedVersion.noStream,
          Array.from({ length: 3000 }, (_, i) => newEvent(i))
        )
        yield* sql`ANALYZE events`
        // this backend's scans of the table (pg_stat_xact_*, read before and after in one transaction: the
        // counts are this backend's, not yet flushed)
        const scans = sql<{ seq_scan: number; idx_scan: number }>`
          SELECT seq_scan::int, coalesce(idx_scan, 0)::int AS idx_scan
          FROM pg_stat_xact_user_tables WHERE relname = 'events'`
        const [before, after] = yield* sql.withTransaction(
          Effect.gen(function* () {
            const before = (yield* scans)[0]!
            // a prepared statement's first runs are planned for their parameters, later ones generically: both
            for (let i = 0; i < 7; i++) yield* appendTo(uniqueStream("probe"), ExpectedVersion.noStream, [newEvent(i)])
            yield* appendTo(uniqueStream("probe"), ExpectedVersion.any, [newEvent(1), newEvent(2)])
            return [before, (yield* scans)[0]!] as const
          })
        )
        assert.strictEqual(after.seq_scan - before.seq_scan, 0)
        assert.isAtLeast(after.idx_scan - before.idx_scan, 8)
      })
    )

    it.effect("rows_carried_by_an_append_are_written_once_when_the_same_append_is_retried", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const stream = uniqueStream("carried")
        const event = newEvent(1)
        // a row written by the append's statement, gated on the append having happened (as a credit event's rows are)
        yield* sql`CREATE TABLE IF NOT EXISTS carried_rows (stream_id text NOT NULL, n int NOT NULL)`
        const carried = [
          sql`carried AS (INSERT INTO carried_rows (stream_id, n) SELECT ${stream}::text, 1 WHERE EXISTS (SELECT 1 FROM bumped))`
        ]
        const input = {
          streamId: stream,
          streamType: "test",
          workspaceId: "w",
          expected: ExpectedVersion.any,
          events: [event]
        }
        const first = yield* appendEventsPg(sql, input, carried)
        // the same events again (a retry): `Appended` as before, and nothing written a second time
        const again = yield* appendEventsPg(sql, input, carried)
        assert.strictEqual(again.nextVersion, first.nextVersion)
        const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM carried_rows WHERE stream_id = ${stream}`
        assert.strictEqual(rows[0]!.n, 1)
        assert.strictEqual((yield* readStream(stream)).length, 1)
      })
    )
  }
)
