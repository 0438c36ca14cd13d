/**
 * Rate limits, token buckets kept in the process (with N API processes behind a balancer a client gets
 * at most N times the rate):
 *
 * - per API key, after authentication: `ENRICH_RATE_LIMIT` requests per second up to
 *   `ENRICH_RATE_LIMIT_BURST` (defaults 50 and 100; 0 turns it off);
 * - per client address, before authentication (UnauthenticatedLimiter): every request with a missing
 *   or wrong key or token takes a token of its address, `ENRICH_UNAUTHENTICATED_RATE_LIMIT` per second
 *   up to `ENRICH_UNAUTHENTICATED_RATE_LIMIT_BURST` (defaults 5 and 20; 0 turns it off); an address
 *   without a token left is answered 429 before its key is even looked up, valid key or not. Requests
 *   with a valid key take none. IPv6 addresses count by their /64 (what one client usually holds).
 */
import { Config, Context, Effect, Layer } from "effect"

type Verdict = { readonly allowed: true } | { readonly allowed: false; readonly retryAfter: number }

const allowed: Verdict = { allowed: true }

/**
 * Token buckets by key, `perSecond` refill up to `burst`. A full bucket is the same as none, so at most
 * `maxKeys` are kept: past it the least recently used go (a bucket is re-inserted when used).
 */
const makeBuckets = (options: {
  readonly perSecond: number
  readonly burst: number
  readonly maxKeys: number
  readonly now: () => number
}) => {
  const buckets = new Map<string, { tokens: number; at: number }>()
  const refill = (key: string) => {
    const t = options.now()
    const bucket = buckets.get(key)
    if (bucket === undefined) return { tokens: options.burst, at: t }
    bucket.tokens = Math.min(options.burst, bucket.tokens + (t - bucket.at) * options.perSecond)
    bucket.at = t
    return bucket
  }
  const store = (key: string, bucket: { tokens: number; at: number }) => {
    buckets.delete(key)
    if (bucket.tokens >= options.burst) return
    if (buckets.size >= options.maxKeys) {
      const oldest = buckets.keys().next()
      if (!oldest.done) buckets.delete(oldest.value)
    }
    buckets.set(key, bucket)
  }
  const verdict = (tokens: number): Verdict =>
    tokens >= 1 ? allowed : { allowed: false, retryAfter: Math.max(1, Math.ceil((1 - tokens) / options.perSecond)) }
  return {
    /** Whether `key` has a token, taking none. */
    peek: (key: string): Verdict => {
      if (options.perSecond <= 0) return allowed
      const bucket = buckets.get(key)
      return bucket === undefined ? allowed : verdict(refill(key).tokens)
    },
    /** Takes a token when there is one. */
    take: (key: string): Verdict => {
      if (options.perSecond <= 0) return allowed
      const bucket = refill(key)
      const result = verdict(bucket.tokens)
      if (result.allowed) bucket.tokens -= 1
      store(key, bucket)
      return result
    },
    /** Takes a token if there is one left (requests let through at once may leave none to take). */
    charge: (key: string): void => {
      if (options.perSecond <= 0) return
      const bucket = refill(key)
      bucket.tokens = Math.max(bucket.tokens - 1, 0)
      store(key, bucket)
    },
    size: () => buckets.size
  }
}

const seconds = () => performance.now() / 1000

export class RateLimiter extends Context.Service<
  RateLimiter,
  {
    /** Takes one token for `key`: allowed, or how many seconds until one is available. */
    readonly take: (key: string) => Effect.Effect<Verdict>
  }
>()("@enrich/http/RateLimiter") {
  static readonly make = (options: {
    readonly perSecond: number
    readonly burst: number
    readonly now?: () => number
  }) => {
    const buckets = makeBuckets({ ...options, maxKeys: 1_000_000, now: options.now ?? seconds })
    return RateLimiter.of({ take: (key) => Effect.sync(() => buckets.take(key)) })
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

/**
 * The key of a client address: an IPv4 address (also written `::ffff:a.b.c.d`) as it is, an IPv6
 * address by its first 64 bits.
 */
export const addressKey = (address: string): string => {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped !== null) return mapped[1]!
  if (!address.includes(":")) return address
  const [head = "", tail] = address.split("%")[0]!.toLowerCase().split("::")
  const left = head === "" ? [] : head.split(":")
  const right = tail === undefined || tail === "" ? [] : tail.split(":")
  const groups =
    tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`
}

/** At most this many addresses are remembered (about 100 bytes each). */
const MAX_ADDRESSES = 100_000

export class UnauthenticatedLimiter extends Context.Service<
  UnauthenticatedLimiter,
  {
    /** Whether `address` may still try to authenticate (takes nothing): allowed, or seconds to wait. */
    readonly check: (address: string) => Verdict
    /** Counts a request with a missing or wrong key or token against `address`. */
    readonly failed: (address: string) => void
  }
>()("@enrich/http/UnauthenticatedLimiter") {
  static readonly make = (options: {
    readonly perSecond: number
    readonly burst: number
    readonly maxAddresses?: number
    readonly now?: () => number
  }) => {
    const buckets = makeBuckets({
      perSecond: options.perSecond,
      burst: options.burst,
      maxKeys: options.maxAddresses ?? MAX_ADDRESSES,
      now: options.now ?? seconds
    })
    return Object.assign(
      UnauthenticatedLimiter.of({
        check: (address) => buckets.peek(addressKey(address)),
        failed: (address) => buckets.charge(addressKey(address))
      }),
      { size: buckets.size }
    )
  }

  static readonly layer = Layer.effect(
    UnauthenticatedLimiter,
    Effect.gen(function* () {
      const perSecond = yield* Config.Number("ENRICH_UNAUTHENTICATED_RATE_LIMIT").pipe(Config.withDefault(5))
      const burst = yield* Config.Number("ENRICH_UNAUTHENTICATED_RATE_LIMIT_BURST").pipe(Config.withDefault(20))
      return UnauthenticatedLimiter.make({ perSecond, burst: Math.max(1, burst) })
    })
  )
}
