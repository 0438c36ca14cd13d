/** Bodies of the webhooks group: endpoints (the secret only when created or rotated) and their deliveries. */
import { Schema } from "effect"
import { Text, TextUpTo } from "@enrich/domain/ClientText"
import { WebhookEventType } from "@enrich/domain/webhooks/Webhooks"

export const CreateWebhook = Schema.Struct({
  /** https, on a public address (unless the deployment sets ENRICH_WEBHOOK_ALLOW_PRIVATE=1) */
  url: TextUpTo(2048).check(Schema.isMinLength(1)),
  /** the events sent to it: `run.completed`, `run.failed`, `run.cancelled` */
  events: Schema.Array(WebhookEventType).check(Schema.isMinLength(1), Schema.isMaxLength(10)),
  description: Schema.optionalKey(Schema.NullOr(TextUpTo(500)))
})

export const Webhook = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  events: Schema.Array(WebhookEventType),
  description: Schema.NullOr(Schema.String),
  createdAt: Schema.String,
  /** when the endpoint answered 410 Gone: nothing more is sent to it */
  disabledAt: Schema.NullOr(Schema.String)
})

/** The endpoint with its signing secret (`whsec_…`): shown once, when created or rotated. */
export const WebhookWithSecret = Schema.Struct({ ...Webhook.fields, secret: Text })
export const WebhookCreated = Schema.Struct({ webhook: WebhookWithSecret })
export const WebhookList = Schema.Struct({ webhooks: Schema.Array(Webhook) })
export const WebhookDeleted = Schema.Struct({ deleted: Schema.Literal(true), id: Schema.String })

export const Delivery = Schema.Struct({
  /** also the `webhook-id` header of every attempt */
  id: Schema.String,
  eventType: WebhookEventType,
  runId: Schema.String,
  status: Schema.Literals(["pending", "succeeded", "failed"]),
  attempts: Schema.Int,
  lastStatusCode: Schema.NullOr(Schema.Int),
  lastError: Schema.NullOr(Schema.String),
  /** when a pending delivery is tried next */
  nextAttemptAt: Schema.NullOr(Schema.String),
  createdAt: Schema.String
})
export const DeliveryPage = Schema.Struct({
  deliveries: Schema.Array(Delivery),
  nextCursor: Schema.NullOr(Schema.String),
  hasMore: Schema.Boolean
})
export const Redelivered = Schema.Struct({ delivery: Delivery })
