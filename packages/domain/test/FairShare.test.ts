import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { nextSlotGrant } from "../src/runs/FairShare.ts"

const held = (entries: Record<string, number>) => new Map(Object.entries(entries))

describe("Fair share of batch slots (unit)", () => {
  it("nothing_waiting_grants_nothing", () => {
    expect(nextSlotGrant(held({ a: 3 }), [])).toBeUndefined()
  })

  it("a_workspace_holding_nothing_goes_before_one_holding_every_slot_even_if_it_came_later", () => {
    const waiting = [
      { workspaceId: "big", seq: 1 },
      { workspaceId: "big", seq: 2 },
      { workspaceId: "small", seq: 3 }
    ]
    expect(nextSlotGrant(held({ big: 8 }), waiting)).toEqual({ workspaceId: "small", seq: 3 })
  })

  it("among_workspaces_holding_as_many_the_longest_waiting_goes_first", () => {
    const waiting = [
      { workspaceId: "b", seq: 7 },
      { workspaceId: "c", seq: 4 },
      { workspaceId: "a", seq: 9 }
    ]
    expect(nextSlotGrant(held({ a: 2, b: 1, c: 1 }), waiting)).toEqual({ workspaceId: "c", seq: 4 })
  })

  it("the_grant_always_goes_to_a_waiter_of_a_workspace_holding_the_fewest_slots (property)", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom("a", "b", "c", "d"), fc.nat(10)),
        fc.array(fc.record({ workspaceId: fc.constantFrom("a", "b", "c", "d"), seq: fc.nat(1000) }), {
          minLength: 1
        }),
        (holding, waiting) => {
          const map = held(holding)
          const grant = nextSlotGrant(map, waiting)!
          const fewest = Math.min(...waiting.map((w) => map.get(w.workspaceId) ?? 0))
          expect(map.get(grant.workspaceId) ?? 0).toBe(fewest)
          const peers = waiting.filter((w) => (map.get(w.workspaceId) ?? 0) === fewest)
          expect(grant.seq).toBe(Math.min(...peers.map((w) => w.seq)))
        }
      )
    )
  })

  it("batches_of_equal_length_split_the_slots_evenly_within_one_round (property)", () => {
    // a big workspace holds every slot; a small one starts waiting; batches end oldest first and both keep work queued
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 32 }), fc.integer({ min: 2, max: 4 }), (slots, rounds) => {
        const running: Array<string> = Array.from({ length: slots }, () => "big")
        const holding = new Map([["big", slots]])
        let seq = 0
        const waiting = [
          { workspaceId: "big", seq: seq++ },
          { workspaceId: "small", seq: seq++ }
        ]
        for (let step = 0; step < slots * rounds; step++) {
          const ended = running.shift()!
          holding.set(ended, holding.get(ended)! - 1)
          const grant = nextSlotGrant(holding, waiting)!
          waiting.splice(waiting.indexOf(grant), 1)
          holding.set(grant.workspaceId, (holding.get(grant.workspaceId) ?? 0) + 1)
          running.push(grant.workspaceId)
          waiting.push({ workspaceId: grant.workspaceId, seq: seq++ })
          if (step >= slots) {
            const small = holding.get("small") ?? 0
            expect(Math.abs(small - (slots - small))).toBeLessThanOrEqual(1)
          }
        }
      })
    )
  })
})
