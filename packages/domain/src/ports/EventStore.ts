/**
 * The event store port. Every append outcome is named: `Appended`, or the
 * `WrongExpectedVersion` refusal carrying the stream's actual version.
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
  exact: (version: number): ExpectedVersion => (version === 0 ? { _tag: "NoStream" } : { _tag: "Exact", version })
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

export interface RecordedEvent extends NewEvent {
  readonly streamId: string
  readonly streamVersion: number
  readonly globalPosition: bigint
  readonly metadata: EventMetadata
  readonly createdAt: string
}

export interface Appended {
  readonly _tag: "Appended"
  readonly nextVersion: number
}

export class WrongExpectedVersion extends Schema.TaggedError<WrongExpectedVersion>()("WrongExpectedVersion", {
  streamId: Schema.String,
  expected: Schema.String,
  actual: Schema.NullOr(Schema.Int)
}) {}

export class EventStoreError extends Schema.TaggedError<EventStoreError>()("EventStoreError", {
  message: Schema.String,
  cause: Schema.Defect()
}) {}

export class EventStore extends Context.Service<
  EventStore,
  {
    readonly append: (input: {
      readonly streamId: string
      readonly streamType: string
      readonly workspaceId: string
      readonly expected: ExpectedVersion
      readonly events: ReadonlyArray<NewEvent>
      readonly metadata?: EventMetadata | undefined
    }) => Effect.Effect<Appended, WrongExpectedVersion | EventStoreError>
    readonly readStream: (streamId: string) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreError>
  }
>()("@enrich/domain/ports/EventStore") {}
