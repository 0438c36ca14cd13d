/**
 * Delivering webhooks, as the delivery loop (worker/src/WebhookDelivery.ts) drives it: `attempt` makes one
 * signed attempt of a claimed delivery and judges the answer by the domain's rules (domain/webhooks/Webhooks.ts
 * `afterAttempt`): delivered, tried again after a backoff, or failed for good — a 410 Gone also disables the
 * endpoint; `exchange` records the attempts that ended and takes the next due deliveries, in one round trip
 * of the store (at most the policy's per endpoint in flight, across every process).
 */
import { Context, Effect, Layer } from "effect"
import { retryStoreFailures, type StoreFailure } from "@enrich/domain/ports/StoreFailure"
import { afterAttempt, claimLeaseMs, type DeliveryPolicy } from "@enrich/domain/webhooks/Webhooks"
import {
  type AttemptRecord,
  type ClaimedDelivery,
  type EndedAttempt,
  WebhookStore,
  WebhookTransport
} from "../ports/Webhooks.ts"
import { WebhookPolicyConfig } from "./WebhookPolicy.ts"

export class DeliverWebhooks extends Context.Service<
  DeliverWebhooks,
  {
    /** Records `ended` and takes up to `limit` due deliveries, each for one attempt. */
    readonly exchange: (
      ended: ReadonlyArray<EndedAttempt>,
      limit: number
    ) => Effect.Effect<ReadonlyArray<ClaimedDelivery>, StoreFailure>
    /** One attempt of a claimed delivery, and what it leaves (recorded by the next `exchange`). */
    readonly attempt: (delivery: ClaimedDelivery) => Effect.Effect<EndedAttempt>
    readonly policy: DeliveryPolicy
  }
>()("@enrich/application/webhooks/DeliverWebhooks") {
  static readonly layer = Layer.effect(
    DeliverWebhooks,
    Effect.gen(function* () {
      const store = yield* WebhookStore
      const transport = yield* WebhookTransport
      const policy = yield* WebhookPolicyConfig

      const attempt = Effect.fn("DeliverWebhooks.attempt")(function* (delivery: ClaimedDelivery) {
        const result = yield* transport.send({
          url: delivery.url,
          id: delivery.id,
          body: delivery.body,
          secrets: delivery.secrets,
          timeoutMs: policy.timeoutMs
        })
        const next = afterAttempt(policy, delivery, result, Math.random())
        const outcome: AttemptRecord =
          next._tag === "Succeeded"
            ? { _tag: "Succeeded", result }
            : next._tag === "Retry"
              ? { _tag: "Retry", result, delayMs: next.delayMs }
              : { _tag: "Failed", result, disableEndpoint: next.disableEndpoint }
        return { delivery, outcome }
      })

      const exchange = (ended: ReadonlyArray<EndedAttempt>, limit: number) =>
        retryStoreFailures(
          store.exchange({ ended, limit, perEndpoint: policy.perEndpoint, leaseMs: claimLeaseMs(policy) })
        )

      return DeliverWebhooks.of({ exchange, attempt, policy })
    })
  )
}
