/**
 * The in-memory event store, with the semantics of the Postgres one:
 * expected versions, the retry of an append answered with its original
 * outcome, event ids unique across streams, and one global log. An append
 * reads the clock, then checks and writes in one synchronous step, so
 * concurrent appends cannot interleave (no lock needed). Nothing is ever in
 * flight, so `readAll` has no fence to wait behind.
 */
import { DateTime, Effect, Layer } from "effect"
import {
  type Appended,
  type EventIdsPartiallyAppended,
  EventStore,
  EventStoreError,
  type EventMetadata,
  ExpectedVersion,
  type RecordedEvent,
  retriedAppend,
  WrongExpectedVersion
} from "@enrich/domain/ports/EventStore"

/** What Postgres' jsonb keeps of a value: a copy, without `undefined` fields. */
const asJson = <A>(value: A): A => JSON.parse(JSON.stringify(value ?? null))

export const EventStoreMemoryLive: Layer.Layer<EventStore> = Layer.effect(
  EventStore,
  Effect.sync(() => {
    const streams = new Map<string, Array<RecordedEvent>>()
    const byEventId = new Map<string, RecordedEvent>()
    /** every event, in position order: the event at position p is at index p - 1 */
    const log: Array<RecordedEvent> = []

    const append: EventStore["Service"]["append"] = ({ events, expected, metadata, streamId }) =>
      Effect.flatMap(DateTime.now, (now) =>
        Effect.suspend(
          (): Effect.Effect<Appended, WrongExpectedVersion | EventIdsPartiallyAppended | EventStoreError> => {
            const eventIds = events.map((e) => e.eventId)
            if (new Set(eventIds).size !== eventIds.length) {
              return Effect.fail(new EventStoreError({ message: "an append repeats an event id", cause: eventIds }))
            }
            const stored = eventIds.flatMap((id) => byEventId.get(id) ?? [])
            if (stored.length > 0) {
              const outcome = retriedAppend(streamId, eventIds, stored)
              return outcome._tag === "Appended" ? Effect.succeed(outcome) : Effect.fail(outcome)
            }
            const stream = streams.get(streamId)
            const actual = stream === undefined ? null : stream.length
            if (!ExpectedVersion.matches(expected, actual)) {
              return Effect.fail(
                new WrongExpectedVersion({ streamId, expected: ExpectedVersion.describe(expected), actual })
              )
            }
            if (events.length === 0) {
              return Effect.succeed<Appended>({
                _tag: "Appended",
                nextVersion: actual ?? 0,
                firstPosition: 0n,
                lastPosition: 0n
              })
            }
            const target = stream ?? []
            const createdAt = DateTime.formatIso(now)
            const recordedMetadata: EventMetadata = asJson(metadata ?? {})
            for (const e of events) {
              const recorded: RecordedEvent = {
                streamId,
                streamVersion: target.length + 1,
                globalPosition: BigInt(log.length + 1),
                eventId: e.eventId,
                type: e.type,
                version: e.version,
                data: asJson(e.data),
                metadata: recordedMetadata,
                createdAt
              }
              target.push(recorded)
              log.push(recorded)
              byEventId.set(e.eventId, recorded)
            }
            streams.set(streamId, target)
            return Effect.succeed<Appended>({
              _tag: "Appended",
              nextVersion: target.length,
              firstPosition: BigInt(log.length - events.length + 1),
              lastPosition: BigInt(log.length)
            })
          }
        )
      )

    const readStream: EventStore["Service"]["readStream"] = (streamId, options) =>
      Effect.sync(() => (streams.get(streamId) ?? []).filter((e) => e.streamVersion > (options?.after ?? 0)))

    const readAll: EventStore["Service"]["readAll"] = ({ after, limit }) =>
      Effect.sync(() => {
        const from = after < 0n ? 0 : Number(after)
        const events = log.slice(from, from + Math.max(0, Math.trunc(limit)))
        return { events, lastPosition: events[events.length - 1]?.globalPosition ?? after }
      })

    return EventStore.of({ append, readStream, readAll })
  })
)
