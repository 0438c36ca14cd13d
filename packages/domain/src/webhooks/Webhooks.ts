/**
 * The rules of webhooks (Standard Webhooks, standardwebhooks.com): which run events are sent and when, what
 * their body is, how a delivery is retried and judged, and how long a rotated secret still signs. Sending,
 * signing and storing are the adapters'; the worker's delivery loop applies these rules
 * (application/webhooks/DeliverWebhooks.ts).
 */
import { Schema } from "effect"
import type { RunEvent } from "../runs/RunEvents.ts"
import type { RunStatus } from "../runs/Run.ts"

/** The events an endpoint may subscribe to: a run that ended, once it is settled. */
export const WebhookEventType = Schema.Literals(["run.completed", "run.failed", "run.cancelled"])
export type WebhookEventType = typeof WebhookEventType.Type
export const webhookEventTypes: ReadonlyArray<WebhookEventType> = WebhookEventType.literals

/**
 * The event a run's new events cause: one, when they settle it (`CreditsSettled`: the run ended and its
 * credits moved), named by how it ended and timed by the settlement; none otherwise. Written with the
 * settlement (an outbox), so a crash between the two cannot lose it.
 */
export const webhookEventOf = (
  events: ReadonlyArray<RunEvent>,
  statusAfter: RunStatus | "none"
): { readonly type: WebhookEventType; readonly timestamp: string } | undefined => {
  const settled = events.find((event) => event._tag === "CreditsSettled")
  if (settled === undefined) return undefined
  const timestamp = settled.settledAt
  switch (statusAfter) {
    case "completed":
      return { type: "run.completed", timestamp }
    case "failed":
      return { type: "run.failed", timestamp }
    case "cancelled":
      return { type: "run.cancelled", timestamp }
    default:
      return undefined
  }
}

/** The body of an event: `{ type, timestamp, data: { run } }`, `run` as `GET /api/enrichment/{id}` shows it. */
export const webhookBody = (type: WebhookEventType, timestamp: string, run: unknown) => ({
  type,
  timestamp,
  data: { run }
})

/**
 * A workspace registers at most this many endpoints: each settlement writes a delivery per endpoint, so the
 * count bounds what one run's end costs (and what a hostile key can make every settlement write).
 */
export const maxEndpointsPerWorkspace = 20

/** Secrets are `whsec_` and the base64 of 32 random bytes (the Standard Webhooks form). */
export const secretPrefix = "whsec_"
export const secretBytes = 32

/** After a rotation, the previous secret still signs (a second signature) for this long: 24 hours. */
export const rotationGraceMs = 24 * 60 * 60 * 1000

/** How deliveries are tried: attempts, the backoff between them, the timeout of one, per-endpoint concurrency. */
export interface DeliveryPolicy {
  /** attempts of a delivery before it fails for good (8) */
  readonly maxAttempts: number
  /** the wait after the first failed attempt (30 s); each next wait is `factor` times the last, up to `maxDelayMs` */
  readonly baseDelayMs: number
  readonly factor: number
  /** the longest wait between two attempts (10 h) */
  readonly maxDelayMs: number
  /** how long one attempt may take, connection to last byte read (10 s) */
  readonly timeoutMs: number
  /** attempts in flight at once to one endpoint, across every process (4) */
  readonly perEndpoint: number
}

/** 30 s, 2 min, 8 min, 32 min, ~2 h, ~8.5 h, 10 h: 8 attempts over about 21 hours. */
export const defaultDeliveryPolicy: DeliveryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 30_000,
  factor: 4,
  maxDelayMs: 10 * 60 * 60 * 1000,
  timeoutMs: 10_000,
  perEndpoint: 4
}

/**
 * How long a claimed delivery is held before another process may take it again: an attempt ends within its
 * timeout (the transport bounds it), so twice that and a second means its holder is gone.
 */
export const claimLeaseMs = (policy: DeliveryPolicy) => 2 * policy.timeoutMs + 1000

/**
 * The wait after failed attempt number `attempt` (1 = the first): exponential, capped, with ±25 % jitter
 * (`random` in [0, 1)) so endpoints that failed together are not retried together.
 */
export const retryDelayMs = (policy: DeliveryPolicy, attempt: number, random: number): number => {
  const exact = Math.min(policy.maxDelayMs, policy.baseDelayMs * policy.factor ** Math.max(0, attempt - 1))
  return Math.max(0, Math.round(exact * (0.75 + 0.5 * random)))
}

/** What an endpoint's answer means: any 2xx delivered; 410 Gone disables the endpoint; anything else is retried. */
export type AttemptResult =
  | { readonly _tag: "Answered"; readonly statusCode: number }
  /** no answer: refused, timed out, reset, or the address is not allowed */
  | { readonly _tag: "NotAnswered"; readonly error: string }

export const isDelivered = (result: AttemptResult) =>
  result._tag === "Answered" && result.statusCode >= 200 && result.statusCode < 300
export const isGone = (result: AttemptResult) => result._tag === "Answered" && result.statusCode === 410

/** A delivery after an attempt. */
export type AfterAttempt =
  | { readonly _tag: "Succeeded" }
  /** failed for good: out of attempts, or the endpoint is gone (then it is disabled) */
  | { readonly _tag: "Failed"; readonly disableEndpoint: boolean }
  | { readonly _tag: "Retry"; readonly delayMs: number }

/**
 * Judges attempt number `attempts` (counted from 1) of a delivery allowed `attemptsAllowed` attempts
 * (the policy's, or one more after a redeliver).
 */
export const afterAttempt = (
  policy: DeliveryPolicy,
  attempt: { readonly attempts: number; readonly attemptsAllowed: number },
  result: AttemptResult,
  random: number
): AfterAttempt => {
  if (isDelivered(result)) return { _tag: "Succeeded" }
  if (isGone(result)) return { _tag: "Failed", disableEndpoint: true }
  if (attempt.attempts >= attempt.attemptsAllowed) return { _tag: "Failed", disableEndpoint: false }
  return { _tag: "Retry", delayMs: retryDelayMs(policy, attempt.attempts, random) }
}
