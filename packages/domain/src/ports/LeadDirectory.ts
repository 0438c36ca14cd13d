/**
 * The LeadDirectory port: Leads, Lists and memberships of a workspace, and the
 * set-based scope queries of dispatch (the planner's facts and the frozen scope).
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { LeadFields, LeadInput } from "../leads/Lead.ts"
import type { ParsedLeadFilter } from "../leads/LeadFilter.ts"
import type { LeadPatch } from "../leads/LeadPatch.ts"
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

/** `GET /api/leads`: ascending id after `cursor`; `q` is a case-insensitive substring of name, email, domain, company name or title. */
export interface LeadSearch extends LeadPageQuery {
  readonly id: string | undefined
  readonly q: string | undefined
}

export interface ListPatch {
  readonly name?: string | undefined
  readonly description?: string | null | undefined
  readonly leadType?: ListView["leadType"] | undefined
}

export interface Page {
  readonly nextCursor: string | null
  readonly hasMore: boolean
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
export class LeadNotFound extends Schema.TaggedError<LeadNotFound>()("LeadNotFound", { leadId: Schema.String }) {}
/** The protected `all` List cannot be changed: no rename, delete or membership change. */
export class ListProtected extends Schema.TaggedError<ListProtected>()("ListProtected", { listId: Schema.String }) {}
/** An edit would give a Lead an identity key that another Lead of the workspace already holds. */
export class IdentityConflict extends Schema.TaggedError<IdentityConflict>()("IdentityConflict", {
  leadId: Schema.String,
  identityKeys: Schema.Array(Schema.String),
  conflictingLeadIds: Schema.Array(Schema.String)
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
    /** One Lead by identity: a match fills empty fields and merges attributes (as an import does); `matched` says which. */
    readonly createLead: (
      workspaceId: string,
      input: LeadInput
    ) => Effect.Effect<{ readonly lead: LeadView; readonly matched: boolean }>
    readonly findLeads: (
      workspaceId: string,
      query: LeadSearch
    ) => Effect.Effect<{ readonly leads: ReadonlyArray<LeadView> } & Page>
    /** Applies a hand edit; identity keys follow email, LinkedIn and domain changes. */
    readonly updateLead: (
      workspaceId: string,
      leadId: string,
      patch: LeadPatch
    ) => Effect.Effect<LeadView, LeadNotFound | IdentityConflict>
    /** Erases the Lead, its memberships, identity keys and item results; run items keep only its id. */
    readonly deleteLead: (workspaceId: string, leadId: string) => Effect.Effect<void, LeadNotFound>
    /** One List of the workspace, `all` (the virtual List of every Lead, `mixed`) included. */
    readonly getList: (workspaceId: string, listId: string) => Effect.Effect<ListView, ListNotFound>
    /** The protected `all` List first, then the workspace's Lists by ascending id. */
    readonly listLists: (
      workspaceId: string,
      page: { readonly limit: number; readonly cursor: string | undefined }
    ) => Effect.Effect<{ readonly lists: ReadonlyArray<ListView> } & Page>
    readonly updateList: (
      workspaceId: string,
      listId: string,
      patch: ListPatch
    ) => Effect.Effect<ListView, ListNotFound | ListProtected | LeadTypeMismatch>
    /** Deletes the List and its memberships; the Leads stay. */
    readonly deleteList: (workspaceId: string, listId: string) => Effect.Effect<void, ListNotFound | ListProtected>
    readonly addListMembers: (
      workspaceId: string,
      listId: string,
      leadIds: ReadonlyArray<string>
    ) => Effect.Effect<
      { readonly list: ListView; readonly added: number; readonly alreadyMembers: number },
      ListNotFound | ListProtected | LeadsNotFound | LeadTypeMismatch
    >
    readonly removeListMembers: (
      workspaceId: string,
      listId: string,
      leadIds: ReadonlyArray<string>
    ) => Effect.Effect<
      { readonly list: ListView; readonly removed: number; readonly notMembers: number },
      ListNotFound | ListProtected | LeadsNotFound
    >
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
    }) => Effect.Effect<ScopeFacts>
  }
>()("@enrich/domain/ports/LeadDirectory") {}
