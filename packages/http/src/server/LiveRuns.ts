/**
 * Live progress for the SSE streams of `GET /api/enrichment/{id}/events`, bounded and shared
 * (DECISIONS.md 52):
 *
 * - **One watcher per process, not a poll per stream.** Every ENRICH_SSE_POLL_MS (250) one statement
 *   reads the positions of the runs that have streams open here; a run that moved is read once and its
 *   snapshot pushed to every stream following it. A thousand streams on one run cost what one does,
 *   and no stream costs a statement while its run does not move.
 * - **Caps.** At most ENRICH_SSE_MAX_STREAMS_PER_KEY (20) open streams per API key — one more is
 *   answered 429 `TOO_MANY_STREAMS` — and ENRICH_SSE_MAX_STREAMS (500) per process — 503
 *   `SERVER_BUSY`. Both with `Retry-After`. A slot is held by the request's scope: it is given back
 *   when the stream ends, whether the run settled, the client left or the key was revoked.
 * - **A revoked key's streams end**: at once when this process hears of the revocation (its own, or
 *   the NOTIFY of another's; ApiKeyCache), and within ENRICH_SSE_KEY_CHECK_SECONDS (30) for a key
 *   revoked by SQL without one (one statement checks the keys that have streams open).
 * - A slow client holds one snapshot, the newest: snapshots are whole, so a stream that falls behind
 *   skips to the latest instead of buffering.
 */
import { Config, Context, Data, Duration, Effect, Layer, Metric, Option, Queue, Schedule, Scope, Stream } from "effect"
import type { Cause } from "effect"
import { RunReadModel, type RunView } from "@enrich/adapters/postgres/RunReadModel"
import { Workspaces } from "@enrich/adapters/postgres/Workspaces"
import { ApiKeyCache, type AuthenticatedKey } from "./ApiKeyCache.ts"
import { countersBy, Metrics } from "./Metrics.ts"

export interface Snapshot {
  readonly run: RunView
  /** The run stream's version when it was read: the SSE `id:`. */
  readonly position: number
}

/** A stream refused by a cap: `key` (the key's own streams) or `process` (all streams here). */
export class StreamRefused extends Data.TaggedError("StreamRefused")<{
  readonly cap: "key" | "process"
  readonly limit: number
}> {}

const openStreams = Metric.gauge("enrich_sse_streams", {
  description: "SSE streams open in this process."
})
export const streamsRefused = countersBy(
  "enrich_sse_refused_total",
  "SSE streams refused by a cap: per API key (429) or per process (503).",
  "cap",
  ["key", "process"]
)
/** Statements the watcher ran to learn which followed runs moved: one per tick with streams open. */
export const positionReads = Metric.counter("enrich_sse_position_reads_total", {
  description: "Statements the SSE watcher ran to read the positions of the followed runs.",
  incremental: true
})

interface Follower {
  readonly keyId: string
  readonly queue: Queue.Queue<Snapshot, Cause.Done>
}

interface Followed {
  readonly workspaceId: string
  position: number
  latest: Snapshot | undefined
  readonly followers: Set<Follower>
}

const isSettled = (snapshot: Snapshot) => snapshot.run.timing.settledAt !== null

export class LiveRuns extends Context.Service<
  LiveRuns,
  {
    /**
     * The snapshots of a run from `first` on, each past `after` and past the one sent before, ending
     * after the settled one, or when the key is revoked. Refused past a cap. The slot is held until the
     * scope (the request's) closes.
     */
    readonly follow: (
      key: AuthenticatedKey,
      first: Snapshot,
      after: number
    ) => Effect.Effect<Stream.Stream<Snapshot>, StreamRefused, Scope.Scope>
  }
>()("@enrich/http/LiveRuns") {
  static readonly layer = Layer.effect(
    LiveRuns,
    Effect.gen(function* () {
      const runs = yield* RunReadModel
      const workspaces = yield* Workspaces
      const keys = yield* ApiKeyCache
      const metrics = yield* Metrics
      const maxStreams = yield* Config.Int("ENRICH_SSE_MAX_STREAMS").pipe(Config.withDefault(500))
      const maxPerKey = yield* Config.Int("ENRICH_SSE_MAX_STREAMS_PER_KEY").pipe(Config.withDefault(20))
      const pollMs = yield* Config.Int("ENRICH_SSE_POLL_MS").pipe(Config.withDefault(250))
      const keyCheckSeconds = yield* Config.Number("ENRICH_SSE_KEY_CHECK_SECONDS").pipe(Config.withDefault(30))
      for (const counter of [streamsRefused.key, streamsRefused.process, positionReads]) metrics.count(counter, 0)
      metrics.gauge(openStreams, 0)

      const followed = new Map<string, Followed>()
      const byKey = new Map<string, Set<Follower>>()
      let open = 0

      const endKey = (keyId: string) => {
        for (const follower of byKey.get(keyId) ?? []) Queue.endUnsafe(follower.queue)
      }
      yield* keys.onRevoked(endKey)

      const push = (runId: string, entry: Followed, snapshot: Snapshot) => {
        if (snapshot.position <= entry.position) return
        entry.position = snapshot.position
        entry.latest = snapshot
        for (const follower of entry.followers) Queue.offerUnsafe(follower.queue, snapshot)
        // its followers end after this one; the run is no longer read (a follower that comes later
        // reads the settled snapshot itself)
        if (isSettled(snapshot) && followed.get(runId) === entry) followed.delete(runId)
      }

      const tick = Effect.gen(function* () {
        if (followed.size === 0) return
        const watched = [...followed.entries()]
        metrics.count(positionReads)
        const positions = yield* runs.positions(watched.map(([runId]) => runId))
        const moved = watched.filter(([runId, entry]) => (positions.get(runId) ?? 0) > entry.position)
        yield* Effect.forEach(
          moved,
          ([runId, entry]) =>
            runs
              .getSnapshot(entry.workspaceId, runId)
              .pipe(Effect.map(Option.map((snapshot) => push(runId, entry, snapshot)))),
          { concurrency: 4, discard: true }
        )
      })
      yield* tick.pipe(
        // a failed read (the database away) is tried again on the next tick; the streams wait
        Effect.catchCause((cause) => Effect.logWarning("live run progress: reading positions failed", cause)),
        Effect.repeat(Schedule.spaced(Duration.millis(pollMs))),
        Effect.forkScoped
      )

      const checkKeys = Effect.gen(function* () {
        if (byKey.size === 0) return
        const valid = yield* workspaces.validKeys([...byKey.keys()])
        for (const keyId of byKey.keys()) if (!valid.has(keyId)) endKey(keyId)
      })
      yield* checkKeys.pipe(
        Effect.catchCause((cause) => Effect.logWarning("live run progress: checking keys failed", cause)),
        Effect.repeat(Schedule.spaced(Duration.seconds(keyCheckSeconds))),
        Effect.forkScoped
      )

      const follow = (key: AuthenticatedKey, first: Snapshot, after: number) =>
        Effect.gen(function* () {
          const sending = (source: Stream.Stream<Snapshot>) =>
            Stream.suspend(() => {
              let sent = after
              return source.pipe(
                // ends after the settled snapshot, also when the client had already seen it
                Stream.takeUntil(isSettled),
                Stream.filter((snapshot) => {
                  if (snapshot.position <= sent) return false
                  sent = snapshot.position
                  return true
                })
              )
            })
          // a settled run has nothing more to say: no slot, no watch
          if (isSettled(first)) return sending(Stream.make(first))

          const mine = byKey.get(key.keyId)
          if (open >= maxStreams) {
            metrics.count(streamsRefused.process)
            return yield* new StreamRefused({ cap: "process", limit: maxStreams })
          }
          if ((mine?.size ?? 0) >= maxPerKey) {
            metrics.count(streamsRefused.key)
            return yield* new StreamRefused({ cap: "key", limit: maxPerKey })
          }
          const queue = yield* Queue.sliding<Snapshot, Cause.Done>(1)
          const follower: Follower = { keyId: key.keyId, queue }
          const runId = first.run.id
          const entry = yield* Effect.acquireRelease(
            Effect.sync(() => {
              let entry = followed.get(runId)
              if (entry === undefined) {
                entry = { workspaceId: key.workspaceId, position: first.position, latest: first, followers: new Set() }
                followed.set(runId, entry)
              }
              entry.followers.add(follower)
              const ofKey = mine ?? new Set<Follower>()
              ofKey.add(follower)
              byKey.set(key.keyId, ofKey)
              open++
              metrics.gauge(openStreams, open)
              return entry
            }),
            (entry) =>
              Effect.sync(() => {
                entry.followers.delete(follower)
                if (entry.followers.size === 0 && followed.get(runId) === entry) followed.delete(runId)
                const ofKey = byKey.get(key.keyId)
                ofKey?.delete(follower)
                if (ofKey !== undefined && ofKey.size === 0) byKey.delete(key.keyId)
                open--
                metrics.gauge(openStreams, open)
                Queue.endUnsafe(queue)
              })
          )
          // registered before this read, so every snapshot pushed from now on reaches the queue; one the
          // watcher pushed before is its latest
          const start = entry.latest !== undefined && entry.latest.position > first.position ? entry.latest : first
          return sending(Stream.concat(Stream.make(start), Stream.fromQueue(queue)))
        })

      return LiveRuns.of({ follow })
    })
  )
}
