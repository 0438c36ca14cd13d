/**
 * Per-API-key rate limiting: a token bucket per key, refilled at
 * `ENRICH_RATE_LIMIT` requests per second up to `ENRICH_RATE_LIMIT_BURST`
 * (defaults 50 and 100; 0 turns it off). Buckets live in the process: with N
 * API processes behind a balancer a key gets at most N times the rate.
 */
import { Config, Context, Effect, Layer } from "effect"

export class RateLimiter extends Context.Service<
  RateLimiter,
  {
    /** Takes one token for `key`: allowed, or how many seconds until one is available. */
    readonly take: (
      key: string
    ) => Effect.Effect<{ readonly allowed: true } | { readonly allowed: false; readonly retryAfter: number }>
  }
>()("@enrich/http/RateLimiter") {
  static readonly make = (options: {
    readonly perSecond: number
    readonly burst: number
    readonly now?: () => number
  }) => {
    const now = options.now ?? (() => performance.now() / 1000)
    const buckets = new Map<string, { tokens: number; at: number }>()
    return RateLimiter.of({
      take: (key) =>
        Effect.sync(() => {
          if (options.perSecond <= 0) return { allowed: true as const }
          const t = now()
          const bucket = buckets.get(key) ?? { tokens: options.burst, at: t }
          bucket.tokens = Math.min(options.burst, bucket.tokens + (t - bucket.at) * options.perSecond)
          bucket.at = t
          buckets.set(key, bucket)
          if (bucket.tokens >= 1) {
            bucket.tokens -= 1
            return { allowed: true as const }
          }
          return {
            allowed: false as const,
            retryAfter: Math.max(1, Math.ceil((1 - bucket.tokens) / options.perSecond))
          }
        })
    })
  }

  static readonly layer = Layer.effect(
    RateLimiter,
    Effect.gen(function* () {
      const perSecond = yield* Config.Number("ENRICH_RATE_LIMIT").pipe(Config.withDefault(50))
      const burst = yield* Config.Number("ENRICH_RATE_LIMIT_BURST").pipe(Config.withDefault(100))
      return RateLimiter.make({ perSecond, burst: Math.max(1, burst) })
    })
  )
}
