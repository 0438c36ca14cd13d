/**
 * The delivery policy as this deployment sets it: the domain's defaults (domain/webhooks/Webhooks.ts), each
 * overridable by an environment variable (README, "Running it for real").
 */
import { Config } from "effect"
import { defaultDeliveryPolicy, type DeliveryPolicy } from "@enrich/domain/webhooks/Webhooks"

const int = (name: string, fallback: number, min: number) =>
  Config.Int(name).pipe(
    Config.withDefault(fallback),
    Config.map((n) => Math.max(min, n))
  )

export const WebhookPolicyConfig: Config.Config<DeliveryPolicy> = Config.all({
  maxAttempts: int("ENRICH_WEBHOOK_MAX_ATTEMPTS", defaultDeliveryPolicy.maxAttempts, 1),
  baseDelayMs: int("ENRICH_WEBHOOK_BACKOFF_BASE_MS", defaultDeliveryPolicy.baseDelayMs, 0),
  factor: Config.succeed(defaultDeliveryPolicy.factor),
  maxDelayMs: int("ENRICH_WEBHOOK_BACKOFF_MAX_MS", defaultDeliveryPolicy.maxDelayMs, 0),
  timeoutMs: int("ENRICH_WEBHOOK_TIMEOUT_MS", defaultDeliveryPolicy.timeoutMs, 1),
  perEndpoint: int("ENRICH_WEBHOOK_ENDPOINT_CONCURRENCY", defaultDeliveryPolicy.perEndpoint, 1)
})
