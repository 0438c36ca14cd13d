/**
 * The IdempotencyKeys port: a workspace's idempotency keys, each naming the run its first dispatch made
 * and that dispatch's request fingerprint (the rules: domain/runs/Idempotency.ts).
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { StoreFailure } from "@enrich/domain/ports/StoreFailure"

export interface StoredKey {
  readonly fingerprint: string
  readonly runId: string
}

export class IdempotencyKeys extends Context.Service<
  IdempotencyKeys,
  {
    readonly find: (workspaceId: string, key: string) => Effect.Effect<StoredKey | undefined, StoreFailure>
    /**
     * Claims `key` for `runId` in the caller's transaction: false when it is taken. A twin racing for the same
     * key waits on the claim until this transaction ends (and then finds it taken, or free after a rollback).
     */
    readonly claim: (input: {
      readonly workspaceId: string
      readonly key: string
      readonly fingerprint: string
      readonly runId: string
      readonly at: string
    }) => Effect.Effect<boolean, StoreFailure>
  }
>()("@enrich/application/ports/IdempotencyKeys") {}
