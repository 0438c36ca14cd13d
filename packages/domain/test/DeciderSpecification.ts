/**
 * Given/when/then for deciders (after Emmett's DeciderSpecification):
 * `given(events).when(command).then(events)` or `.thenRejects(reason)`.
 */
import { expect } from "vitest"

export const DeciderSpecification = <S, C, E, R extends { readonly reason: string }>(decider: {
  readonly decide: (command: C, state: S) => ReadonlyArray<E> | R
  readonly evolve: (state: S, event: E) => S
  readonly initialState: S
  readonly isRejection: (outcome: ReadonlyArray<E> | R) => outcome is R
}) => ({
  given: (events: ReadonlyArray<E>) => {
    const state = events.reduce(decider.evolve, decider.initialState)
    return {
      when: (command: C) => {
        const outcome = decider.decide(command, state)
        return {
          thenEmits: (expected: ReadonlyArray<E>) => {
            if (decider.isRejection(outcome)) throw new Error(`expected events, got rejection ${outcome.reason}`)
            expect(outcome).toEqual(expected)
          },
          thenRejects: (reason: string) => {
            if (!decider.isRejection(outcome))
              throw new Error(`expected rejection ${reason}, got ${JSON.stringify(outcome)}`)
            expect(outcome.reason).toBe(reason)
          },
          thenState: (check: (state: S) => void) => {
            if (decider.isRejection(outcome)) throw new Error(`expected events, got rejection ${outcome.reason}`)
            check(outcome.reduce(decider.evolve, state))
          }
        }
      }
    }
  }
})
