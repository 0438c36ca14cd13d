/**
 * The RunScope port: the set-based scope queries of dispatch — the planner's facts, and the frozen
 * scope of a persisted run with its pending items.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { ParsedLeadFilter } from "../leads/LeadFilter.ts"
import type { ScopeFacts } from "../runs/Planner.ts"
import type { Scope } from "../runs/Scope.ts"
import type { StoreFailure } from "./StoreFailure.ts"

export class RunScope extends Context.Service<
  RunScope,
  {
    /**
     * Resolves the scope once and returns the planner's facts. With `requestedAt` (a persisted
     * dispatch) it also freezes the scope (run_scope: Leads of `subject` only, ordinals 1..n in Lead
     * id order) and writes the run's pending items, stamped `requestedAt`, in the same pass: the rows
     * the `RunRequested` projection would write (it writes them only on a rebuild). Without it (a
     * preview) nothing is written.
     */
    readonly freezeScope: (input: {
      readonly workspaceId: string
      readonly runId: string
      readonly scope: Scope
      readonly subject: "person" | "company"
      /** `filtered_list` scopes: the parsed LeadFilter, applied after the subject, then its limit */
      readonly filter?: ParsedLeadFilter | undefined
      /** the run's `requestedAt` (its `RunRequested` event's); absent: facts only, nothing written */
      readonly requestedAt?: string | undefined
    }) => Effect.Effect<ScopeFacts, StoreFailure>
    /** Whether the workspace has the List (a scope naming one that does not is LIST_NOT_FOUND). */
    readonly listExists: (workspaceId: string, listId: string) => Effect.Effect<boolean, StoreFailure>
  }
>()("@enrich/domain/ports/RunScope") {}
