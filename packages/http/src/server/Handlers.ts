/**
 * Handlers: thin translations between the wire and the use cases. Each maps
 * the use case's typed failures to the contract's error bodies.
 */
import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { HttpApiBuilder } from "effect/http-api"
import { fromInput, groupByIdentity } from "@enrich/domain/leads/Lead"
import type { PlanRejected } from "@enrich/domain/runs/Planner"
import { LeadDirectory } from "@enrich/domain/ports/LeadDirectory"
import { latestKnownMigration } from "@enrich/adapters/postgres/Migrations"
import { RunReadModel } from "@enrich/adapters/postgres/RunReadModel"
import { Workspaces } from "@enrich/adapters/postgres/Workspaces"
import { Catalog } from "@enrich/domain/ports/Catalog"
import { CancelRun } from "@enrich/adapters/runs/CancelRun"
import { DispatchRun } from "@enrich/adapters/runs/DispatchRun"
import { CurrentWorkspace, EnrichApi } from "../api/Api.ts"
import { apiError } from "../api/Errors.ts"

const notFound = (what: string) => apiError("NOT_FOUND", `${what} not found`)
const planRejection = (e: PlanRejected) =>
  apiError(e.code, e.message, e.details === undefined ? undefined : { details: e.details })

export const SystemHandlers = HttpApiBuilder.group(
  EnrichApi,
  "system",
  Effect.fn(function* (handlers) {
    const sql = yield* SqlClient.SqlClient
    return handlers.handleAll({
      healthz: () => Effect.succeed({ status: "ok" as const }),
      readyz: () =>
        sql<{ latest: number | null }>`SELECT max(migration_id)::int AS latest FROM effect_sql_migrations`.pipe(
          Effect.map((rows) => {
            const migrations = (rows[0]?.latest ?? 0) >= latestKnownMigration
            return { status: migrations ? ("ready" as const) : ("not_ready" as const), database: true, migrations }
          }),
          Effect.timeout("2 seconds"),
          Effect.orElseSucceed(() => ({ status: "not_ready" as const, database: false, migrations: false }))
        )
    })
  })
)

export const AdminHandlers = HttpApiBuilder.group(
  EnrichApi,
  "admin",
  Effect.fn(function* (handlers) {
    const workspaces = yield* Workspaces
    return handlers.handleAll({
      createWorkspace: ({ payload }) => workspaces.create({ name: payload.name, credits: payload.credits ?? 0 })
    })
  })
)

export const ListsHandlers = HttpApiBuilder.group(
  EnrichApi,
  "lists",
  Effect.fn(function* (handlers) {
    const leads = yield* LeadDirectory
    return handlers.handleAll({
      create: Effect.fn(function* ({ payload }) {
        const { workspaceId } = yield* CurrentWorkspace
        const list = yield* leads
          .createList(workspaceId, {
            name: payload.name ?? "Untitled list",
            description: payload.description ?? null,
            leadType: payload.leadType ?? "person",
            leadIds: payload.leadIds ?? []
          })
          .pipe(
            Effect.catchTags({
              LeadsNotFound: (e) =>
                Effect.fail(
                  apiError("LEADS_NOT_FOUND", `${e.total} Leads do not exist`, {
                    details: { leadIds: e.leadIds, total: e.total }
                  })
                ),
              LeadTypeMismatch: (e) =>
                Effect.fail(
                  apiError("LEAD_TYPE_MISMATCH", `${e.total} Leads are not of type ${e.leadType}`, {
                    details: { leadIds: e.leadIds, total: e.total }
                  })
                )
            })
          )
        return { list }
      }),
      import: Effect.fn(function* ({ payload }) {
        const { workspaceId } = yield* CurrentWorkspace
        if (payload.preview === true) {
          const { groups } = groupByIdentity(payload.leads.map(fromInput))
          return {
            preview: {
              leadCount: groups.length,
              personCount: groups.filter((g) => g.fields.type === "person").length,
              companyCount: groups.filter((g) => g.fields.type === "company").length
            }
          }
        }
        return yield* leads.importLeads(workspaceId, payload.leads, payload.listId).pipe(
          Effect.catchTags({
            ListNotFound: (e) => Effect.fail(apiError("LIST_NOT_FOUND", `List ${e.listId} does not exist`)),
            LeadTypeMismatch: (e) =>
              Effect.fail(
                apiError("LEAD_TYPE_MISMATCH", `${e.total} Leads are not of the List's type ${e.leadType}`, {
                  details: { leadIds: e.leadIds, total: e.total }
                })
              )
          })
        )
      }),
      leads: Effect.fn(function* ({ params, query }) {
        const { workspaceId } = yield* CurrentWorkspace
        return yield* leads
          .listLeads(workspaceId, params.id, {
            limit: query.limit ?? 50,
            cursor: query.cursor,
            type: query.type
          })
          .pipe(Effect.catchTag("ListNotFound", () => Effect.fail(notFound("List"))))
      })
    })
  })
)

export const EnrichmentsHandlers = HttpApiBuilder.group(
  EnrichApi,
  "enrichments",
  Effect.fn(function* (handlers) {
    const catalog = yield* Catalog
    const dispatcher = yield* DispatchRun
    const canceller = yield* CancelRun
    const runs = yield* RunReadModel
    return handlers.handleAll({
      catalog: Effect.fn(function* ({ query }) {
        if (query.id !== undefined) {
          const entry = catalog.find(query.id)
          if (entry === undefined) return yield* Effect.fail(notFound(`Enrichment ${query.id}`))
          return { enrichments: [entry.contract] }
        }
        return { enrichments: catalog.list(query.q) }
      }),
      dispatch: Effect.fn(function* ({ headers, payload }) {
        const { workspaceId } = yield* CurrentWorkspace
        const headerKey = headers["idempotency-key"]
        if (headerKey !== undefined && payload.idempotencyKey !== undefined && headerKey !== payload.idempotencyKey) {
          return yield* Effect.fail(
            apiError("VALIDATION_FAILED", "Idempotency-Key header and body idempotencyKey differ", {
              details: {
                issues: [{ path: "headers.idempotency-key", message: "differs from body.idempotencyKey" }],
                total: 1
              }
            })
          )
        }
        const outcome = yield* dispatcher
          .dispatch(workspaceId, {
            enrichmentId: payload.enrichmentId,
            scope: payload.scope,
            mode: payload.mode ?? "persisted",
            input: payload.input ?? {},
            output: payload.output,
            writePolicy: payload.writePolicy ?? "overwrite",
            displayRequest: payload.displayRequest,
            idempotencyKey: payload.idempotencyKey ?? headerKey
          })
          .pipe(
            Effect.catchTags({
              EnrichmentNotFound: (e) =>
                Effect.fail(apiError("ENRICHMENT_NOT_FOUND", `Enrichment ${e.enrichmentId} does not exist`)),
              PlanRejected: (e) => Effect.fail(planRejection(e)),
              InsufficientCredits: (e) =>
                Effect.fail(
                  apiError(
                    "INSUFFICIENT_CREDITS",
                    `This run needs ${e.required} credits; the balance is ${e.balance}`,
                    {
                      required: e.required,
                      balance: e.balance
                    }
                  )
                ),
              IdempotencyKeyReused: () =>
                Effect.fail(
                  apiError("IDEMPOTENCY_KEY_REUSED", "This idempotency key was used with a different request")
                ),
              IdempotencyKeyInUse: () =>
                Effect.fail(
                  apiError("IDEMPOTENCY_KEY_IN_USE", "A request with this idempotency key is in progress; retry", {
                    reason: "idempotency_key_in_use"
                  })
                ),
              RunDispatchFailed: (e) =>
                Effect.fail(
                  apiError("DISPATCH_FAILED", e.message, {
                    enrichmentRunId: e.enrichmentRunId,
                    triggerRunId: e.triggerRunId
                  })
                )
            })
          )
        return outcome.body
      }),
      status: Effect.fn(function* ({ params }) {
        const { workspaceId } = yield* CurrentWorkspace
        const run = yield* runs.getRun(workspaceId, params.id)
        if (Option.isNone(run)) return yield* Effect.fail(notFound("Enrichment run"))
        return { run: run.value }
      }),
      cancel: Effect.fn(function* ({ params }) {
        const { workspaceId } = yield* CurrentWorkspace
        const run = yield* canceller.cancel(workspaceId, params.id).pipe(
          Effect.catchTags({
            RunNotFound: () => Effect.fail(notFound("Enrichment run")),
            RunNotCancellable: (e) =>
              Effect.fail(
                apiError(
                  "RUN_NOT_CANCELLABLE",
                  e.reason === "run_not_cancellable"
                    ? "Only pending or running runs can be cancelled"
                    : "The run changed while it was being cancelled; read its status and retry",
                  { reason: e.reason }
                )
              )
          })
        )
        return { run }
      }),
      items: Effect.fn(function* ({ params, query }) {
        const { workspaceId } = yield* CurrentWorkspace
        const limit = query.limit ?? 50
        const page = yield* runs.listItems(workspaceId, params.id, {
          status: query.status,
          leadId: query.leadId,
          cursor: query.cursor,
          limit
        })
        if (Option.isNone(page)) return yield* Effect.fail(notFound("Enrichment run"))
        return {
          items: page.value.items,
          page: { limit, nextCursor: page.value.nextCursor, hasMore: page.value.hasMore }
        }
      })
    })
  })
)

export const HandlersLive = Layer.mergeAll(SystemHandlers, AdminHandlers, ListsHandlers, EnrichmentsHandlers)
