/**
 * The Lists port: a workspace's Lists (the protected `all` List included) and their members.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type {
  LeadPageQuery,
  LeadsNotFound,
  LeadTypeMismatch,
  LeadView,
  ListNotFound,
  ListPatch,
  ListProtected,
  ListView,
  NewList,
  Page
} from "./LeadRecords.ts"
import type { StoreFailure } from "./StoreFailure.ts"

export class Lists extends Context.Service<
  Lists,
  {
    readonly createList: (
      workspaceId: string,
      input: NewList
    ) => Effect.Effect<ListView, LeadsNotFound | LeadTypeMismatch | StoreFailure>
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
      ListNotFound | StoreFailure
    >
    /** One List of the workspace, `all` (the virtual List of every Lead, `mixed`) included. */
    readonly getList: (workspaceId: string, listId: string) => Effect.Effect<ListView, ListNotFound | StoreFailure>
    /** The protected `all` List first, then the workspace's Lists by ascending id. */
    readonly listLists: (
      workspaceId: string,
      page: { readonly limit: number; readonly cursor: string | undefined }
    ) => Effect.Effect<{ readonly lists: ReadonlyArray<ListView> } & Page, StoreFailure>
    readonly updateList: (
      workspaceId: string,
      listId: string,
      patch: ListPatch
    ) => Effect.Effect<ListView, ListNotFound | ListProtected | LeadTypeMismatch | StoreFailure>
    /** Deletes the List and its memberships; the Leads stay. */
    readonly deleteList: (
      workspaceId: string,
      listId: string
    ) => Effect.Effect<void, ListNotFound | ListProtected | StoreFailure>
    readonly addListMembers: (
      workspaceId: string,
      listId: string,
      leadIds: ReadonlyArray<string>
    ) => Effect.Effect<
      { readonly list: ListView; readonly added: number; readonly alreadyMembers: number },
      ListNotFound | ListProtected | LeadsNotFound | LeadTypeMismatch | StoreFailure
    >
    readonly removeListMembers: (
      workspaceId: string,
      listId: string,
      leadIds: ReadonlyArray<string>
    ) => Effect.Effect<
      { readonly list: ListView; readonly removed: number; readonly notMembers: number },
      ListNotFound | ListProtected | LeadsNotFound | StoreFailure
    >
  }
>()("@enrich/domain/ports/Lists") {}
