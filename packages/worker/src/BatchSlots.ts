/**
 * A runner's batch slots, shared fairly between workspaces (the rule is the
 * domain's: packages/domain/src/runs/FairShare.ts). Every batch step of the
 * workflow engine takes a slot for the time it executes, so a runner executes
 * at most `ENRICH_WORKER_SLOTS` batches at once (default 8), and a workspace
 * with a huge run (many partitions, many runs) cannot starve another's small
 * run: when a slot frees up it goes to the waiting workspace holding fewest.
 *
 * A batch waiting for a slot holds nothing else (no connection, no lock, no
 * claim): it takes its slot before it claims its items. Interrupted while
 * waiting (shutdown), it leaves the queue; a slot granted at that very moment
 * is passed on.
 */
import { Config, Context, Deferred, Effect, Layer, Schema } from "effect"
import { nextSlotGrant, type SlotRequest } from "@enrich/domain/runs/FairShare"

interface Waiter extends SlotRequest {
  readonly granted: Deferred.Deferred<void>
}

export interface SlotsSnapshot {
  readonly slots: number
  readonly held: ReadonlyMap<string, number>
  readonly waiting: number
}

export class BatchSlots extends Context.Service<
  BatchSlots,
  {
    /** runs `effect` holding one of the runner's slots on behalf of `workspaceId` */
    readonly withSlot: <A, E, R>(workspaceId: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
    /** who holds what now, and how many batches wait */
    readonly snapshot: Effect.Effect<SlotsSnapshot>
  }
>()("@enrich/worker/BatchSlots") {
  /** `slots` slots shared fairly. */
  static readonly make = (slots: number): BatchSlots["Service"] => {
    const held = new Map<string, number>()
    const waiting = new Set<Waiter>()
    let inUse = 0
    let seq = 0

    const take = (workspaceId: string) => {
      held.set(workspaceId, (held.get(workspaceId) ?? 0) + 1)
      inUse++
    }
    /** gives a freed slot to the next waiter by the fair-share rule, or frees it */
    const release = (workspaceId: string) => {
      const n = (held.get(workspaceId) ?? 1) - 1
      if (n === 0) held.delete(workspaceId)
      else held.set(workspaceId, n)
      inUse--
      const next = nextSlotGrant(held, waiting)
      if (next === undefined) return
      waiting.delete(next)
      take(next.workspaceId)
      Deferred.doneUnsafe(next.granted, Effect.void)
    }

    const withSlot = <A, E, R>(workspaceId: string, effect: Effect.Effect<A, E, R>) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          if (inUse < slots && waiting.size === 0) {
            take(workspaceId)
          } else {
            const waiter: Waiter = { workspaceId, seq: seq++, granted: Deferred.makeUnsafe<void>() }
            waiting.add(waiter)
            yield* restore(Deferred.await(waiter.granted)).pipe(
              Effect.onInterrupt(() =>
                Effect.sync(() => {
                  // still queued: leave; granted meanwhile: pass the slot on
                  if (!waiting.delete(waiter)) release(workspaceId)
                })
              )
            )
          }
          return yield* restore(effect).pipe(Effect.ensuring(Effect.sync(() => release(workspaceId))))
        })
      )

    return BatchSlots.of({
      withSlot,
      snapshot: Effect.sync(() => ({ slots, held: new Map(held), waiting: waiting.size }))
    })
  }

  /** The runner's slots, `ENRICH_WORKER_SLOTS` of them (default 8). */
  static readonly layer = Layer.effect(
    BatchSlots,
    Effect.map(
      Config.schema(Schema.Int.check(Schema.isGreaterThan(0)), "ENRICH_WORKER_SLOTS").pipe(Config.withDefault(8)),
      BatchSlots.make
    )
  )
}
