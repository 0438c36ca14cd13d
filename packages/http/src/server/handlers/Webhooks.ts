/** Handlers of the webhooks group: the workspace's endpoints and their delivery log (ManageWebhooks). */
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ManageWebhooks } from "@enrich/application/webhooks/ManageWebhooks"
import { CurrentWorkspace, EnrichApi } from "../../api/Api.ts"
import { apiError } from "../../api/Errors.ts"
import { notFound, storeFailureToEnvelope } from "./common.ts"

const webhookNotFound = () => Effect.fail(notFound("Webhook"))

export const WebhooksHandlers = HttpApiBuilder.group(
  EnrichApi,
  "webhooks",
  Effect.fn(function* (handlers) {
    const webhooks = yield* ManageWebhooks

    return handlers.handleAll({
      create: Effect.fn(function* ({ payload }) {
        const { workspaceId } = yield* CurrentWorkspace
        const created = yield* webhooks
          .create(workspaceId, { url: payload.url, events: payload.events, description: payload.description ?? null })
          .pipe(
            Effect.catchTags({
              WebhookUrlRefused: (e) =>
                Effect.fail(
                  apiError("WEBHOOK_URL_REFUSED", `This URL cannot receive webhooks: ${e.reason}`, {
                    details: { issues: [{ path: "body.url", message: e.reason }], total: 1 }
                  })
                ),
              WebhookLimitReached: (e) =>
                Effect.fail(
                  apiError(
                    "WEBHOOK_LIMIT_REACHED",
                    `A workspace has at most ${e.limit} webhooks: delete one to register another`
                  )
                )
            })
          )
        return { webhook: { ...created.webhook, secret: created.secret } }
      }, storeFailureToEnvelope),
      list: Effect.fn(function* () {
        const { workspaceId } = yield* CurrentWorkspace
        return { webhooks: yield* webhooks.list(workspaceId) }
      }, storeFailureToEnvelope),
      remove: Effect.fn(function* ({ params }) {
        const { workspaceId } = yield* CurrentWorkspace
        yield* webhooks.remove(workspaceId, params.id).pipe(Effect.catchTag("WebhookNotFound", webhookNotFound))
        return { deleted: true as const, id: params.id }
      }, storeFailureToEnvelope),
      rotateSecret: Effect.fn(function* ({ params }) {
        const { workspaceId } = yield* CurrentWorkspace
        const rotated = yield* webhooks
          .rotate(workspaceId, params.id)
          .pipe(Effect.catchTag("WebhookNotFound", webhookNotFound))
        return { webhook: { ...rotated.webhook, secret: rotated.secret } }
      }, storeFailureToEnvelope),
      deliveries: Effect.fn(function* ({ params, query }) {
        const { workspaceId } = yield* CurrentWorkspace
        return yield* webhooks
          .deliveries(workspaceId, params.id, { cursor: query.cursor, limit: query.limit ?? 50 })
          .pipe(Effect.catchTag("WebhookNotFound", webhookNotFound))
      }, storeFailureToEnvelope),
      redeliver: Effect.fn(function* ({ params }) {
        const { workspaceId } = yield* CurrentWorkspace
        const delivery = yield* webhooks.redeliver(workspaceId, params.id, params.deliveryId).pipe(
          Effect.catchTags({
            WebhookNotFound: () => Effect.fail(notFound("Webhook delivery")),
            WebhookDisabled: () =>
              Effect.fail(
                apiError(
                  "WEBHOOK_DISABLED",
                  "The endpoint answered 410 Gone and is disabled: register it again to receive events"
                )
              )
          })
        )
        return { delivery }
      }, storeFailureToEnvelope)
    })
  })
)
