/**
 * Tenant isolation over the whole HTTP API: two workspaces A and B with the
 * same kinds of records (Leads with the same identities, Lists with members,
 * a pending and a cancelled run, ledger entries). Every endpoint that takes an
 * id — in the path, the query or the body — is called with B's key on A's
 * records; the endpoints and their id-like inputs are read from the served
 * /openapi.json, so a new endpoint or field without a case here fails. B gets
 * exactly what it gets for an id that never existed (404 NOT_FOUND, or 400
 * LEADS_NOT_FOUND / LIST_NOT_FOUND for ids a body merely references), nothing
 * is written anywhere (every table of the database), and A's records read back
 * unchanged. B's listings never show anything of A, and the admin surface is
 * not reachable with a workspace key.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { type Call, ok, request } from "./support/ApiCalls.ts"
import { ADMIN_TOKEN, allTableCounts, ApiOnlyTestServer, type TestServer } from "./support/TestServer.ts"

const get = (key: string, path: string) => request(key, { method: "GET", path }).pipe(Effect.map((r) => ok(r)))

// --- the two tenants -------------------------------------------------------------

/** The ids of one workspace's records that the cases aim at (A's real ones, or made-up ones). */
interface Ids {
  readonly workspace: string
  readonly apiKey: string
  readonly person: string
  readonly person2: string
  readonly company: string
  readonly people: string
  readonly companies: string
  readonly pendingRun: string
  readonly cancelledRun: string
  readonly item: string
  readonly ledgerEntry: string
  readonly webhook: string
  readonly delivery: string
}

interface Tenant extends Ids {
  readonly key: string
  readonly idempotencyKey: string
}

/** Ids that never existed anywhere: what another workspace's records must be indistinguishable from. */
const madeUpIds = (): Ids => ({
  workspace: randomUUID(),
  apiKey: randomUUID(),
  person: randomUUID(),
  person2: randomUUID(),
  company: randomUUID(),
  people: randomUUID(),
  companies: randomUUID(),
  pendingRun: randomUUID(),
  cancelledRun: randomUUID(),
  item: `${randomUUID()}.00000001`,
  ledgerEntry: randomUUID(),
  webhook: randomUUID(),
  delivery: randomUUID()
})

/**
 * A workspace whose records have the same identities (emails, domain) as every other tenant's:
 * Leads, two Lists with members, a pending and a cancelled run, ledger entries (grants, reserves,
 * a release) and a used idempotency key.
 */
const makeTenant = (name: string) =>
  Effect.gen(function* () {
    const created = ok(
      yield* request(ADMIN_TOKEN, { method: "POST", path: "/admin/workspaces", body: { name, credits: 50 } }),
      201
    )
    const key = created.apiKey as string
    const workspace = created.workspace.id as string
    const apiKey = ok(yield* request(ADMIN_TOKEN, { method: "GET", path: `/admin/workspaces/${workspace}/api-keys` }))
      .apiKeys[0].id as string
    ok(
      yield* request(ADMIN_TOKEN, {
        method: "POST",
        path: `/admin/workspaces/${workspace}/credits`,
        body: { amount: 7, reason: `top-up ${name}` }
      })
    )
    const person = ok(
      yield* request(key, {
        method: "POST",
        path: "/api/leads",
        body: {
          type: "person",
          email: "ada@corp.example",
          name: { full: `Ada ${name}` },
          title: "CTO",
          attributes: { tier: "A" }
        }
      }),
      201
    ).lead.id as string
    const imported = ok(
      yield* request(key, {
        method: "POST",
        path: "/api/lists/import",
        body: {
          leads: [
            { type: "person", email: "grace@corp.example", name: { full: `Grace ${name}` } },
            { type: "company", domain: "corp.example", company: { name: `Corp ${name}` } }
          ]
        }
      })
    ).leadIds as Array<string>
    const [person2, company] = imported as [string, string]
    const people = ok(
      yield* request(key, {
        method: "POST",
        path: "/api/lists",
        body: { name: `People ${name}`, leadType: "person", leadIds: [person, person2] }
      }),
      201
    ).list.id as string
    const companies = ok(
      yield* request(key, {
        method: "POST",
        path: "/api/lists",
        body: { name: `Companies ${name}`, leadType: "company", leadIds: [company] }
      }),
      201
    ).list.id as string
    // a webhook told of cancelled runs: the cancel below writes a delivery for it
    const webhook = ok(
      yield* request(key, {
        method: "POST",
        path: "/api/webhooks",
        body: { url: "https://1.1.1.1/hooks", events: ["run.cancelled"], description: `Hook ${name}` }
      }),
      201
    ).webhook.id as string
    const idempotencyKey = `nightly-${name}`
    const pendingRun = ok(
      yield* request(key, {
        method: "POST",
        path: "/api/enrichment",
        body: {
          enrichmentId: "email_validation",
          scope: { type: "list", listId: people },
          idempotencyKey
        }
      }),
      202
    ).runId as string
    const cancelledRun = ok(
      yield* request(key, {
        method: "POST",
        path: "/api/enrichment",
        body: { enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds: [person] } }
      }),
      202
    ).runId as string
    ok(yield* request(key, { method: "POST", path: `/api/enrichment/${cancelledRun}/cancel` }))
    const item = (yield* get(key, `/api/enrichment/${pendingRun}/items`)).items[0].id as string
    const delivery = (yield* get(key, `/api/webhooks/${webhook}/deliveries`)).deliveries[0].id as string
    const ledger = (yield* get(key, "/api/credits/ledger?limit=100")).entries as Array<{ id: string; type: string }>
    assert.includeMembers(
      ledger.map((e) => e.type),
      ["grant", "reserve", "release"]
    )
    const tenant: Tenant = {
      key,
      idempotencyKey,
      workspace,
      apiKey,
      person,
      person2,
      company,
      people,
      companies,
      pendingRun,
      cancelledRun,
      item,
      ledgerEntry: ledger[ledger.length - 1]!.id,
      webhook,
      delivery
    }
    return tenant
  })

/** Everything A can read of its own records: compared before and after B's attempts. */
const readAll = (t: Tenant) =>
  Effect.gen(function* () {
    const paths = [
      "/api/leads?limit=500",
      "/api/lists?limit=500",
      `/api/lists/all/leads?limit=500`,
      `/api/lists/${t.people}/leads?limit=500`,
      `/api/lists/${t.companies}/leads?limit=500`,
      "/api/enrichment?limit=100",
      `/api/enrichment/${t.pendingRun}`,
      `/api/enrichment/${t.cancelledRun}`,
      `/api/enrichment/${t.pendingRun}/items?limit=100`,
      `/api/enrichment/${t.cancelledRun}/items?limit=100`,
      "/api/credits",
      "/api/credits/ledger?limit=100",
      "/api/webhooks",
      `/api/webhooks/${t.webhook}/deliveries?limit=100`
    ]
    const bodies: Record<string, unknown> = {}
    for (const path of paths) bodies[path] = yield* get(t.key, path)
    return bodies
  })

/** Every string anywhere in a JSON value. */
const stringsOf = (value: unknown): Array<string> =>
  typeof value === "string"
    ? [value]
    : Array.isArray(value)
      ? value.flatMap(stringsOf)
      : value !== null && typeof value === "object"
        ? Object.values(value).flatMap(stringsOf)
        : []

/** A's ids found in a body B received, other than the ones B itself sent. */
const leakedIds = (body: unknown, victim: Ids, sent: ReadonlyArray<string> = []) => {
  const secret = new Set(Object.values(victim).filter((id) => !sent.includes(id)))
  return stringsOf(body).filter((s) => [...secret].some((id) => s.includes(id)))
}

/** The body with each of `ids` written as its name, so answers about different ids compare. */
const normalized = (body: unknown, ids: Ids) => {
  let text = JSON.stringify(body)
  for (const [name, id] of Object.entries(ids)) text = text.replaceAll(id, `<${name}>`)
  return JSON.parse(text)
}

// --- the cases: every id-taking input of every endpoint ----------------------------

/** What B must get: an error (the same as for a made-up id), or a page of its own records only. */
type Expected =
  | { readonly status: number; readonly code: string }
  | {
      /** a cursor is a position, not a reference: B's own records on the far side of it */
      readonly position: {
        readonly items: (body: any) => ReadonlyArray<string>
        /** B's ids in the listing's order, and whether an id comes after the cursor */
        readonly universe: (own: Tenant) => Effect.Effect<ReadonlyArray<string>, never, TestServer>
        readonly after: (id: string, cursor: string) => boolean
        readonly limit: number
      }
    }

interface Case {
  /** `method path`, as in /openapi.json */
  readonly route: string
  /** the id-taking inputs this case exercises: `path.id`, `query.cursor`, `body.scope.leadIds`… */
  readonly covers: ReadonlyArray<string>
  readonly call: (own: Tenant, victim: Ids) => Call
  readonly expected: Expected
}

const notFound = { status: 404, code: "NOT_FOUND" }
const leadsNotFound = { status: 400, code: "LEADS_NOT_FOUND" }
const listNotFound = { status: 400, code: "LIST_NOT_FOUND" }
const ascending = (id: string, cursor: string) => id > cursor
const descending = (id: string, cursor: string) => id < cursor
const idsOf = (rows: ReadonlyArray<{ readonly id: string }>) => rows.map((r) => r.id)

const dispatchBody = (scope: unknown, mode: "persisted" | "preview") => ({
  enrichmentId: "email_validation",
  scope,
  mode
})

const cases: ReadonlyArray<Case> = [
  // Leads
  {
    route: "get /api/leads",
    covers: ["query.id"],
    call: (_, v) => ({ method: "GET", path: `/api/leads?id=${v.person}` }),
    expected: notFound
  },
  {
    route: "get /api/leads",
    covers: ["query.cursor"],
    call: (_, v) => ({ method: "GET", path: `/api/leads?limit=500&cursor=${v.person}` }),
    expected: {
      position: {
        items: (body) => idsOf(body.leads),
        universe: (own) => get(own.key, "/api/leads?limit=500").pipe(Effect.map((b) => idsOf(b.leads))),
        after: ascending,
        limit: 500
      }
    }
  },
  {
    route: "patch /api/leads",
    covers: ["body.id"],
    call: (_, v) => ({
      method: "PATCH",
      path: "/api/leads",
      body: { id: v.person, title: "Owned", attributes: { tier: null, stolen: true } }
    }),
    expected: notFound
  },
  {
    route: "patch /api/leads",
    covers: ["body.id"],
    call: (_, v) => ({ method: "PATCH", path: "/api/leads", body: { id: v.company, domain: "elsewhere.example" } }),
    expected: notFound
  },
  {
    route: "delete /api/leads",
    covers: ["body.id"],
    call: (_, v) => ({ method: "DELETE", path: "/api/leads", body: { id: v.person } }),
    expected: notFound
  },
  // Lists
  {
    route: "post /api/lists",
    covers: ["body.leadIds"],
    call: (own, v) => ({ method: "POST", path: "/api/lists", body: { name: "Mine", leadIds: [own.person, v.person] } }),
    expected: leadsNotFound
  },
  {
    route: "get /api/lists",
    covers: ["query.cursor"],
    call: (_, v) => ({ method: "GET", path: `/api/lists?limit=500&cursor=${v.people}` }),
    expected: {
      position: {
        items: (body) => idsOf(body.lists),
        universe: (own) =>
          get(own.key, "/api/lists?limit=500").pipe(Effect.map((b) => idsOf(b.lists).filter((id) => id !== "all"))),
        after: ascending,
        limit: 500
      }
    }
  },
  {
    route: "patch /api/lists",
    covers: ["body.id"],
    call: (_, v) => ({ method: "PATCH", path: "/api/lists", body: { id: v.people, name: "Owned", description: null } }),
    expected: notFound
  },
  {
    route: "patch /api/lists",
    covers: ["body.id"],
    call: (_, v) => ({ method: "PATCH", path: "/api/lists", body: { id: v.people, leadType: "company" } }),
    expected: notFound
  },
  {
    route: "delete /api/lists",
    covers: ["body.id"],
    call: (_, v) => ({ method: "DELETE", path: "/api/lists", body: { id: v.people } }),
    expected: notFound
  },
  {
    route: "post /api/lists/import",
    covers: ["body.listId"],
    call: (_, v) => ({
      method: "POST",
      path: "/api/lists/import",
      body: { leads: [{ type: "person", email: "new@corp.example" }], listId: v.people }
    }),
    expected: listNotFound
  },
  {
    route: "post /api/lists/import",
    covers: ["query.listId"],
    call: (_, v) => ({
      method: "POST",
      path: `/api/lists/import?listId=${v.people}`,
      csv: "First Name,Email\nNew,new@corp.example\n"
    }),
    expected: listNotFound
  },
  {
    route: "get /api/lists/{id}/leads",
    covers: ["path.id"],
    call: (_, v) => ({ method: "GET", path: `/api/lists/${v.people}/leads` }),
    expected: notFound
  },
  {
    route: "get /api/lists/{id}/leads",
    covers: ["query.cursor"],
    call: (own, v) => ({ method: "GET", path: `/api/lists/${own.people}/leads?limit=500&cursor=${v.person}` }),
    expected: {
      position: {
        items: (body) => idsOf(body.leads),
        universe: (own) =>
          get(own.key, `/api/lists/${own.people}/leads?limit=500`).pipe(Effect.map((b) => idsOf(b.leads))),
        after: ascending,
        limit: 500
      }
    }
  },
  {
    route: "get /api/lists/{id}/leads",
    covers: ["query.cursor"],
    call: (_, v) => ({ method: "GET", path: `/api/lists/all/leads?limit=500&cursor=${v.person}` }),
    expected: {
      position: {
        items: (body) => idsOf(body.leads),
        universe: (own) => get(own.key, "/api/lists/all/leads?limit=500").pipe(Effect.map((b) => idsOf(b.leads))),
        after: ascending,
        limit: 500
      }
    }
  },
  {
    route: "post /api/lists/{id}/leads",
    covers: ["path.id"],
    call: (own, v) => ({ method: "POST", path: `/api/lists/${v.people}/leads`, body: { leadIds: [own.person] } }),
    expected: notFound
  },
  {
    route: "post /api/lists/{id}/leads",
    covers: ["path.id"],
    call: (_, v) => ({ method: "POST", path: `/api/lists/${v.people}/leads`, body: { leadIds: [v.person2] } }),
    expected: notFound
  },
  {
    route: "post /api/lists/{id}/leads",
    covers: ["body.leadIds"],
    call: (own, v) => ({
      method: "POST",
      path: `/api/lists/${own.people}/leads`,
      body: { leadIds: [own.person, v.person] }
    }),
    expected: leadsNotFound
  },
  {
    route: "delete /api/lists/{id}/leads",
    covers: ["path.id"],
    call: (_, v) => ({ method: "DELETE", path: `/api/lists/${v.people}/leads`, body: { leadIds: [v.person] } }),
    expected: notFound
  },
  {
    route: "delete /api/lists/{id}/leads",
    covers: ["body.leadIds"],
    call: (own, v) => ({
      method: "DELETE",
      path: `/api/lists/${own.people}/leads`,
      body: { leadIds: [own.person, v.person] }
    }),
    expected: leadsNotFound
  },
  // Enrichment runs: dispatch scopes, in both modes
  ...(["persisted", "preview"] as const).flatMap(
    (mode): ReadonlyArray<Case> => [
      {
        route: "post /api/enrichment",
        covers: ["body.scope.leadIds"],
        call: (own, v) => ({
          method: "POST",
          path: "/api/enrichment",
          body: dispatchBody({ type: "explicit_leads", leadIds: [own.person, v.person] }, mode)
        }),
        expected: leadsNotFound
      },
      {
        route: "post /api/enrichment",
        covers: ["body.scope.listId"],
        call: (own, v) => ({
          method: "POST",
          path: "/api/enrichment",
          body: dispatchBody({ type: "explicit_leads", leadIds: [own.person], listId: v.people }, mode)
        }),
        expected: listNotFound
      },
      {
        route: "post /api/enrichment",
        covers: ["body.scope.listId"],
        call: (_, v) => ({
          method: "POST",
          path: "/api/enrichment",
          body: dispatchBody({ type: "list", listId: v.people }, mode)
        }),
        expected: listNotFound
      },
      {
        route: "post /api/enrichment",
        covers: ["body.scope.listId"],
        call: (_, v) => ({
          method: "POST",
          path: "/api/enrichment",
          body: dispatchBody({ type: "filtered_list", listId: v.people, filter: {} }, mode)
        }),
        expected: listNotFound
      },
      {
        // the LIST_NOT_FOUND comes before FILTER_INVALID, for another workspace's List too
        route: "post /api/enrichment",
        covers: ["body.scope.listId"],
        call: (_, v) => ({
          method: "POST",
          path: "/api/enrichment",
          body: dispatchBody({ type: "filtered_list", listId: v.people, filter: { where: [{ field: "nope" }] } }, mode)
        }),
        expected: listNotFound
      },
      {
        // the filter's leadIds narrow: ids outside the scope match nothing (never LEADS_NOT_FOUND)
        route: "post /api/enrichment",
        covers: ["body.scope.filter.leadIds"],
        call: (_, v) => ({
          method: "POST",
          path: "/api/enrichment",
          body: dispatchBody({ type: "filtered_list", listId: "all", filter: { leadIds: [v.person, v.person2] } }, mode)
        }),
        expected: { status: 400, code: "EMPTY_LEAD_SCOPE" }
      },
      {
        route: "post /api/enrichment",
        covers: ["body.scope.filter.leadIds"],
        call: (own, v) => ({
          method: "POST",
          path: "/api/enrichment",
          body: dispatchBody(
            { type: "filtered_list", listId: own.people, filter: { leadIds: [v.person, v.person2] } },
            mode
          )
        }),
        expected: { status: 400, code: "EMPTY_LEAD_SCOPE" }
      }
    ]
  ),
  {
    route: "get /api/enrichment",
    covers: ["query.cursor"],
    call: (_, v) => ({ method: "GET", path: `/api/enrichment?limit=100&cursor=${v.cancelledRun}` }),
    expected: {
      position: {
        items: (body) => idsOf(body.runs),
        universe: (own) => get(own.key, "/api/enrichment?limit=100").pipe(Effect.map((b) => idsOf(b.runs))),
        after: descending,
        limit: 100
      }
    }
  },
  ...(["pendingRun", "cancelledRun"] as const).flatMap(
    (run): ReadonlyArray<Case> => [
      {
        route: "get /api/enrichment/{id}",
        covers: ["path.id"],
        call: (_, v) => ({ method: "GET", path: `/api/enrichment/${v[run]}` }),
        expected: notFound
      },
      {
        route: "get /api/enrichment/{id}/items",
        covers: ["path.id"],
        call: (_, v) => ({ method: "GET", path: `/api/enrichment/${v[run]}/items` }),
        expected: notFound
      },
      {
        route: "get /api/enrichment/{id}/items",
        covers: ["path.id", "query.leadId", "query.cursor"],
        call: (_, v) => ({
          method: "GET",
          path: `/api/enrichment/${v[run]}/items?leadId=${v.person}&cursor=${v.item}&status=pending`
        }),
        expected: notFound
      },
      {
        route: "get /api/enrichment/{id}/events",
        covers: ["path.id"],
        call: (_, v) => ({ method: "GET", path: `/api/enrichment/${v[run]}/events` }),
        expected: notFound
      },
      {
        route: "post /api/enrichment/{id}/cancel",
        covers: ["path.id"],
        call: (_, v) => ({ method: "POST", path: `/api/enrichment/${v[run]}/cancel` }),
        expected: notFound
      },
      {
        route: "post /api/enrichment/{id}/retry",
        covers: ["path.id"],
        call: (_, v) => ({ method: "POST", path: `/api/enrichment/${v[run]}/retry`, body: {} }),
        expected: notFound
      },
      {
        route: "post /api/enrichment/{id}/retry",
        covers: ["path.id"],
        call: (_, v) => ({
          method: "POST",
          path: `/api/enrichment/${v[run]}/retry`,
          body: { mode: "preview" },
          headers: { "idempotency-key": "retry-of-another-workspace" }
        }),
        expected: notFound
      }
    ]
  ),
  {
    // a filter: another workspace's Lead is in no run of B's, like a Lead that never existed
    route: "get /api/enrichment/{id}/items",
    covers: ["query.leadId"],
    call: (own, v) => ({ method: "GET", path: `/api/enrichment/${own.pendingRun}/items?leadId=${v.person}` }),
    expected: {
      position: {
        items: (body) => idsOf(body.items),
        universe: () => Effect.succeed([]),
        after: () => true,
        limit: 100
      }
    }
  },
  {
    route: "get /api/enrichment/{id}/items",
    covers: ["query.cursor"],
    call: (own, v) => ({ method: "GET", path: `/api/enrichment/${own.pendingRun}/items?limit=100&cursor=${v.item}` }),
    expected: {
      position: {
        items: (body) => idsOf(body.items),
        universe: (own) =>
          get(own.key, `/api/enrichment/${own.pendingRun}/items?limit=100`).pipe(Effect.map((b) => idsOf(b.items))),
        after: ascending,
        limit: 100
      }
    }
  },
  // Credits
  {
    route: "get /api/credits/ledger",
    covers: ["query.cursor"],
    call: (_, v) => ({ method: "GET", path: `/api/credits/ledger?limit=100&cursor=${v.ledgerEntry}` }),
    expected: {
      position: {
        items: (body) => idsOf(body.entries),
        universe: (own) => get(own.key, "/api/credits/ledger?limit=100").pipe(Effect.map((b) => idsOf(b.entries))),
        after: descending,
        limit: 100
      }
    }
  },
  // Webhooks
  {
    route: "delete /api/webhooks/{id}",
    covers: ["path.id"],
    call: (_, v) => ({ method: "DELETE", path: `/api/webhooks/${v.webhook}` }),
    expected: notFound
  },
  {
    route: "post /api/webhooks/{id}/rotate-secret",
    covers: ["path.id"],
    call: (_, v) => ({ method: "POST", path: `/api/webhooks/${v.webhook}/rotate-secret` }),
    expected: notFound
  },
  {
    route: "get /api/webhooks/{id}/deliveries",
    covers: ["path.id"],
    call: (_, v) => ({ method: "GET", path: `/api/webhooks/${v.webhook}/deliveries` }),
    expected: notFound
  },
  {
    route: "get /api/webhooks/{id}/deliveries",
    covers: ["query.cursor"],
    call: (own, v) => ({
      method: "GET",
      path: `/api/webhooks/${own.webhook}/deliveries?limit=100&cursor=${v.delivery}`
    }),
    expected: {
      position: {
        items: (body) => idsOf(body.deliveries),
        universe: (own) =>
          get(own.key, `/api/webhooks/${own.webhook}/deliveries?limit=100`).pipe(
            Effect.map((b) => idsOf(b.deliveries))
          ),
        after: descending,
        limit: 100
      }
    }
  },
  {
    route: "post /api/webhooks/{id}/deliveries/{deliveryId}/redeliver",
    covers: ["path.id", "path.deliveryId"],
    call: (_, v) => ({ method: "POST", path: `/api/webhooks/${v.webhook}/deliveries/${v.delivery}/redeliver` }),
    expected: notFound
  },
  {
    route: "post /api/webhooks/{id}/deliveries/{deliveryId}/redeliver",
    covers: ["path.deliveryId"],
    call: (own, v) => ({ method: "POST", path: `/api/webhooks/${own.webhook}/deliveries/${v.delivery}/redeliver` }),
    expected: notFound
  }
]

/**
 * Id-like inputs that name no workspace record, so there is nothing of A's to aim at: catalog slugs
 * (the catalog is the same for every workspace) and a client's display hint.
 */
const notWorkspaceRecords: Record<string, string> = {
  "get /api/enrichments query.id": "a catalog slug",
  "get /api/enrichment query.enrichmentId": "a catalog slug (a filter)",
  "post /api/enrichment body.enrichmentId": "a catalog slug",
  "post /api/enrichment body.displayRequest.fieldId": "a client's display hint, stored and echoed",
  "post /api/credits/preview body.enrichmentId": "a catalog slug"
}

/** An input that may name a record: `id`, a `cursor`, or a name ending in `Id` / `Ids`. */
const idLike = (name: string) => /^(id|cursor)$|Ids?$/.test(name)

/** Every `method path` of /openapi.json with its id-like inputs (`path.id`, `query.cursor`, `body.scope.listId`). */
const idInputsOf = (document: any) => {
  const resolve = (schema: any): any =>
    typeof schema?.$ref === "string" ? resolve(document.components.schemas[schema.$ref.split("/").pop()]) : schema
  const bodyInputs = (schema: any, path: string, out: Set<string>) => {
    const s = resolve(schema)
    if (s === null || typeof s !== "object") return
    for (const k of ["anyOf", "oneOf", "allOf"]) for (const x of s[k] ?? []) bodyInputs(x, path, out)
    if (s.items !== undefined) bodyInputs(s.items, path, out)
    for (const [name, property] of Object.entries<any>(s.properties ?? {})) {
      if (idLike(name)) out.add(`${path}.${name}`)
      bodyInputs(property, `${path}.${name}`, out)
    }
  }
  const routes = new Map<string, Set<string>>()
  for (const [path, operations] of Object.entries<any>(document.paths)) {
    for (const [method, operation] of Object.entries<any>(operations)) {
      const inputs = new Set<string>()
      for (const p of operation.parameters ?? []) {
        if (p.in === "path" || (p.in === "query" && idLike(p.name))) inputs.add(`${p.in}.${p.name}`)
      }
      const body = operation.requestBody?.content?.["application/json"]?.schema
      if (body !== undefined) bodyInputs(body, "body", inputs)
      routes.set(`${method} ${path}`, inputs)
    }
  }
  return routes
}

const describeCall = (call: Call) => `${call.method} ${call.path} ${JSON.stringify(call.body ?? null)}`

layer(ApiOnlyTestServer, { timeout: 300_000, excludeTestServices: true })(
  "tenant isolation (integration, real server)",
  (it) => {
    it.effect("every_id_taking_input_of_every_endpoint_treats_another_workspaces_record_as_missing", () =>
      Effect.gen(function* () {
        const a = yield* makeTenant("Alpha")
        const b = yield* makeTenant("Bravo")
        const document = (yield* request(b.key, { method: "GET", path: "/openapi.json" })).body

        // coverage: every id-taking input the document shows has a case (or is no workspace record)
        const routes = idInputsOf(document)
        const covered = new Set(cases.flatMap((c) => c.covers.map((input) => `${c.route} ${input}`)))
        for (const [route, inputs] of routes) {
          if (route.split(" ")[1]!.startsWith("/admin/")) continue // the next test: 401 for a workspace key
          for (const input of inputs) {
            const name = `${route} ${input}`
            assert.isTrue(
              covered.has(name) || name in notWorkspaceRecords,
              `${name} takes an id but no tenant-isolation case exercises it`
            )
          }
        }
        for (const c of cases) assert.isTrue(routes.has(c.route), `${c.route} is not in /openapi.json`)
        // the dispatch scope's filter is free-form in the document: its leadIds are covered by name
        assert.isTrue(covered.has("post /api/enrichment body.scope.filter.leadIds"))

        const aBefore = yield* readAll(a)
        const bBefore = yield* readAll(b)
        const madeUp = madeUpIds()
        for (const c of cases) {
          const attempt = c.call(b, a)
          const where = describeCall(attempt)
          const countsBefore = yield* allTableCounts
          const reply = yield* request(b.key, attempt)
          assert.deepStrictEqual(yield* allTableCounts, countsBefore, `B's request wrote something: ${where}`)
          assert.deepStrictEqual(
            leakedIds(
              reply.body,
              a,
              Object.values(a).filter((id) => where.includes(id))
            ),
            [],
            where
          )
          if ("position" in c.expected) {
            const { after, items, limit, universe } = c.expected.position
            const body = ok(reply)
            const cursor = new URL(attempt.path, "http://x").searchParams.get("cursor") ?? ""
            const own = yield* universe(b)
            const expected = own.filter((id) => after(id, cursor)).slice(0, limit)
            assert.deepStrictEqual(items(body), expected, where)
          } else {
            assert.strictEqual(reply.status, c.expected.status, `${where} → ${JSON.stringify(reply.body)}`)
            assert.strictEqual(reply.body.code, c.expected.code, where)
            // indistinguishable from ids that never existed
            const control = yield* request(b.key, c.call(b, madeUp))
            assert.deepStrictEqual(
              { status: reply.status, body: normalized(reply.body, a) },
              { status: control.status, body: normalized(control.body, madeUp) },
              where
            )
          }
        }
        assert.deepStrictEqual(yield* readAll(a), aBefore, "A's records changed")
        assert.deepStrictEqual(yield* readAll(b), bBefore, "B's records changed")
      })
    )

    it.effect("the_admin_surface_is_not_reachable_with_a_workspace_key", () =>
      Effect.gen(function* () {
        const a = yield* makeTenant("Alpha")
        const b = yield* makeTenant("Bravo")
        const document = (yield* request(b.key, { method: "GET", path: "/openapi.json" })).body
        const admin = [...idInputsOf(document).keys()].filter((route) => route.split(" ")[1]!.startsWith("/admin/"))
        assert.isAtLeast(admin.length, 5)
        const bodies: Record<string, unknown> = {
          "post /admin/workspaces": { name: "Mine", credits: 1_000 },
          "post /admin/workspaces/{id}/credits": { amount: 1_000, reason: "free credits" }
        }
        const aBefore = yield* readAll(a)
        const countsBefore = yield* allTableCounts
        for (const route of admin) {
          const [method, template] = route.split(" ") as [string, string]
          const target = template.includes("/api-keys/") ? a.apiKey : a.workspace
          for (const key of [b.key, a.key]) {
            const call: Call = {
              method: method.toUpperCase() as Call["method"],
              path: template.replace("{id}", target),
              ...(bodies[route] === undefined ? {} : { body: bodies[route] })
            }
            const reply = yield* request(key, call)
            assert.strictEqual(reply.status, 401, `${describeCall(call)} → ${JSON.stringify(reply.body)}`)
            assert.strictEqual(reply.body.code, "UNAUTHORIZED")
          }
        }
        assert.deepStrictEqual(yield* allTableCounts, countsBefore)
        assert.deepStrictEqual(yield* readAll(a), aBefore)
        // and a workspace key is no admin token, nor the admin token a workspace key
        const reply = yield* request(ADMIN_TOKEN, { method: "GET", path: "/api/credits" })
        assert.deepStrictEqual([reply.status, reply.body.code], [401, "UNAUTHORIZED"])
      })
    )

    it.effect("listings_with_one_workspaces_key_never_show_another_workspaces_records", () =>
      Effect.gen(function* () {
        const a = yield* makeTenant("Alpha")
        const b = yield* makeTenant("Bravo")
        /** Every page of a listing, one record per page so every cursor is followed. */
        const allPages = (path: string, field: string) =>
          Effect.gen(function* () {
            const pages: Array<unknown> = []
            let cursor: string | null = null
            do {
              const separator = path.includes("?") ? "&" : "?"
              const page: any = yield* get(
                b.key,
                `${path}${separator}limit=1${cursor === null ? "" : `&cursor=${cursor}`}`
              )
              pages.push(page)
              assert.isArray(page[field])
              cursor = page.nextCursor ?? page.page?.nextCursor ?? null
            } while (cursor !== null)
            return pages
          })
        const listings = {
          leads: yield* allPages("/api/leads", "leads"),
          people: yield* allPages("/api/leads?type=person", "leads"),
          search: yield* allPages("/api/leads?q=corp", "leads"),
          lists: yield* allPages("/api/lists", "lists"),
          all: yield* allPages("/api/lists/all/leads", "leads"),
          members: yield* allPages(`/api/lists/${b.people}/leads`, "leads"),
          runs: yield* allPages("/api/enrichment", "runs"),
          pending: yield* allPages("/api/enrichment?status=pending", "runs"),
          items: yield* allPages(`/api/enrichment/${b.pendingRun}/items`, "items"),
          ledger: yield* allPages("/api/credits/ledger", "entries"),
          catalog: [yield* get(b.key, "/api/enrichments")],
          credits: [yield* get(b.key, "/api/credits")]
        }
        for (const [name, pages] of Object.entries(listings)) {
          assert.deepStrictEqual(leakedIds(pages, a), [], `${name} shows A's records`)
          assert.notInclude(JSON.stringify(pages), "Alpha", `${name} shows A's names`)
        }
        // B sees exactly its own: 3 Leads, all + 2 Lists, 2 runs, and the same credits as A (same history)
        assert.strictEqual(listings.leads.length, 3)
        assert.strictEqual(listings.lists.length, 3)
        assert.strictEqual(listings.runs.length, 2)
        assert.strictEqual((listings.all[0] as any).total, 3)
        assert.deepStrictEqual(listings.credits[0], yield* get(a.key, "/api/credits"))
        const searchA = yield* get(b.key, "/api/leads?q=Ada%20Alpha")
        assert.deepStrictEqual(searchA.leads, [])
      })
    )

    it.effect("identities_and_idempotency_keys_are_per_workspace", () =>
      Effect.gen(function* () {
        const a = yield* makeTenant("Alpha")
        const b = yield* makeTenant("Bravo")
        const aBefore = yield* readAll(a)
        // the same email in B is B's own Lead (created, not matched to A's), also by import
        const created = ok(
          yield* request(b.key, {
            method: "POST",
            path: "/api/leads",
            body: { type: "person", email: "ada@corp.example", title: "Someone else" }
          })
        )
        assert.isTrue(created.matched)
        assert.strictEqual(created.lead.id, b.person)
        const fresh = ok(
          yield* request(b.key, {
            method: "POST",
            path: "/api/leads",
            body: { type: "person", email: "linus@corp.example" }
          }),
          201
        )
        ok(
          yield* request(a.key, {
            method: "POST",
            path: "/api/leads",
            body: { type: "person", email: "margaret@corp.example" }
          }),
          201
        )
        // taking an identity that only A holds is no IDENTITY_CONFLICT in B
        const patched = ok(
          yield* request(b.key, {
            method: "PATCH",
            path: "/api/leads",
            body: { id: fresh.lead.id, email: "margaret@corp.example" }
          })
        )
        assert.strictEqual(patched.lead.email, "margaret@corp.example")
        // A's idempotency key is free in B: a new run of B's, not A's run nor a 422
        const dispatched = yield* request(b.key, {
          method: "POST",
          path: "/api/enrichment",
          body: { enrichmentId: "email_validation", scope: { type: "list", listId: "all" } },
          headers: { "idempotency-key": a.idempotencyKey }
        })
        assert.strictEqual(dispatched.status, 202, JSON.stringify(dispatched.body))
        assert.isFalse(dispatched.body.reusedExistingRun)
        assert.notInclude([a.pendingRun, a.cancelledRun, b.pendingRun], dispatched.body.runId)
        const aAfter = yield* readAll(a)
        // A gained only its own new Lead
        const aLeads = (aAfter["/api/leads?limit=500"] as any).leads as Array<any>
        assert.deepStrictEqual(
          aLeads.filter((l) => l.email !== "margaret@corp.example"),
          (aBefore["/api/leads?limit=500"] as any).leads
        )
        for (const path of Object.keys(aBefore).filter((p) => !p.startsWith("/api/leads") && !p.includes("/lists"))) {
          assert.deepStrictEqual(aAfter[path], aBefore[path], path)
        }
      })
    )
  }
)
