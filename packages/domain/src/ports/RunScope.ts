/**
 * The RunScope port: the set-based scope queries of dispatch — the planner's facts, and the frozen
 * scope of a persisted run with its pending items.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { ParsedLeadFilter } from "../leads/LeadFilter.ts"
import type { ScopeFacts } from "../runs/Planner.ts"
import type { FreshResult } from "../runs/Freshness.ts"
import type { PlannedScope } from "../runs/Scope.ts"
import type { StoreFailure } from "./StoreFailure.ts"

export class RunScope extends Context.Service<
  RunScope,
  {
    /**
     * Resolves the scope once and returns the planner's facts. With `requestedAt` (a persisted
     * dispatch) it also freezes the scope (run_scope: Leads of `subject` only, ordinals 1..n in Lead
     * id order, those with a fresh result last) and writes the run's pending items (skipped for the fresh), stamped `requestedAt`, in the same pass: the rows
     * the `RunRequested` projection would write (it writes them only on a rebuild). Without it (a
     * preview) nothing is written.
     */
    readonly freezeScope: (input: {
      readonly workspaceId: string
      readonly runId: string
      readonly scope: PlannedScope
      readonly subject: "person" | "company"
      /**
       * a freshness window's match: Leads with such a result take the last ordinals and their items are
       * created skipped (`fresh_result`); counted in the facts (`freshCount`)
       */
      readonly fresh?: FreshResult | undefined
      /** `filtered_list` scopes: the parsed LeadFilter, applied after the subject, then its limit */
      readonly filter?: ParsedLeadFilter | undefined
      /** the run's `requestedAt` (its `RunRequested` event's); absent: facts only, nothing written */
      readonly requestedAt?: string | undefined
    }) => Effect.Effect<ScopeFacts, StoreFailure>
    /** Whether the workspace has the List (a scope naming one that does not is LIST_NOT_FOUND). */
    readonly listExists: (workspaceId: string, listId: string) => Effect.Effect<boolean, StoreFailure>
  }
>()("@enrich/domain/ports/RunScope") {}
