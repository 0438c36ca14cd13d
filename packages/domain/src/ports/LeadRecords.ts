/**
 * What the Leads, Lists and RunScope ports speak of: the views of Leads and Lists, their queries, and
 * the refusals of their commands.
 */
import { Schema } from "effect"
import type { LeadFields } from "../leads/Lead.ts"

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
