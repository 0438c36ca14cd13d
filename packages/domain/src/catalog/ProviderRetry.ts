/**
 * The rule for a provider call that fails: its bounded retry, applied by the
 * batch executor (application/runs/ExecuteBatch.ts) to every item and by a
 * waterfall to each of its steps —
 * `ENRICH_PROVIDER_MAX_ATTEMPTS` attempts in all, a retryable `ProviderError`
 * (429, 5xx, timeout) tried again after an exponential backoff from
 * `ENRICH_PROVIDER_BACKOFF_MS` with ±20 % jitter (or after the provider's
 * `retryAfterMs`, when it asks for longer), any other failing at once. A
 * defect of the call becomes a non-retryable `ProviderError`, as in the
 * executor.
 */
import { Config, Effect, Result } from "effect"
import { type EnrichmentOutcome, ProviderError } from "../ports/Catalog.ts"

export interface RetryPolicy {
  /** attempts in all (≥ 1) */
  readonly maxAttempts: number
  /** the first backoff; doubled at each further attempt */
  readonly backoffMs: number
}

/** The executor's defaults. */
export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 3, backoffMs: 100 }

/** The policy from the environment, with the executor's variables and defaults. */
export const RetryPolicyConfig: Config.Config<RetryPolicy> = Config.all({
  maxAttempts: Config.Int("ENRICH_PROVIDER_MAX_ATTEMPTS").pipe(Config.withDefault(defaultRetryPolicy.maxAttempts)),
  backoffMs: Config.Int("ENRICH_PROVIDER_BACKOFF_MS").pipe(Config.withDefault(defaultRetryPolicy.backoffMs))
})

/** How long to wait before attempt `attempt + 1` after a retryable failure of attempt `attempt` (1-based). */
export const backoffDelayMs = (policy: RetryPolicy, attempt: number, error: ProviderError, random: number): number => {
  const exponential = policy.backoffMs * 2 ** (attempt - 1) * (0.8 + 0.4 * random)
  const asked = error.retryAfterMs
  return Math.max(exponential, typeof asked === "number" && Number.isFinite(asked) ? asked : 0)
}

/**
 * Calls `call` until it succeeds, fails for good, or has used the policy's
 * attempts. Never fails: the final result and the number of attempts made.
 */
export const callWithRetry = (
  call: () => EnrichmentOutcome | Effect.Effect<EnrichmentOutcome, ProviderError>,
  policy: RetryPolicy
): Effect.Effect<{ readonly result: Result.Result<EnrichmentOutcome, ProviderError>; readonly attempts: number }> => {
  const once = Effect.suspend(() => {
    const outcome = call()
    return Effect.isEffect(outcome) ? outcome : Effect.succeed(outcome)
  }).pipe(
    Effect.catchDefect((defect) =>
      Effect.fail(
        new ProviderError({ message: defect instanceof Error ? defect.message : String(defect), retryable: false })
      )
    )
  )
  const maxAttempts = Math.max(1, policy.maxAttempts)
  const loop = (
    attempt: number
  ): Effect.Effect<{ readonly result: Result.Result<EnrichmentOutcome, ProviderError>; readonly attempts: number }> =>
    Effect.flatMap(Effect.result(once), (result) =>
      Result.isFailure(result) && result.failure.retryable && attempt < maxAttempts
        ? Effect.andThen(
            Effect.sleep(backoffDelayMs(policy, attempt, result.failure, Math.random())),
            Effect.suspend(() => loop(attempt + 1))
          )
        : Effect.succeed({ result, attempts: attempt })
    )
  return loop(1)
}
