/** Request and response bodies of the Leads endpoints and of the List edits (patch, delete, members). */
import { Schema } from "effect"
import { Id, JsonObject, TextUpTo } from "@enrich/domain/ClientText"
import { Contact, LeadType, Social } from "@enrich/domain/leads/Lead"
import { Lead, Limit, List, ListLeadType } from "../Schemas.ts"

const Text = TextUpTo(2048)
const Opt = <S extends Schema.Top>(s: S) => Schema.optionalKey(s)
const OptNullable = <S extends Schema.Top>(s: S) => Schema.optionalKey(Schema.NullOr(s))

/** `leadIds` of a membership change: 1..10,000 unique ids. */
export const LeadIds = Schema.Array(Id).check(Schema.isMinLength(1), Schema.isMaxLength(10_000), Schema.isUnique())

// --- leads ---------------------------------------------------------------------

/** 201: a new Lead (`matched: false`). */
export const LeadCreated = Schema.Struct({ lead: Lead, matched: Schema.Literal(false) })
/** 200: the identity matched an existing Lead; its empty fields were filled and new attribute keys added. */
export const LeadMatched = Schema.Struct({ lead: Lead, matched: Schema.Literal(true) })

export const LeadsQuery = {
  id: Opt(Id),
  type: Opt(LeadType),
  q: Opt(TextUpTo(200)),
  limit: Limit(500),
  cursor: Opt(Id)
}
export const LeadsPage = Schema.Struct({
  leads: Schema.Array(Lead),
  nextCursor: Schema.NullOr(Schema.String),
  hasMore: Schema.Boolean
})

/**
 * `{ id, ...fields }`: fields given replace the stored ones (`null` clears), `attributes` merge by key
 * (`null` deletes a key). `type` is not writable: like every unknown field, it is a 400 naming `body.type`.
 */
export const PatchLead = Schema.Struct({
  id: Id,
  name: OptNullable(Schema.Struct({ full: Opt(Text), first: Opt(Text), last: Opt(Text) })),
  title: OptNullable(Text),
  email: OptNullable(Text),
  phone: OptNullable(Text),
  linkedinUrl: OptNullable(Text),
  domain: OptNullable(Text),
  company: OptNullable(Schema.Struct({ name: Opt(Text), domain: Opt(Text) })),
  location: OptNullable(Schema.Struct({ city: Opt(Text), state: Opt(Text), country: Opt(Text) })),
  industry: OptNullable(Text),
  size: OptNullable(Text),
  contacts: Opt(Schema.Array(Contact).check(Schema.isMaxLength(100))),
  socials: Opt(Schema.Array(Social).check(Schema.isMaxLength(100))),
  attributes: Opt(JsonObject)
}).annotate({ messageUnexpectedKey: "Unknown or read-only field (type, lists, createdAt, updatedAt are not writable)" })
export const LeadBody = Schema.Struct({ lead: Lead })

export const ById = Schema.Struct({ id: Id })
export const Deleted = Schema.Struct({ deleted: Schema.Literal(true), id: Schema.String })

// --- lists ---------------------------------------------------------------------

export const ListsQuery = { limit: Limit(500), cursor: Opt(Id) }
export const ListsPage = Schema.Struct({
  lists: Schema.Array(List),
  nextCursor: Schema.NullOr(Schema.String),
  hasMore: Schema.Boolean
})

/** `leadType` may change when every member is of the new type (or to `mixed`). */
export const PatchList = Schema.Struct({
  id: Id,
  name: Opt(TextUpTo(200).check(Schema.isMinLength(1))),
  description: OptNullable(TextUpTo(2000)),
  leadType: Opt(ListLeadType)
})
export const ListBody = Schema.Struct({ list: List })

export const Members = Schema.Struct({ leadIds: LeadIds })
export const MembersAdded = Schema.Struct({ list: List, added: Schema.Int, alreadyMembers: Schema.Int })
export const MembersRemoved = Schema.Struct({ list: List, removed: Schema.Int, notMembers: Schema.Int })
