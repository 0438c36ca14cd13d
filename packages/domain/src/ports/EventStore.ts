/**
 * The event store port. Every append outcome is named: `Appended` (also the
 * answer to the retry of an append that already happened), the
 * `WrongExpectedVersion` refusal carrying the stream's actual version, or
 * `EventIdsPartiallyAppended` when some of the event ids are already stored
 * elsewhere than the retry says.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"

export type ExpectedVersion =
  | { readonly _tag: "Any" }
  | { readonly _tag: "NoStream" }
  | { readonly _tag: "StreamExists" }
  | { readonly _tag: "Exact"; readonly version: number }

export const ExpectedVersion = {
  any: { _tag: "Any" } as ExpectedVersion,
  noStream: { _tag: "NoStream" } as ExpectedVersion,
  streamExists: { _tag: "StreamExists" } as ExpectedVersion,
  exact: (version: number): ExpectedVersion => (version === 0 ? { _tag: "NoStream" } : { _tag: "Exact", version }),
  /** Whether a stream at version `actual` (null: no stream) satisfies `expected`. */
  matches: (expected: ExpectedVersion, actual: number | null): boolean => {
    switch (expected._tag) {
      case "Any":
        return true
      case "NoStream":
        return actual === null
      case "StreamExists":
        return actual !== null
      case "Exact":
        return actual === expected.version
    }
  },
  /** `expected` as `WrongExpectedVersion.expected` shows it. */
  describe: (expected: ExpectedVersion): string =>
    expected._tag === "Exact" ? String(expected.version) : expected._tag
}

export interface NewEvent {
  readonly eventId: string
  readonly type: string
  readonly version: number
  readonly data: unknown
}

export interface EventMetadata {
  readonly correlationId?: string | undefined
  readonly causationId?: string | undefined
  readonly actor?: string | undefined
  readonly requestId?: string | undefined
}

/**
 * Who and what caused the commands of the current fiber (the API key, the
 * request id, the worker): set at the edge, read by the stores when they
 * append, so every event says where it came from.
 */
export const CommandMetadata = Context.Reference<EventMetadata>("@enrich/domain/ports/EventStore/CommandMetadata", {
  defaultValue: () => ({})
})

export interface RecordedEvent extends NewEvent {
  readonly streamId: string
  readonly streamVersion: number
  readonly globalPosition: bigint
  readonly metadata: EventMetadata
  readonly createdAt: string
}

/**
 * A successful append, or the retry of one: then `nextVersion` and the
 * positions are those of the events already stored, and nothing is written.
 */
export interface Appended {
  readonly _tag: "Appended"
  /** the stream's version after the append (the version of its last event) */
  readonly nextVersion: number
  /** global position of the first appended event; 0n when no event was given */
  readonly firstPosition: bigint
  /** global position of the last appended event; 0n when no event was given */
  readonly lastPosition: bigint
}

export class WrongExpectedVersion extends Schema.TaggedError<WrongExpectedVersion>()("WrongExpectedVersion", {
  streamId: Schema.String,
  expected: Schema.String,
  actual: Schema.NullOr(Schema.Int)
}) {}

/**
 * Some of the appended event ids are already stored, but not as this very
 * append (not all of them, or in another stream, or at other versions): the
 * append is neither new nor a retry. `eventIds` are the ids already stored.
 */
export class EventIdsPartiallyAppended extends Schema.TaggedError<EventIdsPartiallyAppended>()(
  "EventIdsPartiallyAppended",
  {
    streamId: Schema.String,
    eventIds: Schema.Array(Schema.String)
  }
) {}

/** Where the store already holds one of the event ids of an append. */
export interface StoredEventId {
  readonly eventId: string
  readonly streamId: string
  readonly streamVersion: number
  readonly globalPosition: bigint
}

/**
 * The outcome of an append some of whose event ids are already stored
 * (`stored`, in any order): the original `Appended` when all of them are, in
 * this stream, at consecutive versions in the order given (the retry of an
 * append whose answer was lost); `EventIdsPartiallyAppended` otherwise.
 */
export const retriedAppend = (
  streamId: string,
  eventIds: ReadonlyArray<string>,
  stored: ReadonlyArray<StoredEventId>
): Appended | EventIdsPartiallyAppended => {
  const byId = new Map(stored.map((e) => [e.eventId, e]))
  const found = eventIds.flatMap((id) => byId.get(id) ?? [])
  const first = found[0]
  const last = found[found.length - 1]
  const isRetry =
    first !== undefined &&
    last !== undefined &&
    found.length === eventIds.length &&
    found.every((e, i) => e.streamId === streamId && e.streamVersion === first.streamVersion + i)
  return isRetry
    ? {
        _tag: "Appended",
        nextVersion: last.streamVersion,
        firstPosition: first.globalPosition,
        lastPosition: last.globalPosition
      }
    : new EventIdsPartiallyAppended({ streamId, eventIds: found.map((e) => e.eventId) })
}

export class EventStoreError extends Schema.TaggedError<EventStoreError>()("EventStoreError", {
  message: Schema.String,
  cause: Schema.Defect()
}) {}

/** One page of the global log. */
export interface GlobalPage {
  readonly events: ReadonlyArray<RecordedEvent>
  /** the position of the last event of the page, or the `after` asked when the page is empty */
  readonly lastPosition: bigint
}

export class EventStore extends Context.Service<
  EventStore,
  {
    /**
     * Appends `events` to the stream if its version is `expected`. Appending
     * again events whose ids are all already stored in this stream at these
     * versions (the retry of an append whose outcome was lost) writes nothing
     * and returns the original `Appended`, whatever `expected` says.
     */
    readonly append: (input: {
      readonly streamId: string
      readonly streamType: string
      readonly workspaceId: string
      readonly expected: ExpectedVersion
      readonly events: ReadonlyArray<NewEvent>
      readonly metadata?: EventMetadata | undefined
    }) => Effect.Effect<Appended, WrongExpectedVersion | EventIdsPartiallyAppended | EventStoreError>
    /** The stream's events in version order; with `after`, only those with a higher stream version. */
    readonly readStream: (
      streamId: string,
      options?: { readonly after?: number | undefined }
    ) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreError>
    /**
     * The global log after position `after` (0n: from the start), in position
     * order, at most `limit` events. A page stops before the first event that
     * is not settled yet (written by a transaction that is not older than every
     * transaction still in flight), so an append that commits late is not
     * passed over by a reader that saves `lastPosition` and asks again.
     */
    readonly readAll: (options: {
      readonly after: bigint
      readonly limit: number
    }) => Effect.Effect<GlobalPage, EventStoreError>
  }
>()("@enrich/domain/ports/EventStore") {}
