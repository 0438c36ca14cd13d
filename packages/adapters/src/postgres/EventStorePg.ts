/**
 * The Postgres event store. An append is one statement: the stream row's
 * version is checked and bumped in SQL (`expected` any / no stream / exists /
 * exact), the events are inserted from the new version, and on a conflict the
 * same round trip returns the stream's actual version. Runs inside the
 * caller's transaction when there is one, so projections commit with it.
 */
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import {
  EventStore,
  EventStoreError,
  type ExpectedVersion,
  type RecordedEvent,
  WrongExpectedVersion
} from "@enrich/domain/ports/EventStore"

const describe = (expected: ExpectedVersion): string =>
  expected._tag === "Exact" ? String(expected.version) : expected._tag

export const EventStorePgLive = Layer.effect(
  EventStore,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const bumpStream = (
      streamId: string,
      streamType: string,
      workspaceId: string,
      expected: ExpectedVersion,
      n: number
    ) => {
      switch (expected._tag) {
        case "NoStream":
          return sql`INSERT INTO event_streams (stream_id, stream_type, workspace_id, version)
            VALUES (${streamId}, ${streamType}, ${workspaceId}, ${n})
            ON CONFLICT (stream_id) DO NOTHING RETURNING version`
        case "Any":
          return sql`INSERT INTO event_streams (stream_id, stream_type, workspace_id, version)
            VALUES (${streamId}, ${streamType}, ${workspaceId}, ${n})
            ON CONFLICT (stream_id) DO UPDATE SET version = event_streams.version + ${n}, updated_at = now()
            RETURNING version`
        case "StreamExists":
          return sql`UPDATE event_streams SET version = version + ${n}, updated_at = now()
            WHERE stream_id = ${streamId} RETURNING version`
        case "Exact":
          return sql`UPDATE event_streams SET version = version + ${n}, updated_at = now()
            WHERE stream_id = ${streamId} AND version = ${expected.version} RETURNING version`
      }
    }

    const append: EventStore["Service"]["append"] = ({
      events,
      expected,
      metadata,
      streamId,
      streamType,
      workspaceId
    }) =>
      Effect.gen(function* () {
        if (events.length === 0) {
          const rows = yield* sql<{ version: number }>`SELECT version FROM event_streams WHERE stream_id = ${streamId}`
          return { _tag: "Appended" as const, nextVersion: rows[0]?.version ?? 0 }
        }
        const payload = JSON.stringify(
          events.map((e) => ({
            event_id: e.eventId,
            type: e.type,
            schema_version: e.version,
            data: e.data
          }))
        )
        const rows = yield* sql<{ next_version: number | null; actual: number | null }>`
          WITH bumped AS (${bumpStream(streamId, streamType, workspaceId, expected, events.length)}),
          inserted AS (
            INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, data, metadata)
            SELECT ${streamId}, bumped.version - ${events.length} + e.ord::int, (e.ev->>'event_id')::uuid,
                   e.ev->>'type', (e.ev->>'schema_version')::int, e.ev->'data', ${JSON.stringify(metadata ?? {})}::jsonb
            FROM bumped, jsonb_array_elements(${payload}::jsonb) WITH ORDINALITY AS e(ev, ord)
            RETURNING global_position
          )
          SELECT (SELECT version FROM bumped) AS next_version,
                 (SELECT version FROM event_streams WHERE stream_id = ${streamId}) AS actual,
                 (SELECT count(*) FROM inserted) AS inserted`
        const row = rows[0]!
        if (row.next_version === null) {
          return yield* new WrongExpectedVersion({ streamId, expected: describe(expected), actual: row.actual })
        }
        return { _tag: "Appended" as const, nextVersion: row.next_version }
      }).pipe(
        Effect.catchTag("SqlError", (cause) => Effect.fail(new EventStoreError({ message: "append failed", cause })))
      )

    const readStream: EventStore["Service"]["readStream"] = (streamId) =>
      sql<{
        stream_version: number
        global_position: string
        event_id: string
        type: string
        schema_version: number
        data: unknown
        metadata: RecordedEvent["metadata"]
        created_at: Date
      }>`SELECT stream_version, global_position::text, event_id::text, type, schema_version, data, metadata, created_at
         FROM events WHERE stream_id = ${streamId} ORDER BY stream_version`.pipe(
        Effect.map((rows) =>
          rows.map(
            (r): RecordedEvent => ({
              streamId,
              streamVersion: r.stream_version,
              globalPosition: BigInt(r.global_position),
              eventId: r.event_id,
              type: r.type,
              version: r.schema_version,
              data: r.data,
              metadata: r.metadata,
              createdAt: new Date(r.created_at).toISOString()
            })
          )
        ),
        Effect.catchTag("SqlError", (cause) => Effect.fail(new EventStoreError({ message: "read failed", cause })))
      )

    return EventStore.of({ append, readStream })
  })
)
