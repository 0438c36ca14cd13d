import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { EventStore, ExpectedVersion, type NewEvent } from "@enrich/domain/ports/EventStore"
import { uuidv7 } from "../../src/Ids.ts"
import { EventStorePgLive } from "../../src/postgres/EventStorePg.ts"
import { TestDatabaseLive } from "../support/TestDatabase.ts"

const event = (n: number): NewEvent => ({ eventId: uuidv7(), type: "Noted", version: 1, data: { n } })

const append = (streamId: string, expected: ExpectedVersion, events: ReadonlyArray<NewEvent>) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    return yield* store.append({
      streamId,
      streamType: "test",
      workspaceId: "ws",
      expected,
      events,
      metadata: { actor: "test" }
    })
  })

const Live = EventStorePgLive.pipe(Layer.provideMerge(TestDatabaseLive))

layer(Live, { timeout: 120_000, excludeTestServices: true })("Postgres event store (integration)", (it) => {
  it.effect("when_appending_to_a_new_stream_with_no_stream_expected_the_versions_start_at_1", () =>
    Effect.gen(function* () {
      const appended = yield* append("s-new", ExpectedVersion.noStream, [event(1), event(2)])
      assert.deepStrictEqual(appended, { _tag: "Appended", nextVersion: 2 })
      const store = yield* EventStore
      const read = yield* store.readStream("s-new")
      assert.deepStrictEqual(
        read.map((e) => [e.streamVersion, e.data]),
        [
          [1, { n: 1 }],
          [2, { n: 2 }]
        ]
      )
      assert.deepStrictEqual(read[0]!.metadata, { actor: "test" })
      assert.isTrue(read[0]!.globalPosition < read[1]!.globalPosition)
    })
  )

  it.effect(
    "when_the_expected_version_is_stale_the_append_is_rejected_with_the_actual_version_and_writes_nothing",
    () =>
      Effect.gen(function* () {
        yield* append("s-stale", ExpectedVersion.noStream, [event(1), event(2), event(3)])
        const rejected = yield* Effect.flip(append("s-stale", ExpectedVersion.exact(2), [event(4)]))
        assert.strictEqual(rejected._tag, "WrongExpectedVersion")
        if (rejected._tag === "WrongExpectedVersion") assert.strictEqual(rejected.actual, 3)
        const store = yield* EventStore
        assert.strictEqual((yield* store.readStream("s-stale")).length, 3)
        const ok = yield* append("s-stale", ExpectedVersion.exact(3), [event(4)])
        assert.strictEqual(ok.nextVersion, 4)
      })
  )

  it.effect("when_no_stream_is_expected_but_it_exists_the_append_is_rejected", () =>
    Effect.gen(function* () {
      yield* append("s-exists", ExpectedVersion.noStream, [event(1)])
      const rejected = yield* Effect.flip(append("s-exists", ExpectedVersion.noStream, [event(2)]))
      assert.strictEqual(rejected._tag, "WrongExpectedVersion")
    })
  )

  it.effect("when_a_stream_is_expected_to_exist_but_does_not_the_append_is_rejected_with_no_actual_version", () =>
    Effect.gen(function* () {
      const rejected = yield* Effect.flip(append("s-missing", ExpectedVersion.streamExists, [event(1)]))
      assert.strictEqual(rejected._tag, "WrongExpectedVersion")
      if (rejected._tag === "WrongExpectedVersion") assert.isNull(rejected.actual)
    })
  )

  it.effect("when_any_version_is_expected_appends_always_succeed_in_order", () =>
    Effect.gen(function* () {
      yield* append("s-any", ExpectedVersion.any, [event(1)])
      const second = yield* append("s-any", ExpectedVersion.any, [event(2), event(3)])
      assert.strictEqual(second.nextVersion, 3)
    })
  )

  it.effect("when_two_appends_race_on_one_expected_version_exactly_one_wins", () =>
    Effect.gen(function* () {
      yield* append("s-race", ExpectedVersion.noStream, [event(0)])
      const outcomes = yield* Effect.all(
        Array.from({ length: 8 }, (_, i) => Effect.result(append("s-race", ExpectedVersion.exact(1), [event(i)]))),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(outcomes.filter((o) => o._tag === "Success").length, 1)
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM events WHERE stream_id = 's-race'`
      assert.strictEqual(rows[0]!.n, 2)
    })
  )

  it.effect("an_append_inside_a_rolled_back_transaction_leaves_nothing", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql
        .withTransaction(
          Effect.andThen(append("s-rollback", ExpectedVersion.noStream, [event(1)]), Effect.fail("abort"))
        )
        .pipe(Effect.ignore)
      const store = yield* EventStore
      assert.strictEqual((yield* store.readStream("s-rollback")).length, 0)
    })
  )
})
