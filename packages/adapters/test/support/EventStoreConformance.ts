/**
 * The behaviour every EventStore implements, as `when_...` scenarios run
 * against one store per test file. Scenarios use their own streams (a random
 * suffix), so they also hold on a store that other scenarios wrote to.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import {
  type EventMetadata,
  EventStore,
  ExpectedVersion,
  type NewEvent,
  type RecordedEvent
} from "@enrich/domain/ports/EventStore"
import { uuidv7 } from "@enrich/domain/Ids"

export const newEvent = (n: number): NewEvent => ({ eventId: uuidv7(), type: "Noted", version: 1, data: { n } })

export const uniqueStream = (name: string): string => `${name}-${uuidv7()}`

export const appendTo = (
  streamId: string,
  expected: ExpectedVersion,
  events: ReadonlyArray<NewEvent>,
  metadata: EventMetadata = { actor: "test" }
) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    return yield* store.append({ streamId, streamType: "test", workspaceId: "ws", expected, events, metadata })
  })

export const readStream = (streamId: string) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    return yield* store.readStream(streamId)
  })

/** Every page of the global log after `after`, until an empty one. */
export const readAllPages = (after: bigint, limit: number) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const pages: Array<{ readonly events: ReadonlyArray<RecordedEvent>; readonly lastPosition: bigint }> = []
    let cursor = after
    for (;;) {
      const page = yield* store.readAll({ after: cursor, limit })
      if (page.events.length === 0) {
        assert.strictEqual(page.lastPosition, cursor, "an empty page leaves the position where it was")
        return { pages, lastPosition: cursor }
      }
      pages.push(page)
      cursor = page.lastPosition
    }
  })

/**
 * Repeats `read` until `done` holds (at most ~10 s). In Postgres a transaction
 * in flight anywhere in the cluster, another test file's too, holds back the
 * global log for a moment; nothing else does.
 */
export const eventually = <A, E, R>(read: Effect.Effect<A, E, R>, done: (a: A) => boolean) =>
  Effect.gen(function* () {
    for (let attempt = 0; ; attempt++) {
      const a = yield* read
      if (done(a) || attempt >= 200) return a
      yield* Effect.sleep("50 millis")
    }
  })

const versionsAndData = (events: ReadonlyArray<RecordedEvent>) => events.map((e) => [e.streamVersion, e.data])

export const eventStoreConformance = (name: string, live: Layer.Layer<EventStore, any, never>) =>
  layer(live, { timeout: 120_000, excludeTestServices: true })(name, (it) => {
    it.effect("when_appending_to_a_new_stream_with_no_stream_expected_the_versions_start_at_1", () =>
      Effect.gen(function* () {
        const stream = uniqueStream("new")
        const appended = yield* appendTo(stream, ExpectedVersion.noStream, [newEvent(1), newEvent(2)])
        assert.strictEqual(appended.nextVersion, 2)
        const read = yield* readStream(stream)
        assert.deepStrictEqual(versionsAndData(read), [
          [1, { n: 1 }],
          [2, { n: 2 }]
        ])
        assert.isTrue(read[0]!.globalPosition < read[1]!.globalPosition)
        assert.strictEqual(appended.firstPosition, read[0]!.globalPosition)
        assert.strictEqual(appended.lastPosition, read[1]!.globalPosition)
        assert.deepStrictEqual(
          read.map((e) => [e.streamId, e.type, e.version]),
          [
            [stream, "Noted", 1],
            [stream, "Noted", 1]
          ]
        )
        assert.isFalse(Number.isNaN(Date.parse(read[0]!.createdAt)))
      })
    )

    it.effect(
      "when_the_expected_version_is_stale_the_append_is_rejected_with_the_actual_version_and_writes_nothing",
      () =>
        Effect.gen(function* () {
          const stream = uniqueStream("stale")
          yield* appendTo(stream, ExpectedVersion.noStream, [newEvent(1), newEvent(2), newEvent(3)])
          const rejected = yield* Effect.flip(appendTo(stream, ExpectedVersion.exact(2), [newEvent(4)]))
          assert.strictEqual(rejected._tag, "WrongExpectedVersion")
          if (rejected._tag === "WrongExpectedVersion") {
            assert.strictEqual(rejected.actual, 3)
            assert.strictEqual(rejected.expected, "2")
            assert.strictEqual(rejected.streamId, stream)
          }
          assert.strictEqual((yield* readStream(stream)).length, 3)
          const ok = yield* appendTo(stream, ExpectedVersion.exact(3), [newEvent(4)])
          assert.strictEqual(ok.nextVersion, 4)
          assert.deepStrictEqual(versionsAndData(yield* readStream(stream)).at(-1), [4, { n: 4 }])
        })
    )

    it.effect("when_no_stream_is_expected_but_it_exists_the_append_is_rejected_with_the_actual_version", () =>
      Effect.gen(function* () {
        const stream = uniqueStream("exists")
        yield* appendTo(stream, ExpectedVersion.noStream, [newEvent(1)])
        const rejected = yield* Effect.flip(appendTo(stream, ExpectedVersion.noStream, [newEvent(2)]))
        assert.strictEqual(rejected._tag, "WrongExpectedVersion")
        if (rejected._tag === "WrongExpectedVersion") {
          assert.strictEqual(rejected.actual, 1)
          assert.strictEqual(rejected.expected, "NoStream")
        }
        assert.strictEqual((yield* readStream(stream)).length, 1)
      })
    )

    it.effect("when_a_stream_is_expected_to_exist_but_does_not_the_append_is_rejected_with_no_actual_version", () =>
      Effect.gen(function* () {
        const stream = uniqueStream("missing")
        const rejected = yield* Effect.flip(appendTo(stream, ExpectedVersion.streamExists, [newEvent(1)]))
        assert.strictEqual(rejected._tag, "WrongExpectedVersion")
        if (rejected._tag === "WrongExpectedVersion") {
          assert.isNull(rejected.actual)
          assert.strictEqual(rejected.expected, "StreamExists")
        }
        assert.strictEqual((yield* readStream(stream)).length, 0)
        yield* appendTo(stream, ExpectedVersion.noStream, [newEvent(1)])
        const appended = yield* appendTo(stream, ExpectedVersion.streamExists, [newEvent(2)])
        assert.strictEqual(appended.nextVersion, 2)
      })
    )

    it.effect("when_any_version_is_expected_appends_always_succeed_in_order", () =>
      Effect.gen(function* () {
        const stream = uniqueStream("any")
        const first = yield* appendTo(stream, ExpectedVersion.any, [newEvent(1)])
        assert.strictEqual(first.nextVersion, 1)
        const second = yield* appendTo(stream, ExpectedVersion.any, [newEvent(2), newEvent(3)])
        assert.strictEqual(second.nextVersion, 3)
        assert.isTrue(second.firstPosition > first.lastPosition)
        assert.deepStrictEqual(versionsAndData(yield* readStream(stream)), [
          [1, { n: 1 }],
          [2, { n: 2 }],
          [3, { n: 3 }]
        ])
      })
    )

    it.effect("when_no_events_are_given_the_expected_version_is_still_checked_and_nothing_is_written", () =>
      Effect.gen(function* () {
        const stream = uniqueStream("empty")
        const rejected = yield* Effect.flip(appendTo(stream, ExpectedVersion.streamExists, []))
        assert.strictEqual(rejected._tag, "WrongExpectedVersion")
        const nothing = yield* appendTo(stream, ExpectedVersion.noStream, [])
        assert.deepStrictEqual(nothing, { _tag: "Appended", nextVersion: 0, firstPosition: 0n, lastPosition: 0n })
        yield* appendTo(stream, ExpectedVersion.noStream, [newEvent(1)])
        const same = yield* appendTo(stream, ExpectedVersion.exact(1), [])
        assert.strictEqual(same.nextVersion, 1)
        const stale = yield* Effect.flip(appendTo(stream, ExpectedVersion.exact(5), []))
        assert.strictEqual(stale._tag, "WrongExpectedVersion")
        if (stale._tag === "WrongExpectedVersion") assert.strictEqual(stale.actual, 1)
        assert.strictEqual((yield* readStream(stream)).length, 1)
      })
    )

    it.effect("when_the_same_events_are_appended_again_the_original_outcome_is_returned_and_nothing_is_written", () =>
      Effect.gen(function* () {
        const stream = uniqueStream("retry")
        yield* appendTo(stream, ExpectedVersion.noStream, [newEvent(0)])
        const batch = [newEvent(1), newEvent(2)]
        const original = yield* appendTo(stream, ExpectedVersion.exact(1), batch)
        assert.strictEqual(original.nextVersion, 3)
        // the stream moves on before the retry arrives
        yield* appendTo(stream, ExpectedVersion.exact(3), [newEvent(3)])
        for (const expected of [
          ExpectedVersion.exact(1),
          ExpectedVersion.exact(4),
          ExpectedVersion.noStream,
          ExpectedVersion.streamExists,
          ExpectedVersion.any
        ]) {
          const again = yield* appendTo(stream, expected, batch)
          assert.deepStrictEqual(again, original, `retry expecting ${ExpectedVersion.describe(expected)}`)
        }
        const read = yield* readStream(stream)
        assert.deepStrictEqual(versionsAndData(read), [
          [1, { n: 0 }],
          [2, { n: 1 }],
          [3, { n: 2 }],
          [4, { n: 3 }]
        ])
        assert.deepStrictEqual(
          read.slice(1, 3).map((e) => e.eventId),
          batch.map((e) => e.eventId)
        )
        // the retry of the append that created a stream
        const fresh = uniqueStream("retry-create")
        const creation = [newEvent(1), newEvent(2), newEvent(3)]
        const created = yield* appendTo(fresh, ExpectedVersion.noStream, creation)
        assert.deepStrictEqual(yield* appendTo(fresh, ExpectedVersion.noStream, creation), created)
        assert.strictEqual((yield* readStream(fresh)).length, 3)
      })
    )

    it.effect(
      "when_only_some_of_the_events_were_appended_the_append_fails_with_event_ids_partially_appended_and_writes_nothing",
      () =>
        Effect.gen(function* () {
          const stream = uniqueStream("partial")
          const [a, b] = [newEvent(1), newEvent(2)]
          yield* appendTo(stream, ExpectedVersion.noStream, [a, b])
          const other = uniqueStream("partial-other")
          yield* appendTo(other, ExpectedVersion.noStream, [newEvent(9)])
          const cases: ReadonlyArray<
            readonly [string, string, ExpectedVersion, ReadonlyArray<NewEvent>, ReadonlyArray<string>]
          > = [
            ["with a new event", stream, ExpectedVersion.exact(2), [a, b, newEvent(3)], [a.eventId, b.eventId]],
            ["with a new event first", stream, ExpectedVersion.any, [newEvent(3), b], [b.eventId]],
            ["in another order", stream, ExpectedVersion.exact(2), [b, a], [b.eventId, a.eventId]],
            ["in another stream", other, ExpectedVersion.exact(1), [a, b], [a.eventId, b.eventId]],
            ["in a new stream", uniqueStream("partial-new"), ExpectedVersion.noStream, [a], [a.eventId]]
          ]
          for (const [label, target, expected, events, taken] of cases) {
            const failed = yield* Effect.flip(appendTo(target, expected, events))
            assert.strictEqual(failed._tag, "EventIdsPartiallyAppended", label)
            if (failed._tag === "EventIdsPartiallyAppended") {
              assert.strictEqual(failed.streamId, target, label)
              assert.deepStrictEqual(failed.eventIds, taken, label)
            }
          }
          assert.deepStrictEqual(
            (yield* readStream(stream)).map((e) => e.eventId),
            [a.eventId, b.eventId]
          )
          assert.strictEqual((yield* readStream(other)).length, 1)
        })
    )

    it.effect("when_the_same_append_races_with_its_retries_every_attempt_returns_the_one_outcome", () =>
      Effect.gen(function* () {
        const stream = uniqueStream("retry-race")
        yield* appendTo(stream, ExpectedVersion.noStream, [newEvent(0)])
        const batch = [newEvent(1), newEvent(2)]
        const outcomes = yield* Effect.all(
          Array.from({ length: 10 }, () => appendTo(stream, ExpectedVersion.any, batch)),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(outcomes[0]!.nextVersion, 3)
        for (const outcome of outcomes) assert.deepStrictEqual(outcome, outcomes[0])
        assert.deepStrictEqual(
          (yield* readStream(stream)).map((e) => e.eventId).slice(1),
          batch.map((e) => e.eventId)
        )
      })
    )

    it.effect("when_one_append_repeats_an_event_id_it_is_refused_and_writes_nothing", () =>
      Effect.gen(function* () {
        const stream = uniqueStream("twice")
        const e = newEvent(1)
        const failed = yield* Effect.flip(appendTo(stream, ExpectedVersion.noStream, [e, e]))
        assert.strictEqual(failed._tag, "EventStoreError")
        assert.strictEqual((yield* readStream(stream)).length, 0)
      })
    )

    it.effect("when_reading_a_stream_after_a_version_only_the_later_events_come", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const stream = uniqueStream("after")
        yield* appendTo(stream, ExpectedVersion.noStream, [newEvent(1), newEvent(2), newEvent(3)])
        const later = yield* store.readStream(stream, { after: 1 })
        assert.deepStrictEqual(
          later.map((e) => [e.streamVersion, e.data]),
          [
            [2, { n: 2 }],
            [3, { n: 3 }]
          ]
        )
        assert.deepStrictEqual(yield* store.readStream(stream, { after: 3 }), [])
        assert.strictEqual((yield* store.readStream(stream, { after: 0 })).length, 3)
      })
    )

    it.effect("when_metadata_is_given_it_round_trips_with_the_events", () =>
      Effect.gen(function* () {
        const stream = uniqueStream("metadata")
        const metadata = { correlationId: "corr-1", causationId: "cause-1", actor: "user:42", requestId: "req-7" }
        yield* appendTo(stream, ExpectedVersion.noStream, [newEvent(1), newEvent(2)], metadata)
        yield* appendTo(stream, ExpectedVersion.exact(2), [newEvent(3)], {})
        const read = yield* readStream(stream)
        assert.deepStrictEqual(read[0]!.metadata, metadata)
        assert.deepStrictEqual(read[1]!.metadata, metadata)
        assert.deepStrictEqual(read[2]!.metadata, {})
      })
    )

    it.effect("when_reading_all_events_they_come_in_position_order_across_streams_and_page_with_after_and_limit", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const start = (yield* readAllPages(0n, 1000)).lastPosition
        const [x, y] = [uniqueStream("all-x"), uniqueStream("all-y")]
        const appended = [
          yield* appendTo(x, ExpectedVersion.noStream, [newEvent(1), newEvent(2)]),
          yield* appendTo(y, ExpectedVersion.noStream, [newEvent(3)]),
          yield* appendTo(x, ExpectedVersion.exact(2), [newEvent(4), newEvent(5)]),
          yield* appendTo(y, ExpectedVersion.exact(1), [newEvent(6)])
        ]
        const mine = (events: ReadonlyArray<RecordedEvent>) =>
          events.filter((e) => e.streamId === x || e.streamId === y)
        const { pages } = yield* eventually(
          readAllPages(start, 2),
          ({ pages }) => mine(pages.flatMap((p) => p.events)).length === 6
        )
        const all = pages.flatMap((p) => p.events)
        assert.deepStrictEqual(
          mine(all).map((e) => [e.streamId, e.streamVersion, e.data]),
          [
            [x, 1, { n: 1 }],
            [x, 2, { n: 2 }],
            [y, 1, { n: 3 }],
            [x, 3, { n: 4 }],
            [x, 4, { n: 5 }],
            [y, 2, { n: 6 }]
          ]
        )
        for (const page of pages) {
          assert.isAtMost(page.events.length, 2)
          assert.strictEqual(page.lastPosition, page.events.at(-1)!.globalPosition)
        }
        const positions = all.map((e) => e.globalPosition)
        assert.isTrue(
          positions.every((p, i) => p > (i === 0 ? start : positions[i - 1]!)),
          "increasing, after `after`"
        )
        assert.deepStrictEqual(
          mine(all).map((e) => e.globalPosition),
          appended.flatMap((a) =>
            a.firstPosition === a.lastPosition ? [a.firstPosition] : [a.firstPosition, a.lastPosition]
          )
        )
        const whole = (yield* store.readAll({ after: 0n, limit: 1000 })).events.map((e) => e.globalPosition)
        assert.isAbove(whole.length, 10)
        assert.isTrue(
          whole.every((p, i) => i === 0 || p > whole[i - 1]!),
          "one big page is in position order too"
        )
        // a page starts right after `after`, and `limit` bounds it
        const third = mine(all)[2]!
        const fromThird = yield* store.readAll({ after: third.globalPosition - 1n, limit: 1 })
        assert.deepStrictEqual(
          fromThird.events.map((e) => e.eventId),
          [third.eventId]
        )
        assert.strictEqual(fromThird.lastPosition, third.globalPosition)
        const beyond = all.at(-1)!.globalPosition
        assert.deepStrictEqual(yield* store.readAll({ after: beyond, limit: 10 }), { events: [], lastPosition: beyond })
        assert.deepStrictEqual((yield* store.readAll({ after: start, limit: 0 })).events, [])
      })
    )

    it.effect("when_50_appends_race_on_one_expected_version_exactly_one_wins", () =>
      Effect.gen(function* () {
        const stream = uniqueStream("race")
        yield* appendTo(stream, ExpectedVersion.noStream, [newEvent(0)])
        const outcomes = yield* Effect.all(
          Array.from({ length: 50 }, (_, i) =>
            Effect.result(appendTo(stream, ExpectedVersion.exact(1), [newEvent(i + 1)]))
          ),
          { concurrency: "unbounded" }
        )
        const wins = outcomes.filter((o) => o._tag === "Success")
        assert.strictEqual(wins.length, 1)
        assert.strictEqual(wins[0]!.success.nextVersion, 2)
        for (const o of outcomes) {
          if (o._tag === "Failure") {
            assert.strictEqual(o.failure._tag, "WrongExpectedVersion")
            if (o.failure._tag === "WrongExpectedVersion") assert.strictEqual(o.failure.actual, 2)
          }
        }
        const read = yield* readStream(stream)
        assert.deepStrictEqual(
          read.map((e) => e.streamVersion),
          [1, 2]
        )
      })
    )
  })
