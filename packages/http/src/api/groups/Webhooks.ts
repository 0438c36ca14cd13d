/**
 * Webhooks: endpoints a workspace registers to be told when its runs end (Standard Webhooks: signed, retried,
 * logged), and the log of their deliveries.
 */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "effect/http-api"
import { Id } from "@enrich/domain/ClientText"
import { ApiKeyAuth } from "../Auth.ts"
import { DeclaredOnly } from "../DeclaredOnly.ts"
import * as Errors from "../Errors.ts"
import * as S from "../Schemas.ts"
import * as W from "../schemas/Webhooks.ts"

export class WebhooksGroup extends HttpApiGroup.make("webhooks")
  .add(
    HttpApiEndpoint.post("create", "/webhooks", {
      payload: W.CreateWebhook,
      success: W.WebhookCreated.pipe(HttpApiSchema.status(201)),
      error: [Errors.BadRequest, Errors.Conflict]
    }),
    HttpApiEndpoint.get("list", "/webhooks", {
      success: W.WebhookList,
      error: Errors.BadRequest
    }),
    HttpApiEndpoint.delete("remove", "/webhooks/:id", {
      params: { id: Id },
      success: W.WebhookDeleted,
      error: [Errors.BadRequest, Errors.NotFound]
    }),
    HttpApiEndpoint.post("rotateSecret", "/webhooks/:id/rotate-secret", {
      params: { id: Id },
      success: W.WebhookCreated,
      error: [Errors.BadRequest, Errors.NotFound]
    }),
    HttpApiEndpoint.get("deliveries", "/webhooks/:id/deliveries", {
      params: { id: Id },
      query: { limit: S.Limit(100), cursor: Schema.optionalKey(Id) },
      success: W.DeliveryPage,
      error: [Errors.BadRequest, Errors.NotFound]
    }),
    HttpApiEndpoint.post("redeliver", "/webhooks/:id/deliveries/:deliveryId/redeliver", {
      params: { id: Id, deliveryId: Id },
      success: W.Redelivered.pipe(HttpApiSchema.status(202)),
      error: [Errors.BadRequest, Errors.NotFound, Errors.Conflict]
    })
  )
  // before the auth middleware, so auth runs first (see DeclaredOnly.ts)
  .middleware(DeclaredOnly)
  .middleware(ApiKeyAuth)
  .prefix("/api") {}
