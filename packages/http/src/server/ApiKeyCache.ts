/**
 * API keys this process has found valid, remembered for `ENRICH_API_KEY_CACHE_SECONDS` (default 60; 0
 * turns it off), so a request costs no authentication statement while its key is remembered
 * (DECISIONS.md 36). Revocation still takes effect at once:
 *
 * - a revocation notifies API_KEY_REVOKED_CHANNEL at its commit, and every API process listens on its own
 *   connection and forgets the key when the notification arrives (milliseconds);
 * - while that connection is down (and until it listens again) nothing is remembered: every request asks
 *   the database, as without the cache;
 * - a lookup that overlaps a revocation's notification is not remembered (a generation counter), so a
 *   request that read the key just before its revocation cannot make it outlive it.
 *
 * What is remembered is the key's id and workspace, by the SHA-256 of its secret, for at most MAX_ENTRIES
 * keys. An entry older than the TTL is looked up again, which also keeps `last_used_at` within about a
 * minute. A key revoked by SQL outside the API (no NOTIFY) is refused once its entry expires.
 */
import { Config, Context, Duration, Effect, Layer, Option, Queue, Schedule } from "effect"
import { PgClient } from "@effect/sql-pg"
import * as Reactivity from "effect/reactivity/Reactivity"
import { createHash } from "node:crypto"
import { API_KEY_REVOKED_CHANNEL, Workspaces } from "@enrich/adapters/postgres/Workspaces"

/** At most this many keys are remembered per process. */
const MAX_ENTRIES = 10_000

export interface AuthenticatedKey {
  readonly workspaceId: string
  readonly keyId: string
}

export class ApiKeyCache extends Context.Service<
  ApiKeyCache,
  {
    /** The key's workspace, from memory while it is fresh and revocations are heard, else from the database. */
    readonly authenticate: (secret: string) => Effect.Effect<Option.Option<AuthenticatedKey>>
    /** Forgets a key in this process at once (its revocation through this process). */
    readonly forget: (keyId: string) => Effect.Effect<void>
  }
>()("@enrich/http/ApiKeyCache") {
  static readonly layer = Layer.effect(
    ApiKeyCache,
    Effect.gen(function* () {
      const workspaces = yield* Workspaces
      const pg = yield* PgClient.PgClient
      const ttlMs = (yield* Config.Number("ENRICH_API_KEY_CACHE_SECONDS").pipe(Config.withDefault(60))) * 1000
      const entries = new Map<string, { readonly key: AuthenticatedKey; readonly until: number }>()
      // whether revocations are heard now; bumped by every revocation heard and every (re)connection
      let listening = false
      let generation = 0
      const remember = (digest: string, key: AuthenticatedKey, now: number) => {
        // bounded: past MAX_ENTRIES the expired entries go, and if that is not enough, all of them
        if (entries.size >= MAX_ENTRIES) {
          for (const [d, e] of entries) if (e.until <= now) entries.delete(d)
          if (entries.size >= MAX_ENTRIES) entries.clear()
        }
        entries.set(digest, { key, until: now + ttlMs })
      }
      const forgetKey = (keyId: string) => {
        generation++
        for (const [digest, entry] of entries) if (entry.key.keyId === keyId) entries.delete(digest)
      }

      if (ttlMs > 0) {
        // on a connection of its own, not one of the pool's
        const listen = Effect.gen(function* () {
          const own = yield* PgClient.makeClient(pg.config).pipe(Effect.provide(Reactivity.layer))
          const revoked = yield* own.listen(API_KEY_REVOKED_CHANNEL)
          yield* Effect.addFinalizer(() =>
            Effect.sync(() => {
              listening = false
              generation++
              entries.clear()
            })
          )
          listening = true
          generation++
          for (;;) {
            for (const notification of yield* Queue.takeAll(revoked)) forgetKey(notification.payload)
          }
        }).pipe(Effect.scoped)
        yield* listen.pipe(
          Effect.tapCause((cause) => Effect.logWarning("listening for API key revocations failed; retrying", cause)),
          Effect.retry(Schedule.spaced(Duration.seconds(1))),
          Effect.forkScoped
        )
      }

      const authenticate = (secret: string) =>
        Effect.suspend(() => {
          if (ttlMs <= 0) return workspaces.authenticate(secret)
          const digest = createHash("sha256").update(secret).digest("base64")
          const now = Date.now()
          const entry = listening ? entries.get(digest) : undefined
          if (entry !== undefined && entry.until > now) return Effect.succeed(Option.some(entry.key))
          const before = generation
          return workspaces.authenticate(secret).pipe(
            Effect.tap((found) =>
              Effect.sync(() => {
                if (Option.isNone(found)) entries.delete(digest)
                else if (listening && generation === before) remember(digest, found.value, now)
              })
            )
          )
        })

      return ApiKeyCache.of({ authenticate, forget: (keyId) => Effect.sync(() => forgetKey(keyId)) })
    })
  )
}
