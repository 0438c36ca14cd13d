/**
 * A workspace's webhook endpoints: registered only for a URL the way out accepts (https, a public address,
 * unless the deployment allows private ones) and up to the domain's `maxEndpointsPerWorkspace`, rotated with a
 * grace period for the previous secret, and their deliveries paged and redelivered.
 */
import { Context, Effect, Layer } from "effect"
import type { StoreFailure } from "@enrich/domain/ports/StoreFailure"
import { maxEndpointsPerWorkspace, rotationGraceMs } from "@enrich/domain/webhooks/Webhooks"
import {
  type NewWebhook,
  type Webhook,
  type WebhookDelivery,
  type WebhookDisabled,
  type WebhookLimitReached,
  type WebhookNotFound,
  WebhookStore,
  WebhookTransport,
  type WebhookUrlRefused
} from "../ports/Webhooks.ts"

export class ManageWebhooks extends Context.Service<
  ManageWebhooks,
  {
    readonly create: (
      workspaceId: string,
      input: NewWebhook
    ) => Effect.Effect<
      { readonly webhook: Webhook; readonly secret: string },
      WebhookUrlRefused | WebhookLimitReached | StoreFailure
    >
    readonly list: (workspaceId: string) => Effect.Effect<ReadonlyArray<Webhook>, StoreFailure>
    readonly remove: (workspaceId: string, id: string) => Effect.Effect<void, WebhookNotFound | StoreFailure>
    readonly rotate: (
      workspaceId: string,
      id: string
    ) => Effect.Effect<{ readonly webhook: Webhook; readonly secret: string }, WebhookNotFound | StoreFailure>
    readonly deliveries: WebhookStore["Service"]["deliveries"]
    readonly redeliver: (
      workspaceId: string,
      id: string,
      deliveryId: string
    ) => Effect.Effect<WebhookDelivery, WebhookNotFound | WebhookDisabled | StoreFailure>
  }
>()("@enrich/application/webhooks/ManageWebhooks") {
  static readonly layer = Layer.effect(
    ManageWebhooks,
    Effect.gen(function* () {
      const store = yield* WebhookStore
      const transport = yield* WebhookTransport

      const create = Effect.fn("ManageWebhooks.create")(function* (workspaceId: string, input: NewWebhook) {
        yield* transport.check(input.url)
        return yield* store.create(
          workspaceId,
          { ...input, events: [...new Set(input.events)] },
          maxEndpointsPerWorkspace
        )
      })

      return ManageWebhooks.of({
        create,
        list: store.list,
        remove: store.remove,
        rotate: (workspaceId, id) => store.rotate(workspaceId, id, rotationGraceMs),
        deliveries: store.deliveries,
        redeliver: store.redeliver
      })
    })
  )
}
