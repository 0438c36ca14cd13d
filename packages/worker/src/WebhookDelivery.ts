/**
 * The webhook delivery loop. Each round is one transaction of the store: it records the attempts that ended
 * since the last round and claims due deliveries for the free places (up to ENRICH_WEBHOOK_IN_FLIGHT, 32,
 * attempts at once). A round comes when attempts end (after a short moment, so the attempts ending together
 * share it), and every ENRICH_WEBHOOK_POLL_MS (1000) when none do.
 *
 * Delivering is background work: a process starts at most ENRICH_WEBHOOK_MAX_PER_SECOND attempts a second
 * (50, bursts of as many; `0`: no cap), so a backlog — an endpoint back after an outage, thousands of runs
 * settling together — drains steadily instead of taking the CPU that dispatch and runs need (the bench's
 * scenario 6 measures it; DECISIONS.md 67).
 *
 * Every worker runs it for good (`WebhookDeliveryLive`); on Trigger.dev a scheduled task runs it until nothing
 * is due (`deliverDue`, trigger/WebhookDeliveryTask.ts). The claims share the work out
 * (application/webhooks/DeliverWebhooks.ts). A failed round is logged and its records kept for the next: a
 * delivery is never lost to it, only delayed. A process that stops leaves its unrecorded attempts to be sent
 * again once their claims lapse.
 */
import { Clock, Config, Effect, Layer, Queue } from "effect"
import type { EndedAttempt } from "@enrich/application/ports/Webhooks"
import { DeliverWebhooks } from "@enrich/application/webhooks/DeliverWebhooks"

/** A moment for attempts ending together to share a round. */
const gatherMs = 10

const positive = (name: string, fallback: number, min: number) =>
  Config.Int(name).pipe(
    Config.withDefault(fallback),
    Config.map((n) => Math.max(min, n))
  )

/**
 * Delivery rounds, for good, or (`untilIdle`) until a round finds nothing to claim and nothing is in flight
 * (the last attempts then recorded), or the deadline passes (attempts in flight are left to their claims).
 */
const deliveryLoop = (
  options: { readonly untilIdle: false } | { readonly untilIdle: true; readonly withinMs: number }
) =>
  Effect.gen(function* () {
    const deliver = yield* DeliverWebhooks
    const inFlight = yield* positive("ENRICH_WEBHOOK_IN_FLIGHT", 32, 1)
    const pollMs = yield* positive("ENRICH_WEBHOOK_POLL_MS", 1000, 10)
    const perSecond = yield* positive("ENRICH_WEBHOOK_MAX_PER_SECOND", 50, 0)
    // the loop's state, changed only by its fibers, one at a time: attempts going, those ended unrecorded, and
    // the attempts it may still start (a token bucket refilled at `perSecond`)
    let busy = 0
    let ended: Array<EndedAttempt> = []
    let tokens = perSecond
    const startedAt = yield* Clock.currentTimeMillis
    let refilledAt = startedAt
    // an attempt ended: the loop goes round (one signal is enough, so it slides)
    const signal = yield* Queue.sliding<void>(1)

    const round = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      tokens = Math.min(perSecond, tokens + ((now - refilledAt) * perSecond) / 1000)
      refilledAt = now
      const records = ended
      ended = []
      const free = inFlight - busy
      const allowed = perSecond === 0 ? free : Math.min(free, Math.floor(tokens))
      const claimed = yield* deliver.exchange(records, allowed).pipe(
        // kept for the next round
        Effect.tapError(() => Effect.sync(() => (ended = [...records, ...ended])))
      )
      if (perSecond > 0) tokens -= claimed.length
      for (const delivery of claimed) {
        busy += 1
        yield* Effect.forkScoped(
          deliver.attempt(delivery).pipe(
            Effect.flatMap((attempt) =>
              Effect.andThen(
                Effect.sync(() => {
                  busy -= 1
                  ended.push(attempt)
                }),
                Queue.offer(signal, undefined)
              )
            ),
            Effect.onInterrupt(() => Effect.sync(() => (busy -= 1)))
          )
        )
      }
      if (claimed.length === 0 && busy === 0 && ended.length === 0 && allowed > 0) return "idle" as const
      // no room: an attempt ending makes some; fewer due than allowed: nothing more for now
      if (free === 0 || claimed.length < allowed) return "wait" as const
      // as many as allowed: more may be due already, now or once the bucket refills
      return allowed === free ? ("more" as const) : ("throttled" as const)
    }).pipe(
      Effect.catchCause((cause) =>
        Effect.as(Effect.logWarning("a webhook delivery round failed", cause), "wait" as const)
      )
    )

    const pause = (next: "wait" | "more" | "throttled" | "idle") =>
      next === "more"
        ? Effect.yieldNow
        : next === "throttled"
          ? // a fifth of a second's tokens (one at least), so throttled rounds are few and full
            Effect.sleep(Math.max(200, Math.ceil(1000 / perSecond)))
          : Effect.andThen(Effect.ignore(Effect.timeout(Queue.take(signal), pollMs)), Effect.sleep(gatherMs))

    if (!options.untilIdle) return yield* Effect.forever(Effect.flatMap(round, pause))
    for (;;) {
      const next = yield* round
      if (next === "idle" || (yield* Clock.currentTimeMillis) - startedAt >= options.withinMs) return
      yield* pause(next)
    }
  })

/** The loop of a worker process, for as long as the process lives. */
export const WebhookDeliveryLive = Layer.effectDiscard(
  Effect.asVoid(Effect.forkScoped(deliveryLoop({ untilIdle: false })))
).pipe(Layer.provide(DeliverWebhooks.layer))

/** Delivers what is due until nothing is (the last attempts recorded), within `withinMs`. */
export const deliverDue = (withinMs: number) => Effect.scoped(deliveryLoop({ untilIdle: true, withinMs }))
