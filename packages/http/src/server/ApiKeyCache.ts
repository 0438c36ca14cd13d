/**
 * API keys this process has looked up, remembered for `ENRICH_API_KEY_CACHE_SECONDS` (default 60; 0
 * turns it off), so a request costs no authentication statement while its key is remembered
 * (DECISIONS.md 36) — valid keys, and keys that do not exist (DECISIONS.md 50), so a client repeating
 * a made-up key costs one statement, not one per request. Both stay exact:
 *
 * - a revocation notifies API_KEY_REVOKED_CHANNEL at its commit, and every API process listens on its own
 *   connection and forgets the key when the notification arrives (milliseconds);
 * - a key that becomes valid (inserted, by the API or by SQL, or un-revoked) notifies API_KEY_ADDED_CHANNEL
 *   at its commit (a trigger, migration 0012), and every API process forgets every unknown key it
 *   remembers: a remembered "unknown" never outlives a key's creation;
 * - a change of a key's scopes, credit limit or expiry (by SQL: the API sets them only at creation) notifies
 *   API_KEY_CHANGED_CHANNEL at its commit (a trigger, migration 0015), and every API process forgets the key
 *   (its streams go on): the next request reads it again. Expiry itself is judged at each request by the
 *   clock (Auth.ts), so a remembered key is refused from the instant it expires (DECISIONS.md 69);
 * - while that connection is down (and until it listens again) nothing is remembered: every request asks
 *   the database, as without the cache;
 * - a lookup that overlaps a notification is not remembered (a generation counter), so a request that
 *   read the key just before its revocation or creation cannot make the old answer outlive it;
 * - requests for a key being looked up wait for that lookup (begun since the last notification) instead
 *   of each asking the database: a burst of one made-up key costs one statement.
 *
 * What is remembered is, by the SHA-256 of the secret, the key's id, workspace and restrictions for at most MAX_ENTRIES
 * valid keys, and an expiry for at most MAX_UNKNOWN unknown ones (past that, the oldest go). An entry
 * older than the TTL is looked up again, which also keeps `last_used_at` within about a minute. A key
 * revoked by SQL outside the API (no NOTIFY) is refused once its entry expires.
 */
import { Config, Context, Deferred, Duration, Effect, Layer, Option, Queue, Schedule, Scope } from "effect"
import { PgClient, PgConnection } from "@effect/sql-pg"
import { createHash } from "node:crypto"
import {
  API_KEY_ADDED_CHANNEL,
  API_KEY_CHANGED_CHANNEL,
  API_KEY_REVOKED_CHANNEL,
  type AuthenticatedApiKey,
  Workspaces
} from "@enrich/adapters/postgres/Workspaces"
import { apiKeyLookups, Metrics } from "./Metrics.ts"

/** At most this many valid keys are remembered per process. */
const MAX_ENTRIES = 10_000

/** At most this many unknown keys are remembered per process (about 150 bytes each). */
const MAX_UNKNOWN = 10_000

/** A key found valid (not revoked), with its restrictions; whether it has expired is judged per request. */
export type AuthenticatedKey = AuthenticatedApiKey

export class ApiKeyCache extends Context.Service<
  ApiKeyCache,
  {
    /** The key's workspace, from memory while it is fresh and notifications are heard, else from the database. */
    readonly authenticate: (secret: string) => Effect.Effect<Option.Option<AuthenticatedKey>>
    /** The key's workspace if this process remembers it valid now; never asks the database. */
    readonly remembered: (secret: string) => Option.Option<AuthenticatedKey>
    /** Forgets a key in this process at once (its revocation through this process). */
    readonly forget: (keyId: string) => Effect.Effect<void>
    /**
     * Calls `listener` with the id of every key revoked from now on, as this process hears of it
     * (its own revocations and those notified), until the scope closes.
     */
    readonly onRevoked: (listener: (keyId: string) => void) => Effect.Effect<void, never, Scope.Scope>
  }
>()("@enrich/http/ApiKeyCache") {
  static readonly layer = Layer.effect(
    ApiKeyCache,
    Effect.gen(function* () {
      const workspaces = yield* Workspaces
      const pg = yield* PgClient.PgClient
      const metrics = yield* Metrics
      const ttlMs = (yield* Config.Number("ENRICH_API_KEY_CACHE_SECONDS").pipe(Config.withDefault(60))) * 1000
      const entries = new Map<string, { readonly key: AuthenticatedKey; readonly until: number }>()
      // digest → expiry; insertion order is expiry order (one TTL), so the first is the oldest
      const unknown = new Map<string, number>()
      const inflight = new Map<
        string,
        { readonly generation: number; readonly answer: Deferred.Deferred<Option.Option<AuthenticatedKey>> }
      >()
      // whether notifications are heard now; bumped by every notification heard and every (re)connection
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
      const rememberUnknown = (digest: string, now: number) => {
        unknown.delete(digest)
        if (unknown.size >= MAX_UNKNOWN) {
          const oldest = unknown.keys().next()
          if (!oldest.done) unknown.delete(oldest.value)
        }
        unknown.set(digest, now + ttlMs)
      }
      const revokedListeners = new Set<(keyId: string) => void>()
      const forgetEntries = (keyId: string) => {
        generation++
        for (const [digest, entry] of entries) if (entry.key.keyId === keyId) entries.delete(digest)
      }
      const forgetKey = (keyId: string) => {
        forgetEntries(keyId)
        for (const listener of revokedListeners) listener(keyId)
      }
      const keyAdded = () => {
        generation++
        unknown.clear()
      }

      if (ttlMs > 0) {
        const heard = Deferred.makeUnsafe<void>()
        // on a connection of its own, not one of the pool's; both channels on it
        const listen = Effect.gen(function* () {
          const own = yield* (yield* PgConnection.make(pg.config)).pin
          const revoked = yield* own.listen(API_KEY_REVOKED_CHANNEL)
          const added = yield* own.listen(API_KEY_ADDED_CHANNEL)
          const changed = yield* own.listen(API_KEY_CHANGED_CHANNEL)
          yield* Effect.addFinalizer(() =>
            Effect.sync(() => {
              listening = false
              generation++
              entries.clear()
              unknown.clear()
            })
          )
          listening = true
          generation++
          Deferred.doneUnsafe(heard, Effect.void)
          const loop = <A>(queue: Queue.Dequeue<A, unknown>, onNotification: (notification: A) => void) =>
            Effect.forever(
              Effect.flatMap(Queue.takeAll(queue), (all) => Effect.sync(() => all.forEach(onNotification)))
            )
          return yield* Effect.raceAllFirst([
            loop(revoked, (n) => forgetKey(n.payload)),
            loop(added, keyAdded),
            loop(changed, (n) => forgetEntries(n.payload))
          ])
        }).pipe(Effect.scoped)
        yield* listen.pipe(
          Effect.tapCause((cause) => Effect.logWarning("listening for API key changes failed; retrying", cause)),
          Effect.retry(Schedule.spaced(Duration.seconds(1))),
          Effect.forkScoped
        )
        // the server opens once this process hears key changes (it remembers nothing until then), unless
        // that takes long: then it opens without, and remembers from when it does
        yield* Deferred.await(heard).pipe(Effect.timeout("5 seconds"), Effect.ignore)
      }

      const digestOf = (secret: string) => createHash("sha256").update(secret).digest("base64")

      const lookup = (secret: string) =>
        workspaces
          .authenticate(secret)
          .pipe(
            Effect.tap((found) =>
              Effect.sync(() => metrics.count(Option.isSome(found) ? apiKeyLookups.found : apiKeyLookups.unknown))
            )
          )

      const authenticate = (secret: string) =>
        Effect.suspend(() => {
          if (ttlMs <= 0) return lookup(secret)
          const digest = digestOf(secret)
          const now = Date.now()
          if (listening) {
            const entry = entries.get(digest)
            if (entry !== undefined && entry.until > now) return Effect.succeedSome(entry.key)
            const until = unknown.get(digest)
            if (until !== undefined && until > now) return Effect.succeedNone
          }
          const before = generation
          // a key already being looked up waits for that answer, unless a notification came since it began
          const pending = listening ? inflight.get(digest) : undefined
          if (pending !== undefined && pending.generation === before) return Deferred.await(pending.answer)
          const answer = Deferred.makeUnsafe<Option.Option<AuthenticatedKey>>()
          if (listening) inflight.set(digest, { generation: before, answer })
          return lookup(secret).pipe(
            Effect.tap((found) =>
              Effect.sync(() => {
                const current = listening && generation === before
                if (Option.isNone(found)) {
                  entries.delete(digest)
                  if (current) rememberUnknown(digest, now)
                } else {
                  unknown.delete(digest)
                  if (current) remember(digest, found.value, now)
                }
              })
            ),
            Effect.onExit((exit) =>
              Effect.sync(() => {
                if (inflight.get(digest)?.answer === answer) inflight.delete(digest)
                Deferred.doneUnsafe(answer, exit)
              })
            ),
            // one statement: it ends even when the request that began it is gone, for those waiting on it
            Effect.uninterruptible
          )
        })

      const remembered = (secret: string): Option.Option<AuthenticatedKey> => {
        if (ttlMs <= 0 || !listening) return Option.none()
        const entry = entries.get(digestOf(secret))
        return entry !== undefined && entry.until > Date.now() ? Option.some(entry.key) : Option.none()
      }

      const onRevoked = (listener: (keyId: string) => void) =>
        Effect.acquireRelease(
          Effect.sync(() => revokedListeners.add(listener)),
          () => Effect.sync(() => revokedListeners.delete(listener))
        ).pipe(Effect.asVoid)

      return ApiKeyCache.of({
        authenticate,
        remembered,
        forget: (keyId) => Effect.sync(() => forgetKey(keyId)),
        onRevoked
      })
    })
  )
}
