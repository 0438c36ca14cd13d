/**
 * `enrich webhook …`, the real binary against a real API server (API only, as a deployment runs by default:
 * ENRICH_WEBHOOK_ALLOW_PRIVATE unset, so an https URL on a public IP literal is taken and a loopback one
 * refused). Deliveries without a worker: a run cancelled through the API settles at once, and its delivery is
 * written with the settlement, pending.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { ApiOnlyTestServer } from "@enrich/http/testing/TestServer"
import { runCli } from "./support/Cli.ts"
import { context, promise, testTimeout, workspaceThroughCli } from "./support/CliServer.ts"

/** https on a public IP literal: accepted with no DNS lookup, and never called (no worker runs) */
const PUBLIC_URL = "https://1.1.1.1/hooks/enrich"

layer(ApiOnlyTestServer, { timeout: 300_000, excludeTestServices: true })(
  "enrich webhook (real binary, API server)",
  (it) => {
    it.effect(
      "create_prints_the_secret_once_list_hides_it_rotate_makes_another_delete_empties_the_list",
      () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* context
          const { cli } = yield* workspaceThroughCli(baseUrl, "Hooks")
          yield* promise(async () => {
            const created = await cli([
              "webhook",
              "create",
              "--url",
              PUBLIC_URL,
              "--event",
              "run.completed",
              "--event",
              "run.failed",
              "--description",
              "CRM sync"
            ])
            assert.strictEqual(created.code, 0, created.stderr)
            const webhook = created.json.webhook
            assert.match(webhook.secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
            assert.include(webhook, { url: PUBLIC_URL, description: "CRM sync", disabledAt: null })
            assert.deepStrictEqual(webhook.events, ["run.completed", "run.failed"])
            assert.include(created.stderr, `the signing secret of webhook ${webhook.id} is shown only once`)
            assert.notInclude(created.stderr, webhook.secret, "the secret is on stdout only")

            const another = await cli(["webhook", "create", "--url", `${PUBLIC_URL}/2`, "--event", "run.cancelled"])
            const pretty = await cli([
              "webhook",
              "create",
              "--url",
              `${PUBLIC_URL}/3`,
              "--event",
              "run.cancelled",
              "--format",
              "pretty"
            ])
            assert.strictEqual(another.code, 0, another.stderr)
            assert.strictEqual(pretty.code, 0, pretty.stderr)
            assert.include(pretty.stdout, `\n    "secret": "${pretty.json.webhook.secret}"`)
            assert.include(pretty.stderr, "is shown only once")

            const listed = await cli(["webhook", "list"])
            assert.strictEqual(listed.code, 0, listed.stderr)
            assert.deepStrictEqual(
              listed.json.webhooks.map((w: any) => w.id).sort(),
              [webhook.id, another.json.webhook.id, pretty.json.webhook.id].sort()
            )
            assert.deepStrictEqual(
              listed.json.webhooks.find((w: any) => w.id === webhook.id),
              {
                id: webhook.id,
                url: PUBLIC_URL,
                events: ["run.completed", "run.failed"],
                description: "CRM sync",
                createdAt: webhook.createdAt,
                disabledAt: null
              }
            )
            assert.notInclude(listed.stdout, "whsec_", "list shows no secret")
            assert.notInclude(listed.stdout, '"secret"')

            const rotated = await cli(["webhook", "rotate", webhook.id])
            assert.strictEqual(rotated.code, 0, rotated.stderr)
            assert.strictEqual(rotated.json.webhook.id, webhook.id)
            assert.match(rotated.json.webhook.secret, /^whsec_/)
            assert.notStrictEqual(rotated.json.webhook.secret, webhook.secret)
            assert.include(rotated.stderr, `the new signing secret of webhook ${webhook.id} is shown only once`)
            assert.include(rotated.stderr, "24 hours")

            const deleted = await Promise.all(
              [webhook.id, another.json.webhook.id, pretty.json.webhook.id].map((id) => cli(["webhook", "delete", id]))
            )
            for (const d of deleted) assert.strictEqual(d.code, 0, d.stderr)
            assert.deepStrictEqual(deleted[0]!.json, { deleted: true, id: webhook.id })
            const empty = await cli(["webhook", "list"])
            assert.deepStrictEqual([empty.code, empty.json], [0, { webhooks: [] }])
          })
        }),
      testTimeout
    )

    it.effect(
      "a_loopback_url_an_unknown_id_a_missing_event_and_a_missing_key_fail_with_their_message_and_exit_code",
      () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* context
          const { cli } = yield* workspaceThroughCli(baseUrl, "Refusals")
          yield* promise(async () => {
            const [
              loopback,
              noEvent,
              badEvent,
              noKey,
              deleteUnknown,
              rotateUnknown,
              deliveriesUnknown,
              redeliverUnknown
            ] = await Promise.all([
              cli(["webhook", "create", "--url", "http://127.0.0.1/hook", "--event", "run.completed"]),
              cli(["webhook", "create", "--url", PUBLIC_URL]),
              cli(["webhook", "create", "--url", PUBLIC_URL, "--event", "run.started"]),
              runCli(["webhook", "list"], { ENRICH_API_URL: baseUrl }),
              cli(["webhook", "delete", "no-such-webhook"]),
              cli(["webhook", "rotate", "no-such-webhook"]),
              cli(["webhook", "deliveries", "no-such-webhook"]),
              cli(["webhook", "redeliver", "no-such-webhook", "no-such-delivery"])
            ])
            assert.deepStrictEqual([loopback.code, loopback.error.code], [2, "WEBHOOK_URL_REFUSED"])
            assert.match(loopback.error.message, /^This URL cannot receive webhooks: /)
            assert.strictEqual(loopback.stdout, "", "nothing on stdout")
            assert.deepStrictEqual([noEvent.code, noEvent.error.code], [2, "USAGE"])
            assert.include(noEvent.error.message, "--event")
            assert.deepStrictEqual([badEvent.code, badEvent.error.code], [2, "USAGE"])
            assert.deepStrictEqual([noKey.code, noKey.error.code], [6, "UNAUTHORIZED"])
            for (const missing of [deleteUnknown, rotateUnknown, deliveriesUnknown]) {
              assert.deepStrictEqual([missing.code, missing.error.code], [3, "NOT_FOUND"], missing.stderr)
              assert.strictEqual(missing.error.message, "Webhook not found")
              assert.strictEqual(missing.stdout, "")
            }
            assert.deepStrictEqual(
              [redeliverUnknown.code, redeliverUnknown.error.code, redeliverUnknown.error.message],
              [3, "NOT_FOUND", "Webhook delivery not found"]
            )
            const none = await cli(["webhook", "list"])
            assert.deepStrictEqual(none.json, { webhooks: [] }, "the refused URL was not registered")
          })
        }),
      testTimeout
    )

    it.effect(
      "deliveries_page_by_cursor_or_all_export_as_jsonl_and_csv_and_redeliver_answers_202_pending",
      () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* context
          const sql = yield* SqlClient.SqlClient
          const { cli } = yield* workspaceThroughCli(baseUrl, "Deliveries", 10)
          const onCancel = yield* promise(async () => {
            const [onCancel, onComplete] = await Promise.all([
              cli(["webhook", "create", "--url", PUBLIC_URL, "--event", "run.cancelled"]),
              cli(["webhook", "create", "--url", `${PUBLIC_URL}/done`, "--event", "run.completed"])
            ])
            assert.strictEqual(onCancel.code, 0, onCancel.stderr)
            const id = onCancel.json.webhook.id as string
            const before = await cli(["webhook", "deliveries", id])
            assert.deepStrictEqual(
              [before.code, before.json],
              [0, { deliveries: [], nextCursor: null, hasMore: false }],
              before.stderr
            )

            // two runs over an explicit Lead, cancelled: each settles at once and writes its delivery
            const runs: Array<string> = []
            for (const email of ["first@corp.example", "second@corp.example"]) {
              const lead = await cli(["lead", "create", "--type", "person", "--email", email])
              const scope = JSON.stringify({ type: "explicit_leads", leadIds: [lead.json.lead.id] })
              const run = await cli(["enrichment", "create", "--enrichment-id", "email_validation", "--scope", scope])
              assert.strictEqual(run.code, 0, run.stderr)
              const cancelled = await cli(["enrichment", "cancel", run.json.runId])
              assert.deepStrictEqual([cancelled.code, cancelled.json.run.status], [0, "cancelled"], cancelled.stderr)
              runs.push(run.json.runId)
            }
            const newestFirst = [...runs].reverse()

            const [first, all, jsonl, csv, other] = await Promise.all([
              cli(["webhook", "deliveries", id, "--limit", "1"]),
              cli(["webhook", "deliveries", id, "--all", "--limit", "1"]),
              cli(["webhook", "deliveries", id, "--format", "jsonl"]),
              cli(["webhook", "deliveries", id, "--format", "csv"]),
              cli(["webhook", "deliveries", onComplete.json.webhook.id])
            ])
            assert.strictEqual(first.code, 0, first.stderr)
            assert.strictEqual(first.json.deliveries.length, 1)
            assert.deepStrictEqual([first.json.hasMore, typeof first.json.nextCursor], [true, "string"])
            assert.include(first.json.deliveries[0], {
              eventType: "run.cancelled",
              runId: newestFirst[0],
              status: "pending",
              attempts: 0,
              lastStatusCode: null,
              lastError: null
            })
            const second = await cli(["webhook", "deliveries", id, "--limit", "1", "--cursor", first.json.nextCursor])
            assert.deepStrictEqual(
              [second.json.deliveries.map((d: any) => d.runId), second.json.hasMore, second.json.nextCursor],
              [[newestFirst[1]], false, null]
            )

            assert.strictEqual(all.code, 0, all.stderr)
            assert.deepStrictEqual(
              [all.json.deliveries.map((d: any) => d.runId), all.json.nextCursor, all.json.hasMore],
              [newestFirst, null, false]
            )
            assert.deepStrictEqual(
              jsonl.stdout
                .trim()
                .split("\n")
                .map((line) => JSON.parse(line).runId),
              newestFirst
            )
            assert.include(jsonl.stderr, `exported 2 deliveries of webhook ${id}`)
            const rows = csv.stdout.trim().split("\n")
            assert.deepStrictEqual(
              [rows[0], rows.length],
              ["id,eventType,runId,status,attempts,lastStatusCode,lastError,nextAttemptAt,createdAt", 3]
            )
            assert.match(rows[1]!, new RegExp(`^[^,]+,run\\.cancelled,${newestFirst[0]},pending,0,,,`))
            assert.deepStrictEqual(other.json, { deliveries: [], nextCursor: null, hasMore: false })

            const delivery = first.json.deliveries[0]
            const redelivered = await cli(["webhook", "redeliver", id, delivery.id])
            assert.strictEqual(redelivered.code, 0, redelivered.stderr)
            assert.include(redelivered.json.delivery, {
              id: delivery.id,
              runId: newestFirst[0],
              status: "pending",
              attempts: 0
            })
            const elsewhere = await cli(["webhook", "redeliver", onComplete.json.webhook.id, delivery.id])
            assert.deepStrictEqual([elsewhere.code, elsewhere.error.code], [3, "NOT_FOUND"])
            return { id, deliveryId: delivery.id as string }
          })

          // an endpoint that answered 410 Gone is disabled: a redelivery is refused (409, exit 4)
          yield* sql`UPDATE webhooks SET disabled_at = now() WHERE id = ${onCancel.id}`
          const disabled = yield* promise(() => cli(["webhook", "redeliver", onCancel.id, onCancel.deliveryId]))
          assert.deepStrictEqual([disabled.code, disabled.error.code], [4, "WEBHOOK_DISABLED"], disabled.stderr)
          assert.include(disabled.error.message, "410 Gone")
        }),
      testTimeout
    )
  }
)
