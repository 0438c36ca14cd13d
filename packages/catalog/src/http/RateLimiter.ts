/**
 * The per-provider rate limiter of configured HTTP providers: a token bucket
 * (`requestsPerSecond`, capacity `burst`) shared by every call of a provider
 * in this process, which the vendor can also pause — a 429 with `Retry-After`,
 * or `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset` — so that no call of
 * that provider goes out before the vendor said it may.
 *
 * Each `acquire` reserves the next slot at once (first come, first served) and
 * sleeps until it; a pause invalidates the reservations made before it (they
 * reserve again after the pause, from an empty bucket). So in any 1-second
 * window at most `burst + requestsPerSecond` requests start.
 *
 * Per process: several worker processes each have their own bucket (see
 * docs/PROVIDERS.md).
 */
import { Clock, Effect } from "effect"

export interface RateLimit {
  readonly requestsPerSecond: number
  readonly burst: number
}

/** A pause longer than the provider allows (`rateLimit.maxWaitMs`): the call fails instead of waiting. */
export interface TooLongWait {
  readonly _tag: "TooLongWait"
  readonly waitMs: number
}

export interface RateLimiter {
  /** waits for a slot; fails when the provider is paused for longer than `maxWaitMs` */
  readonly acquire: (maxWaitMs: number) => Effect.Effect<void, TooLongWait>
  /**
   * waits until a slot would be free, without taking it (at most `maxWaitMs`): a
   * bulk request waits here while more Leads join it, then `acquire`s
   */
  readonly awaitReady: (maxWaitMs: number) => Effect.Effect<void>
  /** no call starts before `untilMs` (epoch ms); a later pause extends it */
  readonly pauseUntil: (untilMs: number) => Effect.Effect<void>
  /** for tests and metrics: the current pause end, 0 when none */
  readonly pausedUntil: () => number
}

export const makeRateLimiter = (limit: RateLimit): RateLimiter => {
  const perMs = limit.requestsPerSecond / 1000
  const capacity = Math.max(1, limit.burst)
  let tokens = capacity
  let updatedAt = 0
  let pausedUntil = 0
  let epoch = 0

  const refill = (now: number) => {
    if (updatedAt === 0) updatedAt = now
    if (now > updatedAt) {
      tokens = Math.min(capacity, tokens + (now - updatedAt) * perMs)
      updatedAt = now
    }
  }

  /** One reservation: how long to sleep, and the epoch it was made in. */
  const reserve = (now: number) => {
    refill(now)
    tokens -= 1
    return { waitMs: tokens >= 0 ? 0 : Math.ceil(-tokens / perMs), epoch }
  }

  const acquire = (maxWaitMs: number): Effect.Effect<void, TooLongWait> =>
    Effect.gen(function* () {
      while (true) {
        const now = yield* Clock.currentTimeMillis
        if (pausedUntil > now) {
          const waitMs = pausedUntil - now
          if (waitMs > maxWaitMs) return yield* Effect.fail<TooLongWait>({ _tag: "TooLongWait", waitMs })
          yield* Effect.sleep(waitMs)
          continue
        }
        const slot = reserve(now)
        if (slot.waitMs > 0) yield* Effect.sleep(slot.waitMs)
        // a pause that came while this call slept voids its reservation: reserve again after it
        if (slot.epoch === epoch) return
      }
    })

  const awaitReady = (maxWaitMs: number): Effect.Effect<void> =>
    Effect.gen(function* () {
      const started = yield* Clock.currentTimeMillis
      while (true) {
        const now = yield* Clock.currentTimeMillis
        if (pausedUntil > now && pausedUntil - now > maxWaitMs) return // acquire will refuse it
        refill(now)
        const waitMs = pausedUntil > now ? pausedUntil - now : tokens >= 1 ? 0 : Math.ceil((1 - tokens) / perMs)
        if (waitMs === 0 || now - started >= maxWaitMs) return
        yield* Effect.sleep(Math.min(waitMs, maxWaitMs))
      }
    })

  const pauseUntil = (untilMs: number) =>
    Effect.sync(() => {
      if (untilMs <= pausedUntil) return
      pausedUntil = untilMs
      epoch++
      // the bucket starts empty when the pause ends: the first call after it waits one interval
      tokens = 0
      updatedAt = untilMs
    })

  return { acquire, awaitReady, pauseUntil, pausedUntil: () => pausedUntil }
}

const limiters = new Map<string, RateLimiter>()

/**
 * The process-wide limiter of a provider (by slug and limits): every entry
 * built for the same provider in this process shares it.
 */
export const sharedRateLimiter = (slug: string, limit: RateLimit): RateLimiter => {
  const key = `${slug}|${limit.requestsPerSecond}|${limit.burst}`
  const existing = limiters.get(key)
  if (existing !== undefined) return existing
  const made = makeRateLimiter(limit)
  limiters.set(key, made)
  return made
}

// --- rate-limit headers ---------------------------------------------------------

/**
 * `Retry-After` as a wait in ms from `now`: delay-seconds (decimals accepted)
 * or an HTTP-date. `undefined` when absent or unreadable.
 */
export const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000)
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * `X-RateLimit-Reset` (or `RateLimit-Reset`) as a wait in ms from `now`. Accepted:
 * - an integer above 10^12: an epoch time in milliseconds;
 * - an integer above 10^9: an epoch time in seconds (GitHub, Twitter style);
 * - any other number: seconds from now (the IETF RateLimit draft; decimals accepted);
 * - otherwise an HTTP-date or ISO-8601 timestamp.
 */
export const parseRateLimitReset = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+(\.\d+)?$/.test(text)) {
    const n = Number(text)
    if (n > 1e12) return Math.max(0, Math.ceil(n - now))
    if (n > 1e9) return Math.max(0, Math.ceil(n * 1000 - now))
    return Math.ceil(n * 1000)
  }
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * How long the vendor asks us to wait, from a response's headers (names in
 * lower case): a 429's `Retry-After` (else its reset), or an exhausted quota
 * (`X-RateLimit-Remaining: 0` / `RateLimit-Remaining: 0`) with its reset.
 */
export const vendorWait = (
  status: number,
  headers: Readonly<Record<string, string | undefined>>,
  now: number
): number | undefined => {
  const reset = parseRateLimitReset(headers["x-ratelimit-reset"] ?? headers["ratelimit-reset"], now)
  if (status === 429) return parseRetryAfter(headers["retry-after"], now) ?? reset
  const remaining = headers["x-ratelimit-remaining"] ?? headers["ratelimit-remaining"]
  return remaining !== undefined && Number(remaining.trim()) <= 0 ? reset : undefined
}
