/**
 * The runner's batch slots (unit, real fibers): at most `slots` batches at once,
 * a waiting workspace that holds fewer slots goes first, and a batch that gives
 * up waiting (shutdown) leaks no slot.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { BatchSlots } from "../src/BatchSlots.ts"

/** A batch that runs until it is told to end, recording the order batches start in. */
const controlled = (slots: BatchSlots["Service"], workspaceId: string, started: Array<string>) =>
  Effect.gen(function* () {
    const end = yield* Deferred.make<void>()
    const fiber = yield* slots
      .withSlot(workspaceId, Effect.sync(() => started.push(workspaceId)).pipe(Effect.andThen(Deferred.await(end))))
      .pipe(Effect.forkChild)
    return { end: Deferred.succeed(end, undefined), fiber }
  })

describe("Batch slots (unit)", () => {
  it.live("one_workspace_alone_uses_every_slot_and_never_more", () =>
    Effect.gen(function* () {
      const slots = BatchSlots.make(4)
      let running = 0
      let peak = 0
      yield* Effect.forEach(
        Array.from({ length: 40 }, (_, i) => i),
        () =>
          slots.withSlot(
            "big",
            Effect.gen(function* () {
              running++
              peak = Math.max(peak, running)
              yield* Effect.sleep("2 millis")
              running--
            })
          ),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(peak, 4)
      const after = yield* slots.snapshot
      assert.deepStrictEqual([after.held.size, after.waiting], [0, 0])
    })
  )

  it.effect("a_small_workspace_gets_the_next_free_slot_ahead_of_the_big_ones_queue", () =>
    Effect.gen(function* () {
      const slots = BatchSlots.make(2)
      const started: Array<string> = []
      const big = yield* Effect.forEach(
        Array.from({ length: 6 }, () => "big"),
        (w) => controlled(slots, w, started)
      )
      yield* Effect.yieldNow
      const small = yield* controlled(slots, "small", started)
      yield* Effect.yieldNow
      assert.deepStrictEqual(started, ["big", "big"], "two slots, both taken")
      yield* big[0]!.end
      yield* Effect.yieldNow
      assert.deepStrictEqual(started, ["big", "big", "small"], "the freed slot went to the workspace holding none")
      yield* big[1]!.end
      yield* Effect.yieldNow
      assert.deepStrictEqual(started, ["big", "big", "small", "big"])
      const snapshot = yield* slots.snapshot
      assert.deepStrictEqual(Object.fromEntries(snapshot.held), { big: 1, small: 1 })
      assert.strictEqual(snapshot.waiting, 3)
      // end everything
      for (const b of big) yield* b.end
      yield* small.end
      yield* Effect.forEach([...big.map((b) => b.fiber), small.fiber], Fiber.join)
      const done = yield* slots.snapshot
      assert.deepStrictEqual([done.held.size, done.waiting], [0, 0])
    })
  )

  it.effect("a_batch_interrupted_while_waiting_leaves_the_queue_and_leaks_no_slot", () =>
    Effect.gen(function* () {
      const slots = BatchSlots.make(1)
      const started: Array<string> = []
      const first = yield* controlled(slots, "a", started)
      const waiter = yield* controlled(slots, "b", started)
      yield* Effect.yieldNow
      assert.strictEqual((yield* slots.snapshot).waiting, 1)
      yield* Fiber.interrupt(waiter.fiber)
      assert.strictEqual((yield* slots.snapshot).waiting, 0)
      yield* first.end
      yield* Fiber.join(first.fiber)
      const third = yield* controlled(slots, "c", started)
      yield* Effect.yieldNow
      assert.deepStrictEqual(started, ["a", "c"], "the slot was free again")
      yield* third.end
      yield* Fiber.join(third.fiber)
      assert.strictEqual((yield* slots.snapshot).held.size, 0)
    })
  )

  it.effect("a_failing_or_interrupted_batch_gives_its_slot_back", () =>
    Effect.gen(function* () {
      const slots = BatchSlots.make(1)
      const failed = yield* Effect.flip(slots.withSlot("a", Effect.fail("boom")))
      assert.strictEqual(failed, "boom")
      const started: Array<string> = []
      const running = yield* controlled(slots, "a", started)
      yield* Effect.yieldNow
      yield* Fiber.interrupt(running.fiber)
      const snapshot = yield* slots.snapshot
      assert.deepStrictEqual([snapshot.held.size, snapshot.waiting], [0, 0])
    })
  )
})
