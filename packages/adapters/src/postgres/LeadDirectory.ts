/**
 * The three ports over a workspace's Leads in PostgreSQL, made together because they share their
 * statements' pieces (the identity locks, the List and membership checks): `Leads` (import, create,
 * search, edit, erase), `Lists` (Lists and their members) and `RunScope` (the set-based scope queries
 * of dispatch: the facts the planner decides from — counts and the first offenders — and the frozen
 * scope of a run with its pending items, all in one statement over the scope, `freezeScope`). No
 * round trip per Lead.
 */
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient, type Statement } from "effect/sql"
import {
  fromInput,
  groupByIdentity,
  identityKeysOf,
  type LeadFields,
  type LeadInput,
  mergeInto
} from "@enrich/domain/leads/Lead"
import type { ParsedLeadFilter } from "@enrich/domain/leads/LeadFilter"
import { applyPatch, type LeadPatch } from "@enrich/domain/leads/LeadPatch"
import {
  ALL_LIST_ID,
  IdentityConflict,
  LeadNotFound,
  type LeadPageQuery,
  type LeadSearch,
  LeadsNotFound,
  LeadTypeMismatch,
  type LeadView,
  ListNotFound,
  type ListPatch,
  ListProtected,
  type ListView,
  type NewList
} from "@enrich/domain/ports/LeadRecords"
import { Leads } from "@enrich/domain/ports/Leads"
import { Lists } from "@enrich/domain/ports/Lists"
import { RunScope } from "@enrich/domain/ports/RunScope"
import { requestedItemStatus } from "@enrich/domain/runs/ItemMoves"
import type { ScopeFacts } from "@enrich/domain/runs/Planner"
import type { PlannedScope } from "@enrich/domain/runs/Scope"
import { type FreshResult, freshSkippedReason } from "@enrich/domain/runs/Freshness"
import { itemTransitions } from "@enrich/domain/runs/ItemMoves"
import { uuidv7 } from "@enrich/domain/Ids"
import { itemIdSql } from "./ItemIdSql.ts"
import { leadFilterSql } from "./LeadFilterSql.ts"
import { textArray } from "./TextArray.ts"
import { asStoreFailure, failAsStore } from "./Transient.ts"

interface LeadRow {
  id: string
  type: "person" | "company"
  name: LeadFields["name"]
  title: string | null
  company: LeadFields["company"]
  location: LeadFields["location"]
  domain: string | null
  linkedin_url: string | null
  industry: string | null
  size: string | null
  contacts: LeadFields["contacts"]
  socials: LeadFields["socials"]
  attributes: LeadFields["attributes"]
  lists: ReadonlyArray<string> | null
  created_at: Date
  updated_at: Date
}

const toFields = (row: LeadRow): LeadFields => ({
  type: row.type,
  name: row.name,
  title: row.title,
  company: row.company,
  location: row.location,
  domain: row.domain,
  linkedinUrl: row.linkedin_url,
  industry: row.industry,
  size: row.size,
  contacts: row.contacts,
  socials: row.socials,
  attributes: row.attributes
})

export const toLeadView = (row: LeadRow): LeadView => ({
  id: row.id,
  ...toFields(row),
  email: row.contacts.find((c) => c.type === "email")?.value ?? null,
  lists: row.lists ?? [],
  createdAt: new Date(row.created_at).toISOString(),
  updatedAt: new Date(row.updated_at).toISOString()
})

const toRecord = (id: string, fields: LeadFields) => ({
  id,
  type: fields.type,
  name: fields.name,
  title: fields.title,
  company: fields.company,
  location: fields.location,
  domain: fields.domain,
  linkedin_url: fields.linkedinUrl,
  industry: fields.industry,
  size: fields.size,
  contacts: fields.contacts,
  socials: fields.socials,
  attributes: fields.attributes
})

/** Ordinals per `run_scope_chunks` row: the frozen scope of a run of a million Leads is a thousand rows. */
const SCOPE_CHUNK = 1000

/** A database failure as the ports type it (a StoreFailure), not a defect. */
const leadColumns = (sql: SqlClient.SqlClient) => sql`l.id, l.type, l.name, l.title, l.company, l.location, l.domain,
  l.linkedin_url, l.industry, l.size, l.contacts, l.socials, l.attributes, l.created_at, l.updated_at,
  (SELECT array_agg(m.list_id ORDER BY m.list_id) FROM list_memberships m WHERE m.lead_id = l.id) AS lists`

/** `Leads`, `Lists` and `RunScope` on PostgreSQL. */
export const LeadDirectoryPgLive = Layer.effectContext(
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const findList = (workspaceId: string, listId: string) =>
      sql<{ id: string; lead_type: ListView["leadType"] }>`
          SELECT id, lead_type FROM lists WHERE workspace_id = ${workspaceId} AND id = ${listId}`.pipe(
        Effect.map((rows) => Option.fromNullishOr(rows[0]))
      )

    /** Requested ids that are not Leads of the workspace: the first 100, each row with the total. */
    const missingLeads = (workspaceId: string, leadIds: ReadonlyArray<string>) =>
      sql<{ id: string; total: number }>`
          SELECT x AS id, count(*) OVER ()::int AS total FROM jsonb_array_elements_text(${JSON.stringify(leadIds)}::jsonb) x
          WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = x AND l.workspace_id = ${workspaceId})
          ORDER BY x LIMIT 100`

    /** Adds members, refusing Leads of the wrong type for the List. */
    const addMembers = Effect.fnUntraced(function* (
      workspaceId: string,
      list: { readonly id: string; readonly lead_type: ListView["leadType"] },
      leadIds: ReadonlyArray<string>
    ) {
      if (leadIds.length === 0) return 0
      if (list.lead_type !== "mixed") {
        const wrong = yield* sql<{ id: string; total: number }>`
            SELECT id, count(*) OVER ()::int AS total FROM leads
            WHERE workspace_id = ${workspaceId} AND id = ANY(${textArray(leadIds)}::text[])
              AND type <> ${list.lead_type}
            ORDER BY id LIMIT 100`
        if (wrong.length > 0) {
          return yield* new LeadTypeMismatch({
            listId: list.id,
            leadType: list.lead_type,
            leadIds: wrong.map((r) => r.id),
            total: wrong[0]!.total
          })
        }
      }
      const [inserted] = yield* sql<{ n: number }>`
          WITH inserted AS (
            INSERT INTO list_memberships (id, workspace_id, list_id, lead_id)
            SELECT x.id, ${workspaceId}, ${list.id}, x.lead_id
            FROM jsonb_to_recordset(${JSON.stringify(leadIds.map((leadId) => ({ id: uuidv7(), lead_id: leadId })))}::jsonb)
              AS x(id text, lead_id text)
            ON CONFLICT (list_id, lead_id) DO NOTHING
            RETURNING 1
          )
          SELECT count(*)::int AS n FROM inserted`
      return inserted!.n
    })

    const importLeads = Effect.fn("Leads.importLeads")(
      function* (workspaceId: string, inputs: ReadonlyArray<LeadInput>, listId: string | undefined) {
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            // imports of one workspace are serialised so identity de-duplication holds under concurrency
            yield* sql`SELECT pg_advisory_xact_lock(hashtext(${workspaceId}))`
            const list =
              listId === undefined || listId === ALL_LIST_ID ? Option.none() : yield* findList(workspaceId, listId)
            if (listId !== undefined && listId !== ALL_LIST_ID && Option.isNone(list)) {
              return yield* new ListNotFound({ listId })
            }
            const grouped = groupByIdentity(inputs.map(fromInput))
            const groups = grouped.groups.map((g) => ({ ...g, leadId: undefined as string | undefined }))
            const allKeys = [...new Set(groups.flatMap((g) => [...g.keys]))]
            const existing =
              allKeys.length === 0
                ? []
                : yield* sql<{ identity_key: string; lead_id: string }>`
            SELECT identity_key, lead_id FROM lead_identities
            WHERE workspace_id = ${workspaceId}
              AND identity_key = ANY(${textArray(allKeys)}::text[])`
            const leadOfKey = new Map(existing.map((r) => [r.identity_key, r.lead_id]))
            for (const group of groups) {
              const match = [...group.keys].map((k) => leadOfKey.get(k)).find((id) => id !== undefined)
              if (match !== undefined) group.leadId = match
            }
            const matchedIds = [...new Set(groups.flatMap((g) => (g.leadId === undefined ? [] : [g.leadId])))]
            const stored =
              matchedIds.length === 0
                ? []
                : yield* sql<LeadRow>`
            SELECT ${leadColumns(sql)} FROM leads l
            WHERE l.workspace_id = ${workspaceId} AND l.id = ANY(${textArray(matchedIds)}::text[])`
            const storedById = new Map(stored.map((r) => [r.id, toFields(r)]))
            const updates = new Map<string, LeadFields>()
            const inserts: Array<ReturnType<typeof toRecord>> = []
            for (const group of groups) {
              if (group.leadId !== undefined) {
                const base = updates.get(group.leadId) ?? storedById.get(group.leadId)!
                updates.set(group.leadId, mergeInto(base, group.fields))
              } else {
                group.leadId = uuidv7()
                inserts.push(toRecord(group.leadId, group.fields))
              }
            }
            const recordset = `x(id text, type text, name jsonb, title text, company jsonb, location jsonb, domain text,
            linkedin_url text, industry text, size text, contacts jsonb, socials jsonb, attributes jsonb)`
            if (inserts.length > 0) {
              yield* sql`
              INSERT INTO leads (id, workspace_id, type, name, title, company, location, domain, linkedin_url, industry, size,
                                 contacts, socials, attributes)
              SELECT x.id, ${workspaceId}, x.type, x.name, x.title, x.company, x.location, x.domain, x.linkedin_url,
                     x.industry, x.size, x.contacts, x.socials, x.attributes
              FROM jsonb_to_recordset(${JSON.stringify(inserts)}::jsonb) AS ${sql.literal(recordset)}`
            }
            if (updates.size > 0) {
              const changed = [...updates].map(([id, fields]) => toRecord(id, fields))
              yield* sql`
              UPDATE leads l SET name = x.name, title = x.title, company = x.company, location = x.location,
                domain = x.domain, linkedin_url = x.linkedin_url, industry = x.industry, size = x.size,
                contacts = x.contacts, socials = x.socials, attributes = x.attributes, updated_at = now()
              FROM jsonb_to_recordset(${JSON.stringify(changed)}::jsonb) AS ${sql.literal(recordset)}
              WHERE l.id = x.id AND l.workspace_id = ${workspaceId}`
            }
            const identities = groups.flatMap((g) => [...g.keys].map((k) => ({ identity_key: k, lead_id: g.leadId! })))
            if (identities.length > 0) {
              yield* sql`
              INSERT INTO lead_identities (workspace_id, identity_key, lead_id)
              SELECT ${workspaceId}, x.identity_key, x.lead_id
              FROM jsonb_to_recordset(${JSON.stringify(identities)}::jsonb) AS x(identity_key text, lead_id text)
              ON CONFLICT DO NOTHING`
            }
            const leadIds = grouped.groupOfRow.map((g) => groups[g]!.leadId!)
            if (Option.isSome(list)) yield* addMembers(workspaceId, list.value, [...new Set(leadIds)])
            return { created: inserts.length, matched: groups.length - inserts.length, leadIds }
          })
        )
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const listView = (row: {
      id: string
      name: string
      description: string | null
      lead_type: ListView["leadType"]
      lead_count: number
      created_at: Date
      updated_at: Date
    }): ListView => ({
      id: row.id,
      name: row.name,
      description: row.description,
      leadType: row.lead_type,
      protected: row.id === ALL_LIST_ID,
      leadCount: row.lead_count,
      createdAt: new Date(row.created_at).toISOString(),
      updatedAt: new Date(row.updated_at).toISOString()
    })

    const createList = Effect.fn("Lists.createList")(
      function* (workspaceId: string, input: NewList) {
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            const id = uuidv7()
            if (input.leadIds.length > 0) {
              const missing = yield* missingLeads(workspaceId, input.leadIds)
              if (missing.length > 0) {
                return yield* new LeadsNotFound({ leadIds: missing.map((r) => r.id), total: missing[0]!.total })
              }
            }
            yield* sql`INSERT INTO lists (id, workspace_id, name, description, lead_type)
            VALUES (${id}, ${workspaceId}, ${input.name}, ${input.description}, ${input.leadType})`
            yield* addMembers(workspaceId, { id, lead_type: input.leadType }, input.leadIds)
            const rows = yield* sql<Parameters<typeof listView>[0]>`
            SELECT id, name, description, lead_type, created_at, updated_at,
                   (SELECT count(*)::int FROM list_memberships m WHERE m.list_id = lists.id) AS lead_count
            FROM lists WHERE id = ${id}`
            return listView(rows[0]!)
          })
        )
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const listLeads = Effect.fn("Lists.listLeads")(
      function* (workspaceId: string, listId: string, page: LeadPageQuery) {
        const typeFilter = page.type === undefined ? sql`` : sql`AND l.type = ${page.type}`
        const after = page.cursor === undefined ? sql`` : sql`AND l.id > ${page.cursor}`
        if (listId === ALL_LIST_ID) {
          const [rows, total] = yield* Effect.all([
            sql<LeadRow>`SELECT ${leadColumns(sql)} FROM leads l
              WHERE l.workspace_id = ${workspaceId} ${typeFilter} ${after} ORDER BY l.id LIMIT ${page.limit + 1}`,
            sql<{
              n: number
            }>`SELECT count(*)::int AS n FROM leads l WHERE l.workspace_id = ${workspaceId} ${typeFilter}`
          ])
          const leads = rows.slice(0, page.limit).map((r) => ({ ...toLeadView(r), membership: null }))
          const hasMore = rows.length > page.limit
          return { leads, total: total[0]!.n, hasMore, nextCursor: hasMore ? leads[leads.length - 1]!.id : null }
        }
        const list = yield* findList(workspaceId, listId)
        if (Option.isNone(list)) return yield* new ListNotFound({ listId })
        const [rows, total] = yield* Effect.all([
          sql<LeadRow & { membership_id: string; membership_attributes: unknown }>`
            SELECT ${leadColumns(sql)}, m.id AS membership_id, m.attributes AS membership_attributes
            FROM list_memberships m JOIN leads l ON l.id = m.lead_id
            WHERE m.list_id = ${listId} AND m.workspace_id = ${workspaceId} ${typeFilter} ${after}
            ORDER BY l.id LIMIT ${page.limit + 1}`,
          sql<{ n: number }>`SELECT count(*)::int AS n FROM list_memberships m JOIN leads l ON l.id = m.lead_id
            WHERE m.list_id = ${listId} AND m.workspace_id = ${workspaceId} ${typeFilter}`
        ])
        const leads = rows.slice(0, page.limit).map((r) => ({
          ...toLeadView(r),
          membership: { id: r.membership_id, attributes: r.membership_attributes }
        }))
        const hasMore = rows.length > page.limit
        return { leads, total: total[0]!.n, hasMore, nextCursor: hasMore ? leads[leads.length - 1]!.id : null }
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    /** The workspace's Leads by id, as LeadViews, in id order. */
    const leadsById = (workspaceId: string, ids: ReadonlyArray<string>) =>
      sql<LeadRow>`SELECT ${leadColumns(sql)} FROM leads l
        WHERE l.workspace_id = ${workspaceId} AND l.id = ANY(${textArray(ids)}::text[])
        ORDER BY l.id`.pipe(Effect.map((rows) => rows.map(toLeadView)))

    /** Identity keys and imports of one workspace are serialised (see importLeads). */
    const lockIdentities = (workspaceId: string) => sql`SELECT pg_advisory_xact_lock(hashtext(${workspaceId}))`

    const createLead = Effect.fn("Leads.createLead")(
      function* (workspaceId: string, input: LeadInput) {
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            const imported = yield* importLeads(workspaceId, [input], undefined)
            const [lead] = yield* leadsById(workspaceId, imported.leadIds)
            return { lead: lead!, matched: imported.created === 0 }
          })
        )
      },
      Effect.catchTag("SqlError", failAsStore),
      // no List is named, so neither can happen
      Effect.catchTag(["ListNotFound", "LeadTypeMismatch"], Effect.die)
    )

    const findLeads = Effect.fn("Leads.findLeads")(
      function* (workspaceId: string, query: LeadSearch) {
        const conditions = [sql`l.workspace_id = ${workspaceId}`]
        if (query.id !== undefined) conditions.push(sql`l.id = ${query.id}`)
        if (query.type !== undefined) conditions.push(sql`l.type = ${query.type}`)
        if (query.cursor !== undefined) conditions.push(sql`l.id > ${query.cursor}`)
        if (query.q !== undefined && query.q !== "") {
          const pattern = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
          conditions.push(sql`(
            l.name->>'full' ILIKE ${pattern} OR l.name->>'first' ILIKE ${pattern} OR l.name->>'last' ILIKE ${pattern}
            OR concat_ws(' ', l.name->>'first', l.name->>'last') ILIKE ${pattern}
            OR l.title ILIKE ${pattern} OR l.domain ILIKE ${pattern}
            OR l.company->>'name' ILIKE ${pattern} OR l.company->>'domain' ILIKE ${pattern}
            OR EXISTS (SELECT 1 FROM jsonb_array_elements(l.contacts) c
                       WHERE (c->>'type' = 'email' OR (c->>'type' IS NULL AND c->>'value' LIKE '%@%'))
                         AND c->>'value' ILIKE ${pattern}))`)
        }
        const rows = yield* sql<LeadRow>`SELECT ${leadColumns(sql)} FROM leads l
          WHERE ${sql.and(conditions)} ORDER BY l.id LIMIT ${query.limit + 1}`
        const leads = rows.slice(0, query.limit).map(toLeadView)
        const hasMore = rows.length > query.limit
        return { leads, hasMore, nextCursor: hasMore ? leads[leads.length - 1]!.id : null }
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const updateLead = Effect.fn("Leads.updateLead")(
      function* (workspaceId: string, leadId: string, patch: LeadPatch) {
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* lockIdentities(workspaceId)
            // the row lock keeps a worker's attribute write from being lost between this read and the update
            const [row] = yield* sql<LeadRow>`SELECT ${leadColumns(sql)} FROM leads l
              WHERE l.workspace_id = ${workspaceId} AND l.id = ${leadId} FOR UPDATE OF l`
            if (row === undefined) return yield* new LeadNotFound({ leadId })
            const before = toFields(row)
            const after = applyPatch(before, patch)
            const keysBefore = new Set(identityKeysOf(before))
            const keysAfter = new Set(identityKeysOf(after))
            const added = [...keysAfter].filter((k) => !keysBefore.has(k))
            const removed = [...keysBefore].filter((k) => !keysAfter.has(k))
            if (added.length > 0) {
              const taken = yield* sql<{ identity_key: string; lead_id: string }>`
                SELECT identity_key, lead_id FROM lead_identities
                WHERE workspace_id = ${workspaceId} AND lead_id <> ${leadId}
                  AND identity_key = ANY(${textArray(added)}::text[])
                ORDER BY identity_key`
              if (taken.length > 0) {
                return yield* new IdentityConflict({
                  leadId,
                  identityKeys: taken.map((r) => r.identity_key),
                  conflictingLeadIds: [...new Set(taken.map((r) => r.lead_id))]
                })
              }
              yield* sql`
                INSERT INTO lead_identities (workspace_id, identity_key, lead_id)
                SELECT ${workspaceId}, x, ${leadId} FROM jsonb_array_elements_text(${JSON.stringify(added)}::jsonb) x
                ON CONFLICT DO NOTHING`
            }
            if (removed.length > 0) {
              yield* sql`
                DELETE FROM lead_identities
                WHERE workspace_id = ${workspaceId} AND lead_id = ${leadId}
                  AND identity_key = ANY(${textArray(removed)}::text[])`
            }
            const x = toRecord(leadId, after)
            yield* sql`
              UPDATE leads SET name = ${JSON.stringify(x.name)}::jsonb, title = ${x.title},
                company = ${JSON.stringify(x.company)}::jsonb, location = ${JSON.stringify(x.location)}::jsonb,
                domain = ${x.domain}, linkedin_url = ${x.linkedin_url}, industry = ${x.industry}, size = ${x.size},
                contacts = ${JSON.stringify(x.contacts)}::jsonb, socials = ${JSON.stringify(x.socials)}::jsonb,
                attributes = ${JSON.stringify(x.attributes)}::jsonb, updated_at = now()
              WHERE workspace_id = ${workspaceId} AND id = ${leadId}`
            const [lead] = yield* leadsById(workspaceId, [leadId])
            return lead!
          })
        )
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const deleteLead = Effect.fn("Leads.deleteLead")(
      function* (workspaceId: string, leadId: string) {
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* lockIdentities(workspaceId)
            // a batch that is computing this Lead records it under its batch's row (ItemBatches lockBatch): take
            // the open batches with an item of this Lead first (in one order, as the watchdog does), so that a
            // record waits for the erasure or the erasure for the record, and its result is erased too. Then the
            // items, then the Lead: the order a record writes them in (its items, then their Leads; a batch
            // claimed meanwhile records in that order too), so the two queue instead of deadlocking (regression
            // test regression_erasing_a_lead_while_its_batch_recorded_deadlocked_into_a_500)
            yield* sql`SELECT b.batch FROM run_batches b
              WHERE NOT b.ended AND b.run_id IN (
                SELECT run_id FROM run_items
                WHERE workspace_id = ${workspaceId} AND lead_id = ${leadId} AND status = 'pending'
              )
              ORDER BY b.batch FOR UPDATE`
            const [lead] = yield* sql<{ id: string }>`
              SELECT id FROM leads WHERE workspace_id = ${workspaceId} AND id = ${leadId}`
            if (lead === undefined) return yield* new LeadNotFound({ leadId })
            // what its items produced is personal data: their outcomes stay, their results go, and they are marked,
            // so that a record waiting for them writes none (ItemBatchesPg.ts writeResults)
            yield* sql`UPDATE run_items SET result = NULL, error = NULL, lead_snapshot = NULL, provider_result = NULL,
                provider_result_is_result = false, provider = NULL, provider_submission_id = NULL, recorded_at = NULL,
                lead_erased = true
              WHERE id IN (
                SELECT id FROM run_items WHERE workspace_id = ${workspaceId} AND lead_id = ${leadId} ORDER BY id
              )`
            const locked =
              yield* sql`SELECT id FROM leads WHERE workspace_id = ${workspaceId} AND id = ${leadId} FOR UPDATE`
            // another erasure went first: this one is not found, and what it marked rolls back
            if (locked.length === 0) return yield* new LeadNotFound({ leadId })
            yield* sql`DELETE FROM list_memberships WHERE workspace_id = ${workspaceId} AND lead_id = ${leadId}`
            yield* sql`DELETE FROM lead_identities WHERE workspace_id = ${workspaceId} AND lead_id = ${leadId}`
            yield* sql`DELETE FROM leads WHERE workspace_id = ${workspaceId} AND id = ${leadId}`
          })
        )
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const listRowColumns = sql`id, name, description, lead_type, created_at, updated_at,
      (SELECT count(*)::int FROM list_memberships m
       WHERE m.list_id = lists.id AND m.workspace_id = lists.workspace_id) AS lead_count`

    const listById = (workspaceId: string, listId: string) =>
      sql<Parameters<typeof listView>[0]>`SELECT ${listRowColumns} FROM lists
        WHERE workspace_id = ${workspaceId} AND id = ${listId}`.pipe(Effect.map((rows) => listView(rows[0]!)))

    /**
     * A List that may be changed (not `all`, of the workspace), row-locked: `FOR UPDATE` for a change of the
     * List itself, `FOR SHARE` for a membership change (so members never contradict a concurrent leadType change).
     */
    const changeableList = Effect.fnUntraced(function* (workspaceId: string, listId: string, lock: "update" | "share") {
      if (listId === ALL_LIST_ID) return yield* new ListProtected({ listId })
      const [list] = yield* sql<{ id: string; lead_type: ListView["leadType"] }>`
        SELECT id, lead_type FROM lists WHERE workspace_id = ${workspaceId} AND id = ${listId}
        ${lock === "update" ? sql`FOR UPDATE` : sql`FOR SHARE`}`
      if (list === undefined) return yield* new ListNotFound({ listId })
      return list
    })

    const listLists = Effect.fn("Lists.listLists")(
      function* (workspaceId: string, page: { readonly limit: number; readonly cursor: string | undefined }) {
        const lists: Array<ListView> = []
        if (page.cursor === undefined) {
          const [all] = yield* sql<{ created_at: Date; lead_count: number }>`
            SELECT w.created_at, (SELECT count(*)::int FROM leads l WHERE l.workspace_id = w.id) AS lead_count
            FROM workspaces w WHERE w.id = ${workspaceId}`
          lists.push(
            listView({
              id: ALL_LIST_ID,
              name: "All Leads",
              description: null,
              lead_type: "mixed",
              lead_count: all?.lead_count ?? 0,
              created_at: all?.created_at ?? new Date(0),
              updated_at: all?.created_at ?? new Date(0)
            })
          )
        }
        const after = page.cursor === undefined || page.cursor === ALL_LIST_ID ? sql`` : sql`AND id > ${page.cursor}`
        const wanted = page.limit - lists.length
        const rows = yield* sql<Parameters<typeof listView>[0]>`SELECT ${listRowColumns} FROM lists
          WHERE workspace_id = ${workspaceId} ${after} ORDER BY id LIMIT ${wanted + 1}`
        lists.push(...rows.slice(0, wanted).map(listView))
        const hasMore = rows.length > wanted
        return { lists, hasMore, nextCursor: hasMore ? lists[lists.length - 1]!.id : null }
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const getList = Effect.fn("Lists.getList")(
      function* (workspaceId: string, listId: string) {
        if (listId === ALL_LIST_ID) {
          const page = yield* listLists(workspaceId, { limit: 1, cursor: undefined })
          return page.lists[0]!
        }
        const rows = yield* sql<Parameters<typeof listView>[0]>`SELECT ${listRowColumns} FROM lists
          WHERE workspace_id = ${workspaceId} AND id = ${listId}`
        if (rows[0] === undefined) return yield* new ListNotFound({ listId })
        return listView(rows[0])
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const updateList = Effect.fn("Lists.updateList")(
      function* (workspaceId: string, listId: string, patch: ListPatch) {
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* changeableList(workspaceId, listId, "update")
            if (patch.leadType !== undefined && patch.leadType !== "mixed") {
              const wrong = yield* sql<{ id: string; total: number }>`
                SELECT l.id, count(*) OVER ()::int AS total FROM list_memberships m JOIN leads l ON l.id = m.lead_id
                WHERE m.workspace_id = ${workspaceId} AND m.list_id = ${listId} AND l.type <> ${patch.leadType}
                ORDER BY l.id LIMIT 100`
              if (wrong.length > 0) {
                return yield* new LeadTypeMismatch({
                  listId,
                  leadType: patch.leadType,
                  leadIds: wrong.map((r) => r.id),
                  total: wrong[0]!.total
                })
              }
            }
            const sets = [
              ...(patch.name === undefined ? [] : [sql`name = ${patch.name}`]),
              ...(patch.description === undefined ? [] : [sql`description = ${patch.description}`]),
              ...(patch.leadType === undefined ? [] : [sql`lead_type = ${patch.leadType}`])
            ]
            if (sets.length > 0) {
              yield* sql`UPDATE lists SET ${sql.csv([...sets, sql`updated_at = now()`])}
                WHERE workspace_id = ${workspaceId} AND id = ${listId}`
            }
            return yield* listById(workspaceId, listId)
          })
        )
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const deleteList = Effect.fn("Lists.deleteList")(
      function* (workspaceId: string, listId: string) {
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* changeableList(workspaceId, listId, "update")
            yield* sql`DELETE FROM list_memberships WHERE workspace_id = ${workspaceId} AND list_id = ${listId}`
            yield* sql`DELETE FROM lists WHERE workspace_id = ${workspaceId} AND id = ${listId}`
          })
        )
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const addListMembers = Effect.fn("Lists.addListMembers")(
      function* (workspaceId: string, listId: string, leadIds: ReadonlyArray<string>) {
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            const list = yield* changeableList(workspaceId, listId, "share")
            const missing = yield* missingLeads(workspaceId, leadIds)
            if (missing.length > 0) {
              return yield* new LeadsNotFound({ leadIds: missing.map((r) => r.id), total: missing[0]!.total })
            }
            const added = yield* addMembers(workspaceId, list, leadIds)
            if (added > 0) {
              yield* sql`UPDATE lists SET updated_at = now() WHERE workspace_id = ${workspaceId} AND id = ${listId}`
            }
            return { list: yield* listById(workspaceId, listId), added, alreadyMembers: leadIds.length - added }
          })
        )
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    const removeListMembers = Effect.fn("Lists.removeListMembers")(
      function* (workspaceId: string, listId: string, leadIds: ReadonlyArray<string>) {
        return yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* changeableList(workspaceId, listId, "share")
            const missing = yield* missingLeads(workspaceId, leadIds)
            if (missing.length > 0) {
              return yield* new LeadsNotFound({ leadIds: missing.map((r) => r.id), total: missing[0]!.total })
            }
            const [removed] = yield* sql<{ n: number }>`
              WITH gone AS (
                DELETE FROM list_memberships
                WHERE workspace_id = ${workspaceId} AND list_id = ${listId}
                  AND lead_id = ANY(${textArray(leadIds)}::text[])
                RETURNING 1
              )
              SELECT count(*)::int AS n FROM gone`
            if (removed!.n > 0) {
              yield* sql`UPDATE lists SET updated_at = now() WHERE workspace_id = ${workspaceId} AND id = ${listId}`
            }
            return {
              list: yield* listById(workspaceId, listId),
              removed: removed!.n,
              notMembers: leadIds.length - removed!.n
            }
          })
        )
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    /**
     * One statement, one pass over the scope: the Leads in scope are ranked in id order (the
     * ordinal of each Lead of the subject, the rank of each other Lead), grouped into chunks of
     * SCOPE_CHUNK ordinals, and from those chunks come the frozen scope (one `run_scope_chunks` row
     * each), the run's pending items and the planner's facts. See DECISIONS.md ("Planning writes
     * the items once").
     */
    const listExists = (workspaceId: string, listId: string) =>
      sql`SELECT 1 FROM lists WHERE workspace_id = ${workspaceId} AND id = ${listId}`.pipe(
        Effect.map((rows) => rows.length > 0),
        asStoreFailure
      )

    const freezeScope = Effect.fn("RunScope.freezeScope")(
      function* (input: {
        readonly workspaceId: string
        readonly runId: string
        readonly scope: PlannedScope
        readonly subject: "person" | "company"
        readonly filter?: ParsedLeadFilter | undefined
        readonly fresh?: FreshResult | undefined
        readonly requestedAt?: string | undefined
      }) {
        const { requestedAt, runId, scope, subject, workspaceId } = input
        const chunkSize = sql.literal(String(SCOPE_CHUNK))
        const listId = scope.listId
        const concreteList = listId !== undefined && listId !== ALL_LIST_ID ? listId : null
        const explicit = scope.type === "explicit_leads"
        // the Leads with a fresh result (domain/runs/Freshness.ts), once, as a set: every Lead in scope is then
        // looked up in it (a hash), never one statement per Lead. The runs are pruned first (of the enrichment,
        // with a completed item, ended since the cutoff or not ended), then their completed items are read.
        const fresh = input.fresh
        const freshLeads =
          fresh === undefined
            ? sql``
            : sql`fresh_leads AS MATERIALIZED (
                SELECT DISTINCT fi.lead_id FROM enrichment_runs fr
                JOIN run_items fi ON fi.run_id = fr.id
                WHERE fr.workspace_id = ${workspaceId} AND fr.enrichment->>'slug' = ${fresh.enrichmentSlug}
                  AND fr.enrichment->>'version' = ${String(fresh.enrichmentVersion)}
                  AND fr.output->>'target' = ${fresh.target} AND fr.output->>'attributeKey' = ${fresh.attributeKey}
                  AND fr.count_completed > 0
                  AND (fr.completed_at IS NULL OR fr.completed_at >= ${fresh.completedSince}::timestamptz)
                  AND fi.status = 'completed' AND fi.completed_at >= ${fresh.completedSince}::timestamptz
                  ${fresh.listId === null ? sql`` : sql`AND fi.list_id = ${fresh.listId}`}
              ),`
        /** whether the Lead `id` has a fresh result: false without a window */
        const isFresh = (id: Statement.Fragment) =>
          fresh === undefined ? sql`false` : sql`(${id} IN (SELECT lead_id FROM fresh_leads))`
        // fresh Leads take the last ordinals: by (fresh, id) with a window, by id without
        const ordinalOrder = fresh === undefined ? sql`s.id` : sql`s.fresh, s.id`
        // explicit scopes: the requested ids, sent once (up to 10,000)
        const requested = explicit
          ? sql`requested AS MATERIALIZED (SELECT jsonb_array_elements_text(${JSON.stringify(scope.leadIds)}::jsonb) AS id),`
          : sql``
        // the Leads in scope, of any type: explicit ids (with their membership of a List, when one is named), a
        // List's members, or every Lead (`all`).
        // Explicit ids are found by key, and their statement is planned once per connection, not per dispatch
        // (DECISIONS.md 38): the workspace is checked as `(… = …) IS TRUE`, whose selectivity a plan for this
        // workspace's statistics cannot know either (planned for a small workspace, the statement cost far less
        // than its generic plan, so PostgreSQL planned it again at every execution: half a millisecond per
        // dispatch), and without a List no memberships are joined (on a NULL list id a custom plan drops the join,
        // a generic one cannot). Regression test regression_the_explicit_scope_statement_was_planned_again_at_every_dispatch.
        const inWorkspace = sql`(l.workspace_id = ${workspaceId}) IS TRUE`
        const freshColumn = sql`${isFresh(sql`l.id`)} AS fresh`
        const inScope =
          scope.type === "retry"
            ? // the source run's failed items whose Leads still exist (with their membership of the source's List now)
              concreteList === null
              ? sql`SELECT l.id, l.type, NULL::text AS membership_id, ${freshColumn} FROM run_items i
                  JOIN leads l ON l.id = i.lead_id AND l.workspace_id = ${workspaceId}
                  WHERE i.run_id = ${scope.sourceRunId} AND i.workspace_id = ${workspaceId} AND i.status = 'failed'`
              : sql`SELECT l.id, l.type, m.id AS membership_id, ${freshColumn} FROM run_items i
                  JOIN leads l ON l.id = i.lead_id AND l.workspace_id = ${workspaceId}
                  LEFT JOIN list_memberships m ON m.lead_id = l.id AND m.list_id = ${concreteList}
                  WHERE i.run_id = ${scope.sourceRunId} AND i.workspace_id = ${workspaceId} AND i.status = 'failed'`
            : explicit
              ? concreteList === null
                ? sql`SELECT l.id, l.type, NULL::text AS membership_id, ${freshColumn} FROM leads l
                  WHERE ${inWorkspace} AND l.id IN (SELECT id FROM requested)`
                : sql`SELECT l.id, l.type, m.id AS membership_id, ${freshColumn} FROM leads l
                  LEFT JOIN list_memberships m ON m.lead_id = l.id AND m.list_id = ${concreteList}
                  WHERE ${inWorkspace} AND l.id IN (SELECT id FROM requested)`
              : concreteList === null
                ? sql`SELECT l.id, l.type, NULL::text AS membership_id, ${freshColumn} FROM leads l
                  WHERE l.workspace_id = ${workspaceId}`
                : sql`SELECT l.id, l.type, m.id AS membership_id, ${freshColumn} FROM list_memberships m
                  JOIN leads l ON l.id = m.lead_id
                  WHERE m.list_id = ${concreteList} AND m.workspace_id = ${workspaceId}`
        // filtered_list: the Leads of the subject first, then the LeadFilter, then its limit (lowest ids)
        const filter = scope.type === "filtered_list" ? input.filter : undefined
        const limit = filter?.limit === undefined ? sql`` : sql`LIMIT ${filter.limit}`
        // each Lead in scope once: `subject` (frozen, with its ordinal) or not (counted, ranked by id)
        const ranked =
          filter === undefined
            ? // only a Lead of the subject is fresh (the others are ranked by id among themselves)
              sql`SELECT s.id, s.membership_id, s.type = ${subject} AS subject, s.fresh AND s.type = ${subject} AS fresh,
                  count(*) FILTER (WHERE s.type = ${subject}) OVER w AS ordinal,
                  count(*) FILTER (WHERE s.type <> ${subject}) OVER w AS other_rank
                FROM in_scope s WINDOW w AS (ORDER BY ${fresh === undefined ? sql`` : sql`s.fresh AND s.type = ${subject},`} s.id
                  ROWS UNBOUNDED PRECEDING)`
            : sql`SELECT s.id, s.membership_id, true AS subject, s.fresh,
                  row_number() OVER (ORDER BY ${ordinalOrder}) AS ordinal, NULL::bigint AS other_rank
                FROM (${
                  concreteList === null
                    ? sql`SELECT l.id, NULL::text AS membership_id, ${freshColumn} FROM leads l
                        WHERE l.workspace_id = ${workspaceId} AND l.type = ${subject} AND ${leadFilterSql(sql, filter)}
                        ORDER BY l.id ${limit}`
                    : sql`SELECT l.id, m.id AS membership_id, ${freshColumn} FROM list_memberships m
                        JOIN leads l ON l.id = m.lead_id
                        WHERE m.list_id = ${concreteList} AND m.workspace_id = ${workspaceId} AND l.type = ${subject}
                          AND ${leadFilterSql(sql, filter)}
                        ORDER BY l.id ${limit}`
                }) s
                UNION ALL
                -- a filtered List mismatches only when it has no Lead of the subject at all (else it is merely empty)
                SELECT s.id, s.membership_id, false, false, NULL, row_number() OVER (ORDER BY s.id)
                FROM in_scope s
                WHERE s.type <> ${subject} AND NOT EXISTS (SELECT 1 FROM in_scope x WHERE x.type = ${subject})`
        // a List that does not exist (or is another workspace's) is a fact too, and nothing is written for it
        const listFound =
          concreteList === null
            ? sql`true`
            : sql`EXISTS (SELECT 1 FROM lists WHERE workspace_id = ${workspaceId} AND id = ${concreteList})`
        const facts =
          requestedAt === undefined
            ? sql`facts AS (
                SELECT count(*) FILTER (WHERE subject) AS matching, count(*) FILTER (WHERE NOT subject) AS mismatched,
                  count(*) FILTER (WHERE fresh) AS fresh,
                  array_agg(id ORDER BY id) FILTER (WHERE NOT subject AND other_rank <= 100) AS mismatched_ids,
                  count(*) FILTER (WHERE membership_id IS NULL) AS non_members
                FROM ranked
              )`
            : sql`chunks AS (
                SELECT CASE WHEN subject THEN (ordinal - 1) / ${chunkSize} END AS chunk,
                  array_agg(id ORDER BY ordinal) FILTER (WHERE subject) AS lead_ids,
                  array_agg(membership_id ORDER BY ordinal) FILTER (WHERE subject) AS membership_ids,
                  count(*) FILTER (WHERE subject) AS matching,
                  count(*) FILTER (WHERE fresh) AS fresh,
                  count(*) FILTER (WHERE NOT subject) AS mismatched,
                  array_agg(id ORDER BY id) FILTER (WHERE NOT subject AND other_rank <= 100) AS mismatched_ids,
                  count(*) FILTER (WHERE membership_id IS NULL) AS non_members
                FROM ranked GROUP BY 1
              ),
              frozen AS (
                INSERT INTO run_scope_chunks (run_id, first_ordinal, workspace_id, list_id, lead_ids, membership_ids)
                SELECT ${runId}, chunk * ${chunkSize} + 1, ${workspaceId}, ${concreteList}, lead_ids, membership_ids
                FROM chunks WHERE chunk IS NOT NULL AND ${listFound}
              ),
              -- the rows the RunRequested projection writes from run_scope (RunProjection.ts), byte for byte: the
              -- last ordinals, a fresh result's, skipped at once (Freshness.ts isFreshOrdinal)
              items AS (
                INSERT INTO run_items (id, workspace_id, run_id, ordinal, lead_id, list_id, membership_id, status,
                  skipped_reason, completed_at, created_at, updated_at)
                SELECT ${itemIdSql(sql, runId, "o.ordinal")}, ${workspaceId}, ${runId}, o.ordinal, u.lead_id,
                  ${concreteList}, u.membership_id,
                  ${
                    fresh === undefined
                      ? sql`${requestedItemStatus}, NULL, NULL`
                      : sql`CASE WHEN o.fresh THEN ${itemTransitions.skipPending.to} ELSE ${requestedItemStatus} END,
                          CASE WHEN o.fresh THEN ${freshSkippedReason} END,
                          CASE WHEN o.fresh THEN ${requestedAt}::timestamptz END`
                  }, ${requestedAt}, ${requestedAt}
                FROM chunks c
                  CROSS JOIN LATERAL unnest(c.lead_ids, c.membership_ids) WITH ORDINALITY AS u(lead_id, membership_id, i)
                  CROSS JOIN LATERAL (SELECT (c.chunk * ${chunkSize} + u.i)::int AS ordinal) o0
                  CROSS JOIN LATERAL (SELECT o0.ordinal,
                    o0.ordinal > (SELECT sum(matching) - sum(fresh) FROM chunks) AS fresh) o
                WHERE c.chunk IS NOT NULL AND ${listFound}
              ),
              facts AS (
                SELECT sum(matching) AS matching, sum(fresh) AS fresh, sum(mismatched) AS mismatched,
                  (SELECT mismatched_ids FROM chunks WHERE chunk IS NULL) AS mismatched_ids,
                  sum(non_members) AS non_members
                FROM chunks
              )`
        const missing = explicit
          ? sql`(SELECT array_agg(id ORDER BY id) FROM missing) AS missing_ids,
              coalesce((SELECT max(total) FROM missing), 0)::int AS missing_count`
          : sql`NULL::text[] AS missing_ids, 0 AS missing_count`
        const [row] = yield* sql<{
          list_found: boolean
          missing_ids: ReadonlyArray<string> | null
          missing_count: number
          matching: number
          fresh: number
          mismatched: number
          mismatched_ids: ReadonlyArray<string> | null
          non_members: number
        }>`
          WITH ${requested} ${freshLeads}
          in_scope AS NOT MATERIALIZED (${inScope}),
          ranked AS (${ranked}),
          ${
            explicit
              ? sql`missing AS (
                  SELECT r.id, count(*) OVER ()::int AS total FROM requested r
                  WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = r.id AND ${inWorkspace})
                  ORDER BY r.id LIMIT 100
                ),`
              : sql``
          }
          ${facts}
          SELECT ${listFound} AS list_found, ${missing}, coalesce(f.matching, 0)::int AS matching,
            coalesce(f.fresh, 0)::int AS fresh,
            coalesce(f.mismatched, 0)::int AS mismatched, f.mismatched_ids, coalesce(f.non_members, 0)::int AS non_members
          FROM facts f`
        const f = row!
        if (!f.list_found) {
          return {
            listFound: false,
            missingLeadIds: [],
            missingLeadCount: 0,
            matchingCount: 0,
            mismatchedLeadIds: [],
            mismatchedCount: 0,
            nonMemberCount: 0,
            freshCount: 0
          } satisfies ScopeFacts
        }
        return {
          listFound: true,
          missingLeadIds: f.missing_ids ?? [],
          missingLeadCount: f.missing_count,
          matchingCount: f.matching,
          mismatchedLeadIds: f.mismatched_ids ?? [],
          mismatchedCount: f.mismatched,
          // only explicit scopes (and retries) naming a List have members to miss
          nonMemberCount: (explicit || scope.type === "retry") && concreteList !== null ? f.non_members : 0,
          freshCount: f.fresh
        } satisfies ScopeFacts
      },
      Effect.catchTag("SqlError", failAsStore)
    )

    return Context.make(Leads, Leads.of({ importLeads, createLead, findLeads, updateLead, deleteLead })).pipe(
      Context.add(
        Lists,
        Lists.of({
          createList,
          listLeads,
          getList,
          listLists,
          updateList,
          deleteList,
          addListMembers,
          removeListMembers
        })
      ),
      Context.add(RunScope, RunScope.of({ freezeScope, listExists }))
    )
  })
)
