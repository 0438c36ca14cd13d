/**
 * API keys remembered by an API process (ApiKeyCache, DECISIONS.md 36 and 50), over a real server and a
 * real Postgres: a revocation made elsewhere reaches the process by NOTIFY at once, not at the entry's
 * expiry, and a key revoked without a notification (SQL outside the API) is refused once its entry
 * expires; a key remembered unknown works as soon as it becomes valid, however it does (a trigger
 * notifies), and a made-up key is looked up once however often it is sent.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { createHash } from "node:crypto"
import { SqlClient } from "effect/sql"
import { Workspaces } from "@enrich/adapters/postgres/Workspaces"
import { Persistence } from "@enrich/adapters/Services"
import { ADMIN_TOKEN, apiOnlyTestServer, TestServer } from "./support/TestServer.ts"

const TTL_SECONDS = 3

const Server = apiOnlyTestServer({ ENRICH_API_KEY_CACHE_SECONDS: String(TTL_SECONDS) })

/** A workspace, its key, and the key's id; the key used once (so the server remembers it). */
const rememberedKey = Effect.gen(function* () {
  const api = yield* TestServer
  const created = yield* Effect.promise(() =>
    api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Cache", credits: 0 } })
  )
  const key = created.body.apiKey as string
  const workspaceId = created.body.workspace.id as string
  const listed = yield* Effect.promise(() => api.get(`/admin/workspaces/${workspaceId}/api-keys`, { key: ADMIN_TOKEN }))
  assert.strictEqual((yield* Effect.promise(() => api.get("/api/credits", { key }))).status, 200)
  return { key, keyId: listed.body.apiKeys[0].id as string }
})

const status = (key: string) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    return (yield* Effect.promise(() => api.get("/api/credits", { key }))).status
  })

layer(Server, { timeout: 60_000, excludeTestServices: true })("ApiKeyCache (integration)", (it) => {
  it.effect("a_key_revoked_by_another_process_is_refused_as_soon_as_its_revocation_is_heard", () =>
    Effect.gen(function* () {
      const { key, keyId } = yield* rememberedKey
      // another process's revocation: the same store code on its own services, not this server's handler
      const revoked = yield* Effect.gen(function* () {
        return yield* (yield* Workspaces).revokeApiKey(keyId)
      }).pipe(Effect.provide(Persistence))
      assert.isTrue(Option.isSome(revoked))
      const started = Date.now()
      let answer = yield* status(key)
      while (answer === 200 && Date.now() - started < TTL_SECONDS * 1000) {
        yield* Effect.sleep("20 millis")
        answer = yield* status(key)
      }
      assert.strictEqual(answer, 401)
      // by the notification, well before the entry would have expired
      assert.isBelow(Date.now() - started, 1000)
    })
  )

  it.effect("a_key_revoked_without_a_notification_is_refused_once_its_entry_expires", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const { key, keyId } = yield* rememberedKey
      // an operator's SQL, which notifies nobody: the server still answers from memory
      yield* sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${keyId}`
      assert.strictEqual(yield* status(key), 200)
      yield* Effect.sleep(`${TTL_SECONDS * 1000 + 300} millis`)
      assert.strictEqual(yield* status(key), 401)
    })
  )

  it.effect("an_unknown_key_is_refused_and_a_known_one_still_accepted_after_it", () =>
    Effect.gen(function* () {
      const { key } = yield* rememberedKey
      assert.strictEqual(yield* status(`${key}x`), 401)
      assert.strictEqual(yield* status(key), 200)
    })
  )

  it.effect("a_key_remembered_unknown_works_as_soon_as_it_is_inserted_or_unrevoked_by_sql", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const api = yield* TestServer
      const created = yield* Effect.promise(() =>
        api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Imported", credits: 0 } })
      )
      const workspaceId = created.body.workspace.id as string
      // a key an operator imports by SQL (say, from the hosted platform): refused first, and remembered unknown
      const secret = "ek_imported_from_elsewhere_0001"
      const lookups = Effect.map(
        Effect.promise(() => api.get("/metrics")),
        (r) => Number(/enrich_api_key_lookups_total\{result="unknown"\} (\d+)/.exec(String(r.body))?.[1])
      )
      assert.strictEqual(yield* status(secret), 401)
      // (remembered once the process listens for key changes, which it does within moments of starting)
      let before = yield* lookups
      for (let i = 0; i < 50; i++) {
        assert.strictEqual(yield* status(secret), 401)
        const now = yield* lookups
        if (now === before) break
        before = now
        yield* Effect.sleep("100 millis")
      }
      for (let i = 0; i < 5; i++) assert.strictEqual(yield* status(secret), 401)
      assert.strictEqual(yield* lookups, before, "remembered unknown: no lookup")
      const digest = createHash("sha256").update(secret).digest()
      yield* sql`INSERT INTO api_keys (id, workspace_id, prefix, secret_sha256)
        VALUES ('imported-1', ${workspaceId}, ${secret.slice(0, 10)}, ${digest})`
      const accepted = (since: number) =>
        Effect.gen(function* () {
          let answer = yield* status(secret)
          while (answer === 401 && Date.now() - since < TTL_SECONDS * 1000) {
            yield* Effect.sleep("20 millis")
            answer = yield* status(secret)
          }
          return answer
        })
      let started = Date.now()
      assert.strictEqual(yield* accepted(started), 200)
      assert.isBelow(Date.now() - started, 1000, "by the notification, well before the entry would have expired")
      // revoked (refused, then remembered unknown), and un-revoked by SQL: accepted again at once
      yield* sql`UPDATE api_keys SET revoked_at = now() WHERE id = 'imported-1'`
      yield* Effect.sleep(`${TTL_SECONDS * 1000 + 300} millis`)
      assert.strictEqual(yield* status(secret), 401)
      assert.strictEqual(yield* status(secret), 401)
      yield* sql`UPDATE api_keys SET revoked_at = NULL WHERE id = 'imported-1'`
      started = Date.now()
      assert.strictEqual(yield* accepted(started), 200)
      assert.isBelow(Date.now() - started, 1000)
    })
  )
})
