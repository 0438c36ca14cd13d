/**
 * The ports of webhooks: the endpoints a workspace registers and their deliveries (`WebhookStore`, a
 * store's), and the way out (`WebhookTransport`: the outbound-safety check of a URL, and one signed attempt).
 * The delivery rules are the domain's (domain/webhooks/Webhooks.ts).
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { StoreFailure } from "@enrich/domain/ports/StoreFailure"
import type { AttemptResult, WebhookEventType } from "@enrich/domain/webhooks/Webhooks"

/** An endpoint as its workspace sees it (the secret only when it is created or rotated). */
export interface Webhook {
  readonly id: string
  readonly url: string
  readonly events: ReadonlyArray<WebhookEventType>
  readonly description: string | null
  readonly createdAt: string
  /** set when the endpoint answered 410 Gone: nothing more is sent to it */
  readonly disabledAt: string | null
}

/** What a workspace registers: where, which events, and a note of its own. */
export interface NewWebhook {
  readonly url: string
  readonly events: ReadonlyArray<WebhookEventType>
  readonly description: string | null
}

export type DeliveryStatus = "pending" | "succeeded" | "failed"

export interface WebhookDelivery {
  readonly id: string
  readonly eventType: WebhookEventType
  readonly runId: string
  readonly status: DeliveryStatus
  readonly attempts: number
  readonly lastStatusCode: number | null
  readonly lastError: string | null
  readonly nextAttemptAt: string | null
  readonly createdAt: string
}

/** A delivery taken for one attempt: where to, what, signed with which secrets (the newest first). */
export interface ClaimedDelivery {
  readonly id: string
  readonly webhookId: string
  readonly url: string
  readonly secrets: ReadonlyArray<string>
  readonly body: string
  /** this attempt's number, counted from 1 */
  readonly attempts: number
  readonly attemptsAllowed: number
}

/** What an attempt left: the delivery's next state. */
export type AttemptRecord =
  | { readonly _tag: "Succeeded"; readonly result: AttemptResult }
  | { readonly _tag: "Retry"; readonly result: AttemptResult; readonly delayMs: number }
  | { readonly _tag: "Failed"; readonly result: AttemptResult; readonly disableEndpoint: boolean }

/** An attempt made, and what it leaves. */
export interface EndedAttempt {
  readonly delivery: ClaimedDelivery
  readonly outcome: AttemptRecord
}

export class WebhookNotFound extends Schema.TaggedError<WebhookNotFound>()("WebhookNotFound", {}) {}
export class WebhookLimitReached extends Schema.TaggedError<WebhookLimitReached>()("WebhookLimitReached", {
  limit: Schema.Int
}) {}
export class WebhookDisabled extends Schema.TaggedError<WebhookDisabled>()("WebhookDisabled", {}) {}

export class WebhookStore extends Context.Service<
  WebhookStore,
  {
    /**
     * Registers an endpoint with a new secret (`whsec_…`), returned once; refused when the workspace has `limit`
     * already (counted under a lock of the workspace's endpoints, so racing registrations cannot pass it).
     */
    readonly create: (
      workspaceId: string,
      input: NewWebhook,
      limit: number
    ) => Effect.Effect<{ readonly webhook: Webhook; readonly secret: string }, WebhookLimitReached | StoreFailure>
    readonly list: (workspaceId: string) => Effect.Effect<ReadonlyArray<Webhook>, StoreFailure>
    /** Removes the endpoint and its deliveries (an attempt in flight is not recorded). */
    readonly remove: (workspaceId: string, id: string) => Effect.Effect<void, WebhookNotFound | StoreFailure>
    /** A new secret; the previous one still signs for `graceMs` (both signatures are sent). */
    readonly rotate: (
      workspaceId: string,
      id: string,
      graceMs: number
    ) => Effect.Effect<{ readonly webhook: Webhook; readonly secret: string }, WebhookNotFound | StoreFailure>
    readonly deliveries: (
      workspaceId: string,
      id: string,
      page: { readonly cursor: string | undefined; readonly limit: number }
    ) => Effect.Effect<
      {
        readonly deliveries: ReadonlyArray<WebhookDelivery>
        readonly nextCursor: string | null
        readonly hasMore: boolean
      },
      WebhookNotFound | StoreFailure
    >
    /**
     * The delivery due again now, with one more attempt allowed (a pending one is simply due now); refused for
     * a disabled endpoint.
     */
    readonly redeliver: (
      workspaceId: string,
      id: string,
      deliveryId: string
    ) => Effect.Effect<WebhookDelivery, WebhookNotFound | WebhookDisabled | StoreFailure>
    /**
     * The outbox: one delivery of `type` for each of the workspace's enabled endpoints subscribed to it, in the
     * caller's transaction (the one that settles the run), allowed `attemptsAllowed` attempts.
     */
    readonly enqueue: (event: {
      readonly workspaceId: string
      readonly runId: string
      readonly type: WebhookEventType
      readonly occurredAt: string
      readonly attemptsAllowed: number
    }) => Effect.Effect<void, StoreFailure>
    /**
     * One round of a delivery loop, in one transaction: records the outcomes of the attempts that `ended` (a
     * record is ignored when its delivery is gone, or was taken again since by another process), then takes up
     * to `limit` due deliveries for one attempt each, at most `perEndpoint` in flight per endpoint across every
     * process; each is held for `leaseMs` (a holder that dies gives it back then: a crash never loses a delivery,
     * it may send it twice with the same id). A body is rendered at its first attempt, from the settled run, and
     * kept.
     */
    readonly exchange: (round: {
      readonly ended: ReadonlyArray<EndedAttempt>
      readonly limit: number
      readonly perEndpoint: number
      readonly leaseMs: number
    }) => Effect.Effect<ReadonlyArray<ClaimedDelivery>, StoreFailure>
  }
>()("@enrich/application/ports/WebhookStore") {}

/** Why a URL may not receive webhooks. */
export class WebhookUrlRefused extends Schema.TaggedError<WebhookUrlRefused>()("WebhookUrlRefused", {
  reason: Schema.String
}) {}

export class WebhookTransport extends Context.Service<
  WebhookTransport,
  {
    /**
     * Whether `url` may receive webhooks: https, and every address its host resolves to public (unless
     * ENRICH_WEBHOOK_ALLOW_PRIVATE=1).
     */
    readonly check: (url: string) => Effect.Effect<void, WebhookUrlRefused>
    /**
     * One attempt: the body POSTed with the Standard Webhooks headers (`webhook-id` = the delivery's id, a
     * signature per secret), to an address checked again at connection, within `timeoutMs`, no redirect
     * followed, the answer read up to a cap. Never fails: what happened is the result.
     */
    readonly send: (request: {
      readonly url: string
      readonly id: string
      readonly body: string
      readonly secrets: ReadonlyArray<string>
      readonly timeoutMs: number
    }) => Effect.Effect<AttemptResult>
  }
>()("@enrich/application/ports/WebhookTransport") {}
