/**
 * The WebhookStore port on `webhooks` and `webhook_deliveries` (migration 0013): endpoints, the outbox that
 * settlements write into, and the claims and records of the delivery loop. Times are the database's.
 */
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { randomBytes } from "node:crypto"
import { uuidv7 } from "@enrich/domain/Ids"
import { secretBytes, secretPrefix, type WebhookEventType, webhookBody } from "@enrich/domain/webhooks/Webhooks"
import {
  type AttemptRecord,
  type ClaimedDelivery,
  type EndedAttempt,
  type NewWebhook,
  type Webhook,
  type WebhookDelivery,
  WebhookDisabled,
  WebhookLimitReached,
  WebhookNotFound,
  WebhookStore
} from "@enrich/application/ports/Webhooks"
import { iso, type RunRow, runViewColumns, toRunView } from "./RunReadModel.ts"
import { nullableTextArray, textArray } from "./TextArray.ts"
import { inTransaction } from "./Transaction.ts"
import { failAsStore } from "./Transient.ts"

/** Arbitrary constant: the advisory lock that serialises claims, so the per-endpoint bound holds across processes. */
const CLAIM_LOCK = 727_431_013
/** Arbitrary constant: with the workspace's hash, the advisory lock that serialises a workspace's registrations. */
const ENDPOINTS_LOCK = 727_431_014

const newSecret = () => `${secretPrefix}${randomBytes(secretBytes).toString("base64")}`

interface WebhookRow {
  id: string
  url: string
  events: Array<string>
  description: string | null
  created_at: Date
  disabled_at: Date | null
}

const toWebhook = (row: WebhookRow): Webhook => ({
  id: row.id,
  url: row.url,
  events: row.events as Array<WebhookEventType>,
  description: row.description,
  createdAt: iso(row.created_at)!,
  disabledAt: iso(row.disabled_at)
})

interface DeliveryRow {
  id: string
  event_type: string
  run_id: string
  status: "pending" | "succeeded" | "failed"
  attempts: number
  last_status_code: number | null
  last_error: string | null
  next_attempt_at: Date
  created_at: Date
}

const toDelivery = (row: DeliveryRow): WebhookDelivery => ({
  id: row.id,
  eventType: row.event_type as WebhookEventType,
  runId: row.run_id,
  status: row.status,
  attempts: row.attempts,
  lastStatusCode: row.last_status_code,
  lastError: row.last_error,
  nextAttemptAt: row.status === "pending" ? iso(row.next_attempt_at) : null,
  createdAt: iso(row.created_at)!
})

/** The delivery's status after an attempt. */
const statusAfter = (outcome: AttemptRecord) =>
  outcome._tag === "Succeeded" ? "succeeded" : outcome._tag === "Failed" ? "failed" : "pending"

/** What an attempt's result leaves in the delivery's row. */
const lastOf = (outcome: AttemptRecord) =>
  outcome.result._tag === "Answered"
    ? {
        code: outcome.result.statusCode,
        error: outcome._tag === "Succeeded" ? null : `the endpoint answered ${outcome.result.statusCode}`
      }
    : { code: null, error: outcome.result.error.slice(0, 500) }

export const WebhookStorePgLive = Layer.effect(
  WebhookStore,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const create = Effect.fn("WebhookStore.create")(
      function* (workspaceId: string, input: NewWebhook, limit: number) {
        const secret = newSecret()
        return yield* inTransaction(
          sql,
          Effect.gen(function* () {
            // registrations of one workspace one at a time, so the count below holds until the insert commits
            yield* sql`SELECT pg_advisory_xact_lock(${ENDPOINTS_LOCK}, hashtext(${workspaceId}))`
            const [count] = yield* sql<{ n: number }>`
            SELECT count(*)::int AS n FROM webhooks WHERE workspace_id = ${workspaceId}`
            if (count!.n >= limit) return yield* new WebhookLimitReached({ limit })
            const rows = yield* sql<WebhookRow>`
            INSERT INTO webhooks (id, workspace_id, url, events, description, secret)
            VALUES (${uuidv7()}, ${workspaceId}, ${input.url}, ${textArray(input.events)}::text[],
              ${input.description}, ${secret})
            RETURNING id, url, events, description, created_at, disabled_at`
            return { webhook: toWebhook(rows[0]!), secret }
          })
        )
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const list = Effect.fn("WebhookStore.list")(
      function* (workspaceId: string) {
        const rows = yield* sql<WebhookRow>`
        SELECT id, url, events, description, created_at, disabled_at FROM webhooks
        WHERE workspace_id = ${workspaceId} ORDER BY id`
        return rows.map(toWebhook)
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const remove = Effect.fn("WebhookStore.remove")(
      function* (workspaceId: string, id: string) {
        const rows = yield* sql`DELETE FROM webhooks WHERE workspace_id = ${workspaceId} AND id = ${id} RETURNING id`
        if (rows.length === 0) return yield* new WebhookNotFound()
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const rotate = Effect.fn("WebhookStore.rotate")(
      function* (workspaceId: string, id: string, graceMs: number) {
        const secret = newSecret()
        const rows = yield* sql<WebhookRow>`
        UPDATE webhooks SET previous_secret = secret, secret = ${secret},
          previous_secret_until = now() + ${graceMs} * interval '1 millisecond'
        WHERE workspace_id = ${workspaceId} AND id = ${id}
        RETURNING id, url, events, description, created_at, disabled_at`
        if (rows.length === 0) return yield* new WebhookNotFound()
        return { webhook: toWebhook(rows[0]!), secret }
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const webhookOf = Effect.fnUntraced(function* (workspaceId: string, id: string) {
      const rows = yield* sql<{ disabled: boolean }>`
        SELECT disabled_at IS NOT NULL AS disabled FROM webhooks WHERE workspace_id = ${workspaceId} AND id = ${id}`
      if (rows.length === 0) return yield* new WebhookNotFound()
      return rows[0]!
    })

    const deliveries = Effect.fn("WebhookStore.deliveries")(
      function* (
        workspaceId: string,
        id: string,
        page: { readonly cursor: string | undefined; readonly limit: number }
      ) {
        yield* webhookOf(workspaceId, id)
        const rows = yield* sql<DeliveryRow>`
        SELECT id, event_type, run_id, status, attempts, last_status_code, last_error, next_attempt_at, created_at
        FROM webhook_deliveries WHERE webhook_id = ${id}
        ${page.cursor === undefined ? sql`` : sql`AND id < ${page.cursor}`}
        ORDER BY id DESC LIMIT ${page.limit + 1}`
        const shown = rows.slice(0, page.limit).map(toDelivery)
        const hasMore = rows.length > page.limit
        return { deliveries: shown, hasMore, nextCursor: hasMore ? shown[shown.length - 1]!.id : null }
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const redeliver = Effect.fn("WebhookStore.redeliver")(
      function* (workspaceId: string, id: string, deliveryId: string) {
        const webhook = yield* webhookOf(workspaceId, id)
        const rows = yield* sql<DeliveryRow>`
        UPDATE webhook_deliveries SET
          attempts_allowed = CASE WHEN status = 'pending' THEN attempts_allowed ELSE attempts + 1 END,
          status = 'pending', next_attempt_at = now(), updated_at = now()
        WHERE webhook_id = ${id} AND id = ${deliveryId} AND ${!webhook.disabled}
        RETURNING id, event_type, run_id, status, attempts, last_status_code, last_error, next_attempt_at, created_at`
        if (rows.length > 0) return toDelivery(rows[0]!)
        const exists = yield* sql`SELECT 1 FROM webhook_deliveries WHERE webhook_id = ${id} AND id = ${deliveryId}`
        return yield* exists.length === 0 ? new WebhookNotFound() : new WebhookDisabled()
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const enqueue = Effect.fn("WebhookStore.enqueue")(
      function* (event: {
        readonly workspaceId: string
        readonly runId: string
        readonly type: WebhookEventType
        readonly occurredAt: string
        readonly attemptsAllowed: number
      }) {
        const endpoints = yield* sql<{ id: string }>`
        SELECT id FROM webhooks
        WHERE workspace_id = ${event.workspaceId} AND disabled_at IS NULL AND ${event.type} = ANY(events)`
        if (endpoints.length === 0) return
        const ids = endpoints.map(() => uuidv7())
        yield* sql`
        INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_type, run_id, occurred_at, attempts_allowed)
        SELECT d.id, d.webhook_id, ${event.workspaceId}, ${event.type}, ${event.runId}, ${event.occurredAt},
          ${event.attemptsAllowed}
        FROM unnest(${textArray(ids)}::text[], ${textArray(endpoints.map((e) => e.id))}::text[]) AS d(id, webhook_id)`
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    /** Bodies of first attempts, rendered from the settled runs (`null`: the body kept from the first). */
    const renderBodies = Effect.fnUntraced(function* (
      rows: ReadonlyArray<{ id: string; run_id: string; event_type: string; occurred_at: Date; rendered: boolean }>
    ) {
      const missing = rows.filter((row) => !row.rendered)
      if (missing.length === 0) return rows.map(() => null)
      const runs = yield* sql<RunRow>`
        SELECT ${runViewColumns(sql)} FROM enrichment_runs r
        WHERE r.id = ANY(${textArray([...new Set(missing.map((row) => row.run_id))])}::text[])`
      const views = new Map(runs.map((run) => [run.id, toRunView(run)]))
      return rows.map((row) =>
        row.rendered
          ? null
          : JSON.stringify(
              webhookBody(row.event_type as WebhookEventType, iso(row.occurred_at)!, views.get(row.run_id) ?? null)
            )
      )
    })

    /** Records ended attempts: one statement for all but those that disable their endpoint (410, rare). */
    const record = Effect.fnUntraced(function* (ended: ReadonlyArray<EndedAttempt>) {
      if (ended.length === 0) return
      const lasts = ended.map(({ outcome }) => lastOf(outcome))
      // `attempts` guards against a holder whose lease ran out and whose delivery another process took since
      yield* sql`
        UPDATE webhook_deliveries d SET status = v.status, in_flight_until = NULL, updated_at = now(),
          next_attempt_at = CASE WHEN v.status = 'pending' THEN now() + v.delay_ms::float8 * interval '1 millisecond'
            ELSE d.next_attempt_at END,
          last_status_code = v.code::int, last_error = v.error
        FROM unnest(
          ${textArray(ended.map(({ delivery }) => delivery.id))}::text[],
          ${textArray(ended.map(({ delivery }) => String(delivery.attempts)))}::int[],
          ${textArray(ended.map(({ outcome }) => statusAfter(outcome)))}::text[],
          ${textArray(ended.map(({ outcome }) => String(outcome._tag === "Retry" ? outcome.delayMs : 0)))}::text[],
          ${nullableTextArray(lasts.map((last) => (last.code === null ? null : String(last.code))))}::text[],
          ${nullableTextArray(lasts.map((last) => last.error))}::text[]
        ) AS v(id, attempts, status, delay_ms, code, error)
        WHERE d.id = ANY(${textArray(ended.map(({ delivery }) => delivery.id))}::text[])
          AND d.id = v.id AND d.attempts = v.attempts AND d.status = 'pending'`
      for (const { delivery, outcome } of ended) {
        if (outcome._tag !== "Failed" || !outcome.disableEndpoint) continue
        yield* sql`UPDATE webhooks SET disabled_at = now() WHERE id = ${delivery.webhookId} AND disabled_at IS NULL`
        yield* sql`UPDATE webhook_deliveries SET status = 'failed', in_flight_until = NULL, updated_at = now(),
          last_error = 'not sent: the endpoint answered 410 Gone and is disabled'
          WHERE webhook_id = ${delivery.webhookId} AND status = 'pending'`
      }
    })

    const claim = Effect.fnUntraced(function* (options: {
      readonly limit: number
      readonly perEndpoint: number
      readonly leaseMs: number
    }) {
      if (options.limit <= 0) return []
      // a last attempt whose holder stopped: nothing more is allowed, the delivery failed
      yield* sql`
        UPDATE webhook_deliveries SET status = 'failed', in_flight_until = NULL, updated_at = now(),
          last_error = 'the process making its last attempt stopped before it ended'
        WHERE in_flight_until IS NOT NULL AND in_flight_until <= now() AND status = 'pending'
          AND attempts >= attempts_allowed`
      const chosen = yield* sql<{
        id: string
        run_id: string
        event_type: string
        occurred_at: Date
        rendered: boolean
        attempts: number
      }>`
        WITH RECURSIVE pending_endpoints(webhook_id) AS (
          -- the endpoints with pending deliveries, one index probe each (a loose index scan): the cost of a
          -- claim grows with the endpoints waiting, not with their deliveries
          (SELECT webhook_id FROM webhook_deliveries WHERE status = 'pending' ORDER BY webhook_id LIMIT 1)
          UNION ALL
          SELECT (SELECT d.webhook_id FROM webhook_deliveries d
                  WHERE d.status = 'pending' AND d.webhook_id > p.webhook_id ORDER BY d.webhook_id LIMIT 1)
          FROM pending_endpoints p WHERE p.webhook_id IS NOT NULL
        ), busy AS (
          SELECT webhook_id, count(*)::int AS n FROM webhook_deliveries
          WHERE in_flight_until IS NOT NULL AND in_flight_until > now() AND status = 'pending'
          GROUP BY webhook_id
        ), endpoints AS (
          SELECT w.id, ${options.perEndpoint} - coalesce(b.n, 0) AS free
          FROM pending_endpoints p JOIN webhooks w ON w.id = p.webhook_id AND w.disabled_at IS NULL
          LEFT JOIN busy b ON b.webhook_id = w.id
          WHERE ${options.perEndpoint} - coalesce(b.n, 0) > 0
        )
        SELECT d.id, d.run_id, d.event_type, d.occurred_at, d.rendered, d.attempts
        FROM endpoints e CROSS JOIN LATERAL (
          SELECT id, run_id, event_type, occurred_at, payload IS NOT NULL AS rendered, attempts, next_attempt_at
          FROM webhook_deliveries
          WHERE webhook_id = e.id AND status = 'pending' AND next_attempt_at <= now()
            AND (in_flight_until IS NULL OR in_flight_until <= now()) AND attempts < attempts_allowed
          ORDER BY next_attempt_at LIMIT e.free
        ) d
        ORDER BY d.next_attempt_at LIMIT ${options.limit}`
      if (chosen.length === 0) return []
      const bodies = yield* renderBodies(chosen)
      // taken, with the body of a first attempt kept: one write of each row (claims hold the claim lock, and
      // `attempts` guards against a redeliver in between)
      const rows = yield* sql<{
        id: string
        webhook_id: string
        payload: string
        attempts: number
        attempts_allowed: number
        url: string
        secret: string
        previous_secret: string | null
      }>`
        UPDATE webhook_deliveries d SET attempts = d.attempts + 1, updated_at = now(),
          in_flight_until = now() + ${options.leaseMs} * interval '1 millisecond',
          payload = coalesce(d.payload, v.body)
        FROM unnest(
          ${textArray(chosen.map((row) => row.id))}::text[],
          ${textArray(chosen.map((row) => String(row.attempts)))}::int[],
          ${nullableTextArray(bodies)}::text[]
        ) AS v(id, attempts, body), webhooks w
        WHERE d.id = ANY(${textArray(chosen.map((row) => row.id))}::text[])
          AND d.id = v.id AND d.attempts = v.attempts AND d.status = 'pending' AND w.id = d.webhook_id
        RETURNING d.id, d.webhook_id, d.payload, d.attempts, d.attempts_allowed, w.url, w.secret,
          CASE WHEN w.previous_secret_until > now() THEN w.previous_secret END AS previous_secret`
      return rows.map(
        (row): ClaimedDelivery => ({
          id: row.id,
          webhookId: row.webhook_id,
          url: row.url,
          secrets: row.previous_secret === null ? [row.secret] : [row.secret, row.previous_secret],
          body: row.payload,
          attempts: row.attempts,
          attemptsAllowed: row.attempts_allowed
        })
      )
    })

    const exchange = Effect.fn("WebhookStore.exchange")(
      function* (round: {
        readonly ended: ReadonlyArray<EndedAttempt>
        readonly limit: number
        readonly perEndpoint: number
        readonly leaseMs: number
      }) {
        if (round.ended.length === 0 && round.limit <= 0) return []
        return yield* inTransaction(
          sql,
          Effect.gen(function* () {
            // claims one at a time, so the per-endpoint bound holds across processes
            yield* sql`SELECT pg_advisory_xact_lock(${CLAIM_LOCK})`
            yield* record(round.ended)
            return yield* claim(round)
          })
        )
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    return WebhookStore.of({ create, list, remove, rotate, deliveries, redeliver, enqueue, exchange })
  })
)
