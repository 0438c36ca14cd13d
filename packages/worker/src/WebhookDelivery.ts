/**
 * The webhook delivery loop of a worker process: it keeps up to ENRICH_WEBHOOK_IN_FLIGHT attempts going (32),
 * claiming due deliveries again as soon as an attempt ends (an endpoint at its bound takes more only then), and
 * looks every ENRICH_WEBHOOK_POLL_MS (1000) when nothing ends. Every worker runs one; the claims share the work
 * out (application/webhooks/DeliverWebhooks.ts). A failed round is logged and the loop goes on: a delivery is
 * never lost to it, only delayed.
 */
import { Config, Effect, Layer, Queue } from "effect"
import { DeliverWebhooks } from "@enrich/application/webhooks/DeliverWebhooks"

export const WebhookDeliveryLive = Layer.effectDiscard(
  Effect.gen(function* () {
    const deliver = yield* DeliverWebhooks
    const inFlight = yield* Config.Int("ENRICH_WEBHOOK_IN_FLIGHT").pipe(
      Config.withDefault(32),
      Config.map((n) => Math.max(1, n))
    )
    const pollMs = yield* Config.Int("ENRICH_WEBHOOK_POLL_MS").pipe(
      Config.withDefault(1000),
      Config.map((n) => Math.max(10, n))
    )
    const gatherMs = 10
    // attempts going: changed only by this loop's fibers, one at a time
    let busy = 0
    // an attempt ended: the loop claims again at once (one signal is enough, so it slides)
    const ended = yield* Queue.sliding<void>(1)

    const round = Effect.gen(function* () {
      const free = inFlight - busy
      if (free <= 0) return "full" as const
      const claimed = yield* deliver.claim(free)
      for (const delivery of claimed) {
        busy += 1
        yield* Effect.forkScoped(
          deliver.attempt(delivery).pipe(
            Effect.catchCause((cause) => Effect.logWarning("a webhook attempt could not be recorded", cause)),
            Effect.ensuring(
              Effect.andThen(
                Effect.sync(() => (busy -= 1)),
                Queue.offer(ended, undefined)
              )
            )
          )
        )
      }
      // as many as asked for: more may be due already
      return claimed.length === free ? ("more" as const) : ("idle" as const)
    }).pipe(
      Effect.catchCause((cause) =>
        Effect.as(Effect.logWarning("claiming webhook deliveries failed", cause), "idle" as const)
      )
    )

    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(round, (next) =>
          next === "more"
            ? Effect.yieldNow
            : // woken by an ending attempt: a moment for others to end too, so one claim takes their places
              Effect.andThen(Effect.ignore(Effect.timeout(Queue.take(ended), pollMs)), Effect.sleep(gatherMs))
        )
      )
    )
  })
).pipe(Layer.provide(DeliverWebhooks.layer))
