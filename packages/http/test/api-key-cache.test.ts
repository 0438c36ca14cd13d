/**
 * API keys remembered by an API process (ApiKeyCache, DECISIONS.md 36), over a real server and a real
 * Postgres: a revocation made elsewhere reaches the process by NOTIFY at once, not at the entry's expiry,
 * and a key revoked without a notification (SQL outside the API) is refused once its entry expires.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
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
})
