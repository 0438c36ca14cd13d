/**
 * The Postgres event store. An append is one statement: the stream row's
 * version is checked and bumped in SQL (`expected` any / no stream / exists /
 * exact, and none of the event ids already stored), the events are inserted
 * from the new version, and the statement returns the new version and the
 * global positions of the events. Only when it appends nothing (or an event
 * id turns out to be taken by a concurrent append) does a second query tell a
 * retry (`Appended` again, nothing written), ids stored elsewhere
 * (`EventIdsPartiallyAppended`) and a stale expected version
 * (`WrongExpectedVersion` with the actual version) apart. Runs inside the
 * caller's transaction when there is one, so projections commit with it.
 *
 * `readAll` reads the global log behind a transaction-id fence, as Emmett
 * does: only events of transactions older than every transaction still in
 * flight (`transaction_id < pg_snapshot_xmin(pg_current_snapshot())`), in
 * (transaction id, position) order, after the cursor event's (transaction id,
 * position). Every later event belongs to a transaction that is still open or
 * not yet begun, so it sorts after the cursor: no late commit is ever passed
 * over — also not a transaction that took its id early and its position late
 * (which position order alone would skip). Within a transaction, events come
 * in position order; across transactions, in transaction-id order.
 */
import { Effect, Layer, Option } from "effect"
import { SqlClient, type SqlError, type Statement } from "effect/sql"
import { textArray } from "./TextArray.ts"
import {
  type Appended,
  EventStore,
  EventStoreError,
  ExpectedVersion,
  type RecordedEvent,
  retriedAppend,
  type StoredEventId,
  WrongExpectedVersion
} from "@enrich/domain/ports/EventStore"

interface EventRow {
  readonly stream_id: string
  readonly stream_version: number
  readonly global_position: string
  readonly event_id: string
  readonly type: string
  readonly schema_version: number
  readonly data: unknown
  readonly metadata: RecordedEvent["metadata"]
  readonly created_at: Date
}

const toRecorded = (r: EventRow): RecordedEvent => ({
  streamId: r.stream_id,
  streamVersion: r.stream_version,
  globalPosition: BigInt(r.global_position),
  eventId: r.event_id,
  type: r.type,
  version: r.schema_version,
  data: r.data,
  metadata: r.metadata,
  createdAt: new Date(r.created_at).toISOString()
})

/** The unique key on `events.event_id`: a concurrent append stored one of the ids first. */
const isEventIdTaken = (error: SqlError.SqlError): boolean =>
  error.reason._tag === "UniqueViolation" && error.reason.constraint === "events_event_id_key"

const failWith = (message: string) => (cause: unknown) => Effect.fail(new EventStoreError({ message, cause }))

/**
 * Bumps the stream row by `n` if `expected` holds and none of `eventIds` is stored yet. The ids are
 * one array parameter, checked by `event_ids_stored` (migration 0009): by the key's index, always. Asked
 * inline as `IN (SELECT event_id FROM input)`, the prepared statement's generic plan guessed 100 ids and
 * hashed the whole events table per append while the table was small (regression test
 * regression_an_append_scanned_every_event_to_check_its_ids_were_new); as `event_id = ANY(…)`, a generic
 * plan made while the table was nearly empty read all of it at every append as it grew (regression test
 * regression_an_append_planned_on_an_empty_events_table_kept_scanning_it_as_it_grew; DECISIONS.md 41).
 */
const bumpStream = (
  sql: SqlClient.SqlClient,
  streamId: string,
  streamType: string,
  workspaceId: string,
  expected: ExpectedVersion,
  n: number,
  eventIds: ReadonlyArray<string>
) => {
  const fresh = sql`NOT event_ids_stored(${textArray(eventIds)}::uuid[])`
  switch (expected._tag) {
    case "NoStream":
      return sql`INSERT INTO event_streams (stream_id, stream_type, workspace_id, version)
          SELECT ${streamId}, ${streamType}, ${workspaceId}, ${n} WHERE ${fresh}
          ON CONFLICT (stream_id) DO NOTHING RETURNING version`
    case "Any":
      return sql`INSERT INTO event_streams (stream_id, stream_type, workspace_id, version)
          SELECT ${streamId}, ${streamType}, ${workspaceId}, ${n} WHERE ${fresh}
          ON CONFLICT (stream_id) DO UPDATE SET version = event_streams.version + ${n}, updated_at = now()
          RETURNING version`
    case "StreamExists":
      return sql`UPDATE event_streams SET version = version + ${n}, updated_at = now()
          WHERE stream_id = ${streamId} AND ${fresh} RETURNING version`
    case "Exact":
      return sql`UPDATE event_streams SET version = version + ${n}, updated_at = now()
          WHERE stream_id = ${streamId} AND version = ${expected.version} AND ${fresh} RETURNING version`
  }
}

/** The stream's version now, and where the store holds any of `eventIds`. */
const inspect = (sql: SqlClient.SqlClient, streamId: string, eventIds: ReadonlyArray<string>) =>
  sql<{
    actual: number | null
    stored: ReadonlyArray<{ eventId: string; streamId: string; streamVersion: number; globalPosition: string }>
  }>`SELECT (SELECT version FROM event_streams WHERE stream_id = ${streamId}) AS actual,
        coalesce((
          SELECT jsonb_agg(jsonb_build_object('eventId', event_id::text, 'streamId', stream_id,
                   'streamVersion', stream_version, 'globalPosition', global_position::text))
          FROM events
          WHERE event_id = ANY(${textArray(eventIds)}::uuid[])
        ), '[]'::jsonb) AS stored`.pipe(
    Effect.map((rows) => ({
      actual: rows[0]?.actual ?? null,
      stored: (rows[0]?.stored ?? []).map((e): StoredEventId => ({ ...e, globalPosition: BigInt(e.globalPosition) }))
    }))
  )

/** The condition an append's `also` CTEs write under: the events were appended (its `bumped` CTE has a row). */
export const ifAppended = (sql: SqlClient.SqlClient) => sql`EXISTS (SELECT 1 FROM bumped)`

/**
 * An append, with `also`: data-modifying CTEs the append's statement carries (an event's projection,
 * so the event and its rows cost one round trip). They may read `bumped`, which has one row exactly
 * when the events were appended: each must write only then (`WHERE EXISTS (SELECT 1 FROM bumped)`).
 */
export const appendEventsPg = Effect.fnUntraced(
  function* (
    sql: SqlClient.SqlClient,
    { events, expected, metadata, streamId, streamType, workspaceId }: Parameters<EventStore["Service"]["append"]>[0],
    also: ReadonlyArray<Statement.Fragment> = []
  ) {
    const eventIds = events.map((e) => e.eventId)
    if (new Set(eventIds).size !== eventIds.length) {
      return yield* new EventStoreError({ message: "an append repeats an event id", cause: eventIds })
    }
    const rejected = (actual: number | null) =>
      new WrongExpectedVersion({ streamId, expected: ExpectedVersion.describe(expected), actual })
    if (events.length === 0) {
      const rows = yield* sql<{ version: number }>`SELECT version FROM event_streams WHERE stream_id = ${streamId}`
      const actual = rows[0]?.version ?? null
      if (!ExpectedVersion.matches(expected, actual)) return yield* rejected(actual)
      return { _tag: "Appended", nextVersion: actual ?? 0, firstPosition: 0n, lastPosition: 0n } satisfies Appended
    }
    const payload = JSON.stringify(
      events.map((e) => ({ event_id: e.eventId, type: e.type, schema_version: e.version, data: e.data }))
    )
    const n = events.length
    const inTransaction = Option.isSome(yield* Effect.serviceOption(sql.transactionService))
    const written = yield* sql<{
      next_version: number | null
      first_position: string | null
      last_position: string | null
    }>`
        WITH input AS (
          SELECT (e.ev->>'event_id')::uuid AS event_id, e.ev->>'type' AS type,
                 (e.ev->>'schema_version')::int AS schema_version, e.ev->'data' AS data, e.ord::int AS ord
          FROM jsonb_array_elements(${payload}::jsonb) WITH ORDINALITY AS e(ev, ord)
        ),
        bumped AS (${bumpStream(sql, streamId, streamType, workspaceId, expected, n, eventIds)}),
        inserted AS (
          INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, data, metadata)
          SELECT ${streamId}, bumped.version - ${n} + input.ord, input.event_id, input.type, input.schema_version,
                 input.data, ${JSON.stringify(metadata ?? {})}::jsonb
          FROM bumped, input ORDER BY input.ord
          RETURNING global_position
        )${also.length === 0 ? sql`` : sql`, ${sql.join(", ", false)(also)}`}
        SELECT (SELECT version FROM bumped) AS next_version,
               (SELECT min(global_position)::text FROM inserted) AS first_position,
               (SELECT max(global_position)::text FROM inserted) AS last_position`.pipe(
      Effect.map((rows) => Option.fromNullishOr(rows[0])),
      Effect.catchTag("SqlError", (error) =>
        // the statement failed and, in a transaction, took it down: nothing more can be read in it
        isEventIdTaken(error) && !inTransaction ? Effect.succeedNone : Effect.fail(error)
      )
    )
    if (Option.isSome(written) && written.value.next_version !== null) {
      return {
        _tag: "Appended",
        nextVersion: written.value.next_version,
        firstPosition: BigInt(written.value.first_position ?? "0"),
        lastPosition: BigInt(written.value.last_position ?? "0")
      } satisfies Appended
    }
    const { actual, stored } = yield* inspect(sql, streamId, eventIds)
    if (stored.length > 0) {
      const outcome = retriedAppend(streamId, eventIds, stored)
      return outcome._tag === "Appended" ? outcome : yield* outcome
    }
    if (Option.isNone(written)) {
      return yield* new EventStoreError({ message: "an event id was taken, then is not stored", cause: eventIds })
    }
    return yield* rejected(actual)
  },
  Effect.catchTag("SqlError", failWith("append failed"))
)

export const EventStorePgLive = Layer.effect(
  EventStore,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const append: EventStore["Service"]["append"] = (input) => appendEventsPg(sql, input)

    const readStream: EventStore["Service"]["readStream"] = (streamId, options) =>
      sql<EventRow>`SELECT stream_id, stream_version, global_position::text, event_id::text, type, schema_version,
           data, metadata, created_at
         FROM events WHERE stream_id = ${streamId} AND stream_version > ${options?.after ?? 0}
         ORDER BY stream_version`.pipe(
        Effect.map((rows) => rows.map(toRecorded)),
        Effect.catchTag("SqlError", failWith("read failed"))
      )

    const readAll: EventStore["Service"]["readAll"] = ({ after, limit }) =>
      sql<EventRow>`WITH cursor AS (
           SELECT coalesce((SELECT transaction_id FROM events WHERE global_position = ${after.toString()}::bigint),
                           '0'::xid8) AS xid
         )
         SELECT e.stream_id, e.stream_version, e.global_position::text, e.event_id::text, e.type, e.schema_version,
                e.data, e.metadata, e.created_at
         FROM events e, cursor c
         WHERE (e.transaction_id, e.global_position) > (c.xid, ${after.toString()}::bigint)
           AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY e.transaction_id, e.global_position
         LIMIT ${Math.max(0, Math.trunc(limit))}`.pipe(
        Effect.map((rows) => {
          const events = rows.map(toRecorded)
          return { events, lastPosition: events[events.length - 1]?.globalPosition ?? after }
        }),
        Effect.catchTag("SqlError", failWith("read failed"))
      )

    return EventStore.of({ append, readStream, readAll })
  })
)
