/**
 * `events tail [--stream ID] [--from POSITION] [--follow]`: the event log as JSON lines on
 * stdout, straight from the event store (`DATABASE_URL`; stream ids and positions through the
 * adapters' AuditReadModel).
 *
 * - Without `--stream`: the global log through `EventStore.readAll`, which only hands out
 *   events of transactions older than every one still in flight, so a follower that keeps
 *   its position never passes over an append that commits late.
 * - With `--stream`: that stream's events in version order (`readStream` after the last
 *   version seen: appends to one stream are serialised, so nothing is passed over either).
 * - `--from POSITION`: start after the event at that global position (a position printed
 *   by an earlier tail); with `--stream`, skip the stream's events up to it.
 * - `--follow`: keep polling (`--interval-ms`, default 500) until SIGINT or SIGTERM, which
 *   end the command with exit 0.
 *
 * One line per event: `{ position, stream, version, type, schemaVersion, eventId, time,
 * metadata: { actor, requestId, correlationId, causationId }, data }`.
 */
import { Effect, Option } from "effect"
import { AuditReadModel } from "@enrich/adapters/postgres/AuditReadModel"
import { EventStore, type RecordedEvent } from "@enrich/domain/ports/EventStore"
import { withDatabase } from "./Database.ts"
import { errorBody, fail, untilStopped, writeOut } from "./Output.ts"

export interface TailOptions {
  readonly stream: Option.Option<string>
  readonly from: Option.Option<string>
  readonly follow: boolean
  readonly intervalMs: number
}

const PAGE = 500

const toLine = (e: RecordedEvent) =>
  `${JSON.stringify({
    position: e.globalPosition.toString(),
    stream: e.streamId,
    version: e.streamVersion,
    type: e.type,
    schemaVersion: e.version,
    eventId: e.eventId,
    time: e.createdAt,
    metadata: {
      actor: e.metadata.actor ?? null,
      requestId: e.metadata.requestId ?? null,
      correlationId: e.metadata.correlationId ?? null,
      causationId: e.metadata.causationId ?? null
    },
    data: e.data
  })}\n`

export const eventsTail = Effect.fn(function* (options: TailOptions) {
  const fromText = Option.getOrUndefined(options.from)
  if (fromText !== undefined && !/^\d+$/.test(fromText)) {
    return yield* fail(errorBody("VALIDATION_FAILED", `--from must be a global position (digits), got ${fromText}`))
  }
  if (!Number.isSafeInteger(options.intervalMs) || options.intervalMs < 10) {
    return yield* fail(errorBody("VALIDATION_FAILED", "--interval-ms must be at least 10"))
  }
  const from = BigInt(fromText ?? "0")
  if (options.follow) untilStopped.active = true
  yield* withDatabase(
    Effect.gen(function* () {
      const store = yield* EventStore
      const readModel = yield* AuditReadModel
      const write = (events: ReadonlyArray<RecordedEvent>) =>
        events.length === 0 ? Effect.void : writeOut(events.map(toLine).join(""))

      if (Option.isSome(options.stream)) {
        const streamId = options.stream.value
        if (!(yield* readModel.streamExists(streamId))) {
          return yield* fail(
            errorBody("NOT_FOUND", `no stream ${streamId} (streams are run-<runId>, credits-<workspaceId>)`)
          )
        }
        let version = 0
        for (;;) {
          const events = yield* store.readStream(streamId, { after: version })
          if (events.length > 0) version = events[events.length - 1]!.streamVersion
          yield* write(events.filter((e) => e.globalPosition > from))
          if (!options.follow) return
          yield* Effect.sleep(options.intervalMs)
        }
      }

      // the cursor must be a stored event's position: resolve --from to the last stored one at or before it
      let after = 0n
      if (from > 0n) {
        after = (yield* readModel.lastPositionAtOrBefore(from)) ?? 0n
      }
      for (;;) {
        const page = yield* store.readAll({ after, limit: PAGE })
        yield* write(page.events)
        after = page.lastPosition
        if (page.events.length === PAGE) continue
        if (!options.follow) return
        yield* Effect.sleep(options.intervalMs)
      }
    })
  )
})
