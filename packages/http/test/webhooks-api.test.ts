/**
 * The webhooks surface over a real server and a real Postgres, API only (runs stay pending unless cancelled or
 * failed by the operator), as a deployment runs it by default: ENRICH_WEBHOOK_ALLOW_PRIVATE unset, so only https
 * URLs on public addresses are taken. Deliveries are written in the transaction that settles a run (the
 * outbox): they are there the moment the cancel or the operator's fail answers. Delivery itself is the
 * worker's (packages/worker/test/webhooks*.test.ts).
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import {
  ADMIN_TOKEN,
  allTableCounts,
  ApiOnlyTestServer,
  expectError,
  use,
  writesNothing
} from "./support/TestServer.ts"

const PUBLIC_URL = "https://1.1.1.1/hooks/enrich"

const workspace = use(async (api) => {
  const created = await api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Hooks", credits: 100 } })
  return created.body.apiKey as string
})

const create = (key: string, body: unknown) => use((api) => api.post("/api/webhooks", { key, body }))

/** A pending run over one new Lead. */
const pendingRun = (key: string) =>
  use(async (api) => {
    const lead = await api.post("/api/leads", {
      key,
      body: { type: "person", email: `p-${Math.random().toString(36).slice(2)}@corp.example` }
    })
    const dispatched = await api.post("/api/enrichment", {
      key,
      body: { enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds: [lead.body.lead.id] } }
    })
    assert.strictEqual(dispatched.status, 202, JSON.stringify(dispatched.body))
    return dispatched.body.runId as string
  })

layer(ApiOnlyTestServer, { timeout: 60_000 })("Webhooks API", (it) => {
  it.effect("an_endpoint_is_created_with_a_secret_shown_once_listed_rotated_and_deleted", () =>
    Effect.gen(function* () {
      const key = yield* workspace
      const created = yield* create(key, {
        url: PUBLIC_URL,
        events: ["run.completed", "run.failed", "run.completed"],
        description: "CRM sync"
      })
      assert.strictEqual(created.status, 201, JSON.stringify(created.body))
      const webhook = created.body.webhook
      assert.match(webhook.secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
      assert.strictEqual(Buffer.from(webhook.secret.slice(6), "base64").length, 32)
      assert.deepStrictEqual(webhook.events, ["run.completed", "run.failed"], "each event once")
      assert.include(webhook, { url: PUBLIC_URL, description: "CRM sync", disabledAt: null })

      const listed = yield* use((api) => api.get("/api/webhooks", { key }))
      assert.strictEqual(listed.status, 200)
      assert.deepStrictEqual(listed.body.webhooks, [
        {
          id: webhook.id,
          url: PUBLIC_URL,
          events: ["run.completed", "run.failed"],
          description: "CRM sync",
          createdAt: webhook.createdAt,
          disabledAt: null
        }
      ])
      assert.notInclude(JSON.stringify(listed.body), webhook.secret.slice(6), "the secret is shown once")

      const rotated = yield* use((api) => api.post(`/api/webhooks/${webhook.id}/rotate-secret`, { key }))
      assert.strictEqual(rotated.status, 200, JSON.stringify(rotated.body))
      assert.match(rotated.body.webhook.secret, /^whsec_/)
      assert.notStrictEqual(rotated.body.webhook.secret, webhook.secret)
      const sql = yield* SqlClient.SqlClient
      const [row] = yield* sql<{ previous_secret: string; grace_hours: number }>`
        SELECT previous_secret, extract(epoch FROM previous_secret_until - now()) / 3600 AS grace_hours
        FROM webhooks WHERE id = ${webhook.id}`
      assert.strictEqual(row!.previous_secret, webhook.secret, "the previous secret still signs")
      assert.approximately(Number(row!.grace_hours), 24, 0.1)

      const deleted = yield* use((api) => api.delete(`/api/webhooks/${webhook.id}`, { key }))
      assert.deepStrictEqual(deleted.body, { deleted: true, id: webhook.id })
      expectError(yield* use((api) => api.delete(`/api/webhooks/${webhook.id}`, { key })), 404, "NOT_FOUND")
      assert.deepStrictEqual((yield* use((api) => api.get("/api/webhooks", { key }))).body.webhooks, [])
    })
  )

  it.effect("a_private_or_plain_http_url_is_refused_without_the_flag_and_nothing_is_written", () =>
    Effect.gen(function* () {
      const key = yield* workspace
      const refused = [
        "http://1.1.1.1/hooks",
        "https://127.0.0.1/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://[fd00:ec2::254]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://localhost/hooks",
        "https://api.localhost/hooks",
        "https://user:pass@1.1.1.1/hooks",
        "ftp://1.1.1.1/hooks",
        "not a url"
      ]
      for (const url of refused) {
        const reply = yield* writesNothing(create(key, { url, events: ["run.completed"] }), allTableCounts)
        expectError(reply, 400, "WEBHOOK_URL_REFUSED")
        assert.match(reply.body.message, /^This URL cannot receive webhooks: /, url)
        assert.strictEqual(reply.body.details.issues[0].path, "body.url")
      }
    })
  )

  it.effect("bad_bodies_are_400_with_the_field_named_and_change_nothing", () =>
    Effect.gen(function* () {
      const key = yield* workspace
      const bad: ReadonlyArray<unknown> = [
        {},
        { url: PUBLIC_URL },
        { url: PUBLIC_URL, events: [] },
        { url: PUBLIC_URL, events: ["run.started"] },
        { url: PUBLIC_URL, events: "run.completed" },
        { url: PUBLIC_URL, events: ["run.completed"], secret: "whsec_mine" },
        { url: PUBLIC_URL, events: ["run.completed"], description: "x".repeat(501) },
        { url: `https://1.1.1.1/${"a".repeat(2048)}`, events: ["run.completed"] },
        { url: "https://1.1.1.1/\u0000", events: ["run.completed"] }
      ]
      for (const body of bad) {
        const reply = yield* writesNothing(create(key, body), allTableCounts)
        expectError(reply, 400, "VALIDATION_FAILED")
      }
      for (const path of ["/api/webhooks/nope", "/api/webhooks/nope/deliveries"]) {
        expectError(yield* use((api) => api.get(path, { key })), path.endsWith("nope") ? 404 : 404, "NOT_FOUND")
      }
      expectError(yield* use((api) => api.post("/api/webhooks/nope/rotate-secret", { key })), 404, "NOT_FOUND")
      expectError(
        yield* use((api) => api.post("/api/webhooks/nope/deliveries/nope/redeliver", { key })),
        404,
        "NOT_FOUND"
      )
      expectError(yield* use((api) => api.get("/api/webhooks/x/deliveries?limit=0", { key })), 400, "VALIDATION_FAILED")
    })
  )

  it.effect("a_settled_run_has_its_deliveries_written_with_the_settlement_for_the_endpoints_subscribed", () =>
    Effect.gen(function* () {
      const key = yield* workspace
      const onCancel = (yield* create(key, { url: PUBLIC_URL, events: ["run.cancelled"] })).body.webhook
      const onFail = (yield* create(key, { url: `${PUBLIC_URL}/failed`, events: ["run.failed", "run.completed"] })).body
        .webhook

      const cancelled = yield* pendingRun(key)
      const pending = yield* pendingRun(key)
      assert.deepStrictEqual((yield* use((api) => api.get(`/api/webhooks/${onCancel.id}/deliveries`, { key }))).body, {
        deliveries: [],
        nextCursor: null,
        hasMore: false
      })
      const cancel = yield* use((api) => api.post(`/api/enrichment/${cancelled}/cancel`, { key }))
      assert.strictEqual(cancel.status, 200, JSON.stringify(cancel.body))
      const failed = yield* use((api) =>
        api.post(`/admin/runs/${pending}/fail`, { key: ADMIN_TOKEN, body: { reason: "stuck" } })
      )
      assert.strictEqual(failed.status, 200, JSON.stringify(failed.body))

      const cancelPage = (yield* use((api) => api.get(`/api/webhooks/${onCancel.id}/deliveries`, { key }))).body
      assert.strictEqual(cancelPage.deliveries.length, 1)
      const [delivery] = cancelPage.deliveries
      assert.include(delivery, {
        eventType: "run.cancelled",
        runId: cancelled,
        status: "pending",
        attempts: 0,
        lastStatusCode: null,
        lastError: null
      })
      assert.isString(delivery.nextAttemptAt)
      const failPage = (yield* use((api) => api.get(`/api/webhooks/${onFail.id}/deliveries`, { key }))).body
      assert.deepStrictEqual(
        failPage.deliveries.map((d: any) => [d.eventType, d.runId]),
        [["run.failed", pending]]
      )

      // a pending delivery redelivered is simply due now
      const redelivered = yield* use((api) =>
        api.post(`/api/webhooks/${onCancel.id}/deliveries/${delivery.id}/redeliver`, { key })
      )
      assert.strictEqual(redelivered.status, 202, JSON.stringify(redelivered.body))
      assert.include(redelivered.body.delivery, { id: delivery.id, status: "pending", attempts: 0 })
      // another endpoint's delivery id under this endpoint: not found
      expectError(
        yield* use((api) =>
          api.post(`/api/webhooks/${onCancel.id}/deliveries/${failPage.deliveries[0].id}/redeliver`, { key })
        ),
        404,
        "NOT_FOUND"
      )
    })
  )

  it.effect("a_workspace_registers_at_most_20_endpoints_even_when_registrations_race", () =>
    Effect.gen(function* () {
      const key = yield* workspace
      const replies = yield* use((api) =>
        Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            api.post("/api/webhooks", { key, body: { url: `${PUBLIC_URL}/${i}`, events: ["run.completed"] } })
          )
        )
      )
      assert.strictEqual(replies.filter((r) => r.status === 201).length, 20)
      for (const refused of replies.filter((r) => r.status !== 201)) {
        expectError(refused, 409, "WEBHOOK_LIMIT_REACHED")
      }
      assert.lengthOf((yield* use((api) => api.get("/api/webhooks", { key }))).body.webhooks, 20)
      const oneMore = yield* writesNothing(create(key, { url: PUBLIC_URL, events: ["run.failed"] }), allTableCounts)
      expectError(oneMore, 409, "WEBHOOK_LIMIT_REACHED")
      assert.match(oneMore.body.message, /at most 20 webhooks/)
      // another workspace is not counted against it
      const other = yield* workspace
      assert.strictEqual((yield* create(other, { url: PUBLIC_URL, events: ["run.failed"] })).status, 201)
    })
  )

  it.effect("the_deliveries_page_goes_by_cursor_newest_first", () =>
    Effect.gen(function* () {
      const key = yield* workspace
      const webhook = (yield* create(key, { url: PUBLIC_URL, events: ["run.cancelled"] })).body.webhook
      const runs: Array<string> = []
      for (let i = 0; i < 5; i++) {
        const run = yield* pendingRun(key)
        yield* use((api) => api.post(`/api/enrichment/${run}/cancel`, { key }))
        runs.push(run)
      }
      const seen: Array<string> = []
      let cursor: string | null = null
      do {
        const page: any = (yield* use((api) =>
          api.get(`/api/webhooks/${webhook.id}/deliveries?limit=2${cursor === null ? "" : `&cursor=${cursor}`}`, {
            key
          })
        )).body
        assert.isAtMost(page.deliveries.length, 2)
        seen.push(...page.deliveries.map((d: any) => d.runId))
        cursor = page.nextCursor
        assert.strictEqual(page.hasMore, cursor !== null)
      } while (cursor !== null)
      assert.deepStrictEqual(seen, [...runs].reverse())
    })
  )
})
