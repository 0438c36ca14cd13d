/**
 * The CreditLedger port: a workspace's credit movements, decided by the pure
 * CreditAccount and recorded durably, serialised per workspace.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { CreditCommand, CreditEvent, CreditRejection } from "../credits/CreditAccount.ts"
import type { StoreFailure } from "./StoreFailure.ts"

export interface CreditBalance {
  readonly balance: number
  readonly held: number
  readonly captured: number
  readonly granted: number
}

export class CreditLedger extends Context.Service<
  CreditLedger,
  {
    /** Decides a credit command under the workspace's row lock, appends and projects its events. */
    readonly execute: (
      workspaceId: string,
      command: CreditCommand,
      metadata?: { readonly correlationId?: string | undefined }
    ) => Effect.Effect<ReadonlyArray<CreditEvent>, CreditRejection | StoreFailure>
    readonly balance: (workspaceId: string) => Effect.Effect<CreditBalance, StoreFailure>
  }
>()("@enrich/domain/ports/CreditLedger") {}
