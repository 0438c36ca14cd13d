/**
 * A request whose transaction PostgreSQL fails to break a deadlock runs that transaction again instead of
 * answering 500 (decision 48); one that still fails so after its retries is answered 503 STORE_UNAVAILABLE
 * with Retry-After, and changed nothing (decision 64). The deadlock is made on purpose, its two sides queued in a chosen order: a
 * transaction of the test holds a pending item of a run, the cancel request takes the run's stream row and
 * waits for that item, then the test's transaction asks for the stream row. The cancel waited first, so
 * PostgreSQL fails the cancel's transaction; it runs again once the test's transaction ends.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { SqlClient } from "effect/sql"
import { lockWaiters } from "@enrich/adapters/testing/LockWaiters"
import { ADMIN_TOKEN, ApiOnlyTestServer, apiOnlyTestServer, expectError, use } from "./support/TestServer.ts"

layer(ApiOnlyTestServer, { timeout: 60_000, excludeTestServices: true })("Handlers and transient failures", (it) => {
  it.effect("regression_a_deadlock_in_a_handler_was_a_500_instead_of_running_its_transaction_again", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const ws = yield* use((api) =>
        api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Deadlock", credits: 5 } })
      )
      const key = ws.body.apiKey as string
      yield* use((api) =>
        api.post("/api/lists/import", {
          key,
          body: { leads: ["a@corp.example", "b@corp.example"].map((email) => ({ type: "person", email })) }
        })
      )
      const dispatched = yield* use((api) =>
        api.post("/api/enrichment", {
          key,
          body: { enrichmentId: "email_validation", scope: { type: "list", listId: "all" } }
        })
      )
      assert.strictEqual(dispatched.status, 202, JSON.stringify(dispatched.body))
      const runId = dispatched.body.runId as string

      const holdsItem = yield* Deferred.make<void>()
      const askStream = yield* Deferred.make<void>()
      const other = yield* sql
        .withTransaction(
          Effect.gen(function* () {
            yield* sql`SELECT id FROM run_items WHERE run_id = ${runId} AND ordinal = 1 FOR UPDATE`
            yield* Deferred.succeed(holdsItem, undefined)
            yield* Deferred.await(askStream)
            yield* sql`SELECT version FROM event_streams WHERE stream_id = ${`run-${runId}`} FOR UPDATE`
          })
        )
        .pipe(Effect.forkChild)
      yield* Deferred.await(holdsItem)
      const cancel = yield* use((api) => api.post(`/api/enrichment/${runId}/cancel`, { key })).pipe(Effect.forkChild)
      yield* lockWaiters(1)
      yield* Deferred.succeed(askStream, undefined)
      yield* Fiber.join(other)
      const answer = yield* Fiber.join(cancel)
      assert.strictEqual(answer.status, 200, JSON.stringify(answer.body))
      const run = yield* use((api) => api.get(`/api/enrichment/${runId}`, { key }))
      assert.strictEqual(run.body.run.status, "cancelled")
      assert.isNotNull(run.body.run.timing.settledAt)
    })
  )
})

layer(apiOnlyTestServer({ ENRICH_DB_LOCK_TIMEOUT_MS: "50" }), { timeout: 60_000, excludeTestServices: true })(
  "Handlers and store failures that do not pass",
  (it) => {
    it.effect("a_lock_that_outlasts_every_retry_is_a_503_with_retry_after_and_changes_nothing", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const ws = yield* use((api) =>
          api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Locked", credits: 5 } })
        )
        const workspaceId = ws.body.workspace.id as string
        const held = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const holder = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              yield* sql`SELECT 1 FROM credit_accounts WHERE workspace_id = ${workspaceId} FOR UPDATE`
              yield* Deferred.succeed(held, undefined)
              yield* Deferred.await(release)
            })
          )
          .pipe(Effect.forkChild)
        yield* Deferred.await(held)
        // every attempt of the grant's transaction waits 50 ms for the account's row and gives up
        const refused = yield* use((api) =>
          api.post(`/admin/workspaces/${workspaceId}/credits`, {
            key: ADMIN_TOKEN,
            body: { amount: 7, reason: "top-up" }
          })
        )
        expectError(refused, 503, "STORE_UNAVAILABLE")
        assert.strictEqual(refused.headers.get("retry-after"), "1")
        assert.strictEqual(refused.body.retryAfter, 1)
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(holder)
        const [account] = yield* sql<{ granted: string }>`
          SELECT granted::text FROM credit_accounts WHERE workspace_id = ${workspaceId}`
        assert.strictEqual(account?.granted, "5")
        const granted = yield* use((api) =>
          api.post(`/admin/workspaces/${workspaceId}/credits`, {
            key: ADMIN_TOKEN,
            body: { amount: 7, reason: "top-up" }
          })
        )
        assert.strictEqual(granted.status, 200, JSON.stringify(granted.body))
        assert.strictEqual(granted.body.balance, 12)
      })
    )
  }
)
