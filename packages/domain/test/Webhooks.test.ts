/**
 * The webhook rules: which events a settlement causes, the backoff between attempts, and how an answer is
 * judged — with a property: whatever endpoints answer, a delivery ends (delivered or failed) within its
 * attempts, and only a 2xx delivers it.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { RunEvent } from "../src/runs/RunEvents.ts"
import {
  afterAttempt,
  type AttemptResult,
  defaultDeliveryPolicy,
  retryDelayMs,
  webhookEventOf
} from "../src/webhooks/Webhooks.ts"

const settled: RunEvent = { _tag: "CreditsSettled", captured: 3, released: 1, settledAt: "2026-12-06T10:00:00.000Z" }
const completed: RunEvent = { _tag: "RunCompleted", completedAt: "2026-12-06T10:00:00.000Z" } as RunEvent

describe("webhook events", () => {
  it("a_settlement_causes_the_event_named_by_how_the_run_ended_timed_by_the_settlement", () => {
    expect(webhookEventOf([completed, settled], "completed")).toEqual({
      type: "run.completed",
      timestamp: "2026-12-06T10:00:00.000Z"
    })
    expect(webhookEventOf([settled], "failed")?.type).toBe("run.failed")
    expect(webhookEventOf([settled], "cancelled")?.type).toBe("run.cancelled")
  })

  it("events_that_do_not_settle_the_run_cause_none", () => {
    expect(webhookEventOf([completed], "completed")).toBeUndefined()
    expect(webhookEventOf([], "running")).toBeUndefined()
  })
})

describe("the delivery policy", () => {
  it("the_default_waits_grow_by_4_from_30_seconds_to_a_10_hour_cap_over_about_a_day", () => {
    const waits = Array.from({ length: 7 }, (_, i) => retryDelayMs(defaultDeliveryPolicy, i + 1, 0.5))
    expect(waits).toEqual([30_000, 120_000, 480_000, 1_920_000, 7_680_000, 30_720_000, 36_000_000])
    const hours = waits.reduce((a, b) => a + b, 0) / 3_600_000
    expect(hours).toBeGreaterThan(20)
    expect(hours).toBeLessThan(28)
  })

  it("jitter_keeps_each_wait_within_25_percent", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (n, random) => {
        const exact = retryDelayMs(defaultDeliveryPolicy, n, 0.5)
        const wait = retryDelayMs(defaultDeliveryPolicy, n, random)
        return wait >= Math.floor(exact * 0.75) && wait <= Math.ceil(exact * 1.25)
      })
    )
  })

  it("any_2xx_delivers_410_disables_anything_else_is_tried_again_until_the_last_attempt", () => {
    const attempt = { attempts: 1, attemptsAllowed: 8 }
    for (const code of [200, 201, 202, 204, 299]) {
      expect(afterAttempt(defaultDeliveryPolicy, attempt, { _tag: "Answered", statusCode: code }, 0)._tag).toBe(
        "Succeeded"
      )
    }
    expect(afterAttempt(defaultDeliveryPolicy, attempt, { _tag: "Answered", statusCode: 410 }, 0)).toEqual({
      _tag: "Failed",
      disableEndpoint: true
    })
    for (const code of [199, 301, 302, 400, 404, 429, 500, 503]) {
      expect(afterAttempt(defaultDeliveryPolicy, attempt, { _tag: "Answered", statusCode: code }, 0)._tag).toBe("Retry")
    }
    expect(afterAttempt(defaultDeliveryPolicy, attempt, { _tag: "NotAnswered", error: "timed out" }, 0)._tag).toBe(
      "Retry"
    )
    expect(
      afterAttempt(defaultDeliveryPolicy, { attempts: 8, attemptsAllowed: 8 }, { _tag: "Answered", statusCode: 500 }, 0)
    ).toEqual({ _tag: "Failed", disableEndpoint: false })
  })

  it("property_whatever_the_endpoint_answers_a_delivery_ends_within_its_attempts_delivered_only_by_a_2xx", () => {
    const result: fc.Arbitrary<AttemptResult> = fc.oneof(
      fc.integer({ min: 100, max: 599 }).map((statusCode) => ({ _tag: "Answered" as const, statusCode })),
      fc.constant({ _tag: "NotAnswered" as const, error: "ECONNREFUSED" })
    )
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(result, { minLength: 12, maxLength: 12 }),
        (attemptsAllowed, answers) => {
          let ended: string | undefined
          let attempts = 0
          while (ended === undefined) {
            attempts += 1
            const answer = answers[attempts - 1]!
            const next = afterAttempt(defaultDeliveryPolicy, { attempts, attemptsAllowed }, answer, 0.5)
            if (next._tag === "Retry") {
              if (next.delayMs < 0) return false
              continue
            }
            ended = next._tag
            const twoHundred = answer._tag === "Answered" && answer.statusCode >= 200 && answer.statusCode < 300
            if ((next._tag === "Succeeded") !== twoHundred) return false
          }
          return attempts <= attemptsAllowed
        }
      )
    )
  })
})
