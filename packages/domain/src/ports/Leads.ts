/**
 * The Leads port: a workspace's Leads — imported or created (matched by identity), searched, edited
 * by hand, erased.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { LeadInput } from "../leads/Lead.ts"
import type { LeadPatch } from "../leads/LeadPatch.ts"
import type {
  IdentityConflict,
  LeadNotFound,
  LeadSearch,
  LeadTypeMismatch,
  LeadView,
  ListNotFound,
  Page
} from "./LeadRecords.ts"
import type { StoreFailure } from "./StoreFailure.ts"

export class Leads extends Context.Service<
  Leads,
  {
    readonly importLeads: (
      workspaceId: string,
      inputs: ReadonlyArray<LeadInput>,
      listId: string | undefined
    ) => Effect.Effect<
      { readonly created: number; readonly matched: number; readonly leadIds: ReadonlyArray<string> },
      ListNotFound | LeadTypeMismatch | StoreFailure
    >
    /** One Lead by identity: a match fills empty fields and merges attributes (as an import does); `matched` says which. */
    readonly createLead: (
      workspaceId: string,
      input: LeadInput
    ) => Effect.Effect<{ readonly lead: LeadView; readonly matched: boolean }, StoreFailure>
    readonly findLeads: (
      workspaceId: string,
      query: LeadSearch
    ) => Effect.Effect<{ readonly leads: ReadonlyArray<LeadView> } & Page, StoreFailure>
    /** Applies a hand edit; identity keys follow email, LinkedIn and domain changes. */
    readonly updateLead: (
      workspaceId: string,
      leadId: string,
      patch: LeadPatch
    ) => Effect.Effect<LeadView, LeadNotFound | IdentityConflict | StoreFailure>
    /** Erases the Lead, its memberships, identity keys and item results; run items keep only its id. */
    readonly deleteLead: (workspaceId: string, leadId: string) => Effect.Effect<void, LeadNotFound | StoreFailure>
  }
>()("@enrich/domain/ports/Leads") {}
