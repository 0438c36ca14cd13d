/**
 * The LeadDirectory port: Leads, Lists and memberships of a workspace, and the
 * set-based scope queries of dispatch (the planner's facts and the frozen scope).
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { LeadFields, LeadInput } from "../leads/Lead.ts"
import type { ScopeFacts } from "../runs/Planner.ts"
import type { Scope } from "../runs/Scope.ts"

/** The protected virtual List of every Lead of a workspace: no renames, no deletes, no membership attributes. */
export const ALL_LIST_ID = "all"

export interface LeadView extends LeadFields {
  readonly id: string
  readonly email: string | null
  readonly lists: ReadonlyArray<string>
  readonly createdAt: string
  readonly updatedAt: string
}

export interface ListView {
  readonly id: string
  readonly name: string
  readonly description: string | null
  readonly leadType: "person" | "company" | "mixed"
  readonly protected: boolean
  readonly leadCount: number
  readonly createdAt: string
  readonly updatedAt: string
}

export interface NewList {
  readonly name: string
  readonly description: string | null
  readonly leadType: ListView["leadType"]
  readonly leadIds: ReadonlyArray<string>
}

export interface LeadPageQuery {
  readonly limit: number
  readonly cursor: string | undefined
  readonly type: "person" | "company" | undefined
}

export class ListNotFound extends Schema.TaggedError<ListNotFound>()("ListNotFound", { listId: Schema.String }) {}
export class LeadsNotFound extends Schema.TaggedError<LeadsNotFound>()("LeadsNotFound", {
  leadIds: Schema.Array(Schema.String),
  total: Schema.Int
}) {}
export class LeadTypeMismatch extends Schema.TaggedError<LeadTypeMismatch>()("LeadTypeMismatch", {
  listId: Schema.String,
  leadType: Schema.String,
  leadIds: Schema.Array(Schema.String),
  total: Schema.Int
}) {}

export class LeadDirectory extends Context.Service<
  LeadDirectory,
  {
    readonly importLeads: (
      workspaceId: string,
      inputs: ReadonlyArray<LeadInput>,
      listId: string | undefined
    ) => Effect.Effect<
      { readonly created: number; readonly matched: number; readonly leadIds: ReadonlyArray<string> },
      ListNotFound | LeadTypeMismatch
    >
    readonly createList: (
      workspaceId: string,
      input: NewList
    ) => Effect.Effect<ListView, LeadsNotFound | LeadTypeMismatch>
    readonly listLeads: (
      workspaceId: string,
      listId: string,
      page: LeadPageQuery
    ) => Effect.Effect<
      {
        readonly leads: ReadonlyArray<
          LeadView & { readonly membership: { readonly id: string; readonly attributes: unknown } | null }
        >
        readonly total: number
        readonly nextCursor: string | null
        readonly hasMore: boolean
      },
      ListNotFound
    >
    /** Freezes the scope into run_scope (Leads of `subject` only, ordinals 1..n in Lead id order) and returns the planner's facts. */
    readonly freezeScope: (input: {
      readonly workspaceId: string
      readonly runId: string
      readonly scope: Scope
      readonly subject: "person" | "company"
    }) => Effect.Effect<ScopeFacts>
  }
>()("@enrich/domain/ports/LeadDirectory") {}
