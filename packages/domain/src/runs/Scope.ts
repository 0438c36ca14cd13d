/** The Lead scope of a dispatch: the three shapes of the contract. */
import { Schema } from "effect"
import { Id, JsonObject } from "../ClientText.ts"
import type { RetryScope } from "./Retry.ts"

export const LeadIds = Schema.Array(Id).check(Schema.isMinLength(1), Schema.isMaxLength(10_000), Schema.isUnique())

export const ExplicitLeadsScope = Schema.Struct({
  type: Schema.Literal("explicit_leads"),
  leadIds: LeadIds,
  listId: Schema.optionalKey(Id)
})

export const ListScope = Schema.Struct({
  type: Schema.Literal("list"),
  listId: Id
})

export const FilteredListScope = Schema.Struct({
  type: Schema.Literal("filtered_list"),
  listId: Id,
  filter: JsonObject
})

export const Scope = Schema.Union([ExplicitLeadsScope, ListScope, FilteredListScope])
export type Scope = typeof Scope.Type
export type ScopeType = Scope["type"]

/** What the run remembers of the requested scope: references and counts, never a long id list. */
export const RequestedScope = Schema.Struct({
  /** `retry`: the failed items of another run (runs/Retry.ts), which the run names as `retryOf` */
  type: Schema.Literals(["explicit_leads", "list", "filtered_list", "retry"]),
  listId: Schema.NullOr(Schema.String),
  leadIdCount: Schema.NullOr(Schema.Int)
})
export type RequestedScope = typeof RequestedScope.Type

/** A scope as the planner and the scope freeze take it: one of the contract's, or a retry's. */
export type PlannedScope = Scope | RetryScope

/** The scope's List, if it names one (`all` included). */
export const scopeListId = (scope: PlannedScope): string | undefined => scope.listId

export const requestedScope = (scope: PlannedScope): RequestedScope => ({
  type: scope.type,
  listId: scope.listId ?? null,
  leadIdCount: scope.type === "explicit_leads" ? scope.leadIds.length : null
})
