/** The bounded retry of a provider call (shared by the executor and waterfall steps). */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { type EnrichmentOutcome, ProviderError } from "../src/ports/Catalog.ts"
import { backoffDelayMs, callWithRetry } from "../src/catalog/ProviderRetry.ts"

const ok: EnrichmentOutcome = { result: 1, raw: 1, found: true, provider: "p", providerSubmissionId: null }
const busy = new ProviderError({ message: "503", retryable: true })

describe("Provider retry (unit)", () => {
  it("the_backoff_doubles_with_jitter_and_never_waits_less_than_the_provider_asked", () => {
    const policy = { maxAttempts: 5, backoffMs: 100 }
    assert.strictEqual(backoffDelayMs(policy, 1, busy, 0), 80)
    assert.closeTo(backoffDelayMs(policy, 1, busy, 1), 120, 1e-9)
    assert.strictEqual(backoffDelayMs(policy, 3, busy, 0.5), 400)
    const asked = new ProviderError({ message: "429", retryable: true, retryAfterMs: 1500 })
    assert.strictEqual(backoffDelayMs(policy, 1, asked, 0.5), 1500)
  })

  it.live("a_retryable_failure_is_tried_again_up_to_the_attempts_and_others_fail_at_once", () =>
    Effect.gen(function* () {
      const policy = { maxAttempts: 3, backoffMs: 1 }
      let calls = 0
      const flaky = yield* callWithRetry(() => (++calls < 3 ? Effect.fail(busy) : Effect.succeed(ok)), policy)
      assert.strictEqual(flaky.attempts, 3)
      assert.isTrue(Result.isSuccess(flaky.result))

      const down = yield* callWithRetry(() => Effect.fail(busy), policy)
      assert.strictEqual(down.attempts, 3)
      assert.isTrue(Result.isFailure(down.result))

      const refused = yield* callWithRetry(
        () => Effect.fail(new ProviderError({ message: "401", retryable: false })),
        policy
      )
      assert.strictEqual(refused.attempts, 1)

      const plain = yield* callWithRetry(() => ok, policy)
      assert.deepStrictEqual([plain.attempts, Result.isSuccess(plain.result)], [1, true])

      // a defect (a bug in the provider) fails the call once, not retried
      const defect = yield* callWithRetry(() => {
        throw new Error("boom")
      }, policy)
      assert.strictEqual(defect.attempts, 1)
      assert.isTrue(Result.isFailure(defect.result) && defect.result.failure.message === "boom")
      assert.isTrue(Result.isFailure(defect.result) && !defect.result.failure.retryable)
    })
  )
})
