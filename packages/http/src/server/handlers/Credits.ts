/** Handlers of the credits group: totals, ledger pages, cost previews (which write nothing). */
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { CreditReadModel } from "@enrich/adapters/postgres/CreditReadModel"
import { canAfford, requiredCredits } from "@enrich/domain/credits/CreditPolicy"
import { Catalog } from "@enrich/domain/ports/Catalog"
import { CreditLedger } from "@enrich/domain/ports/CreditLedger"
import { CurrentWorkspace, EnrichApi } from "../../api/Api.ts"
import { apiError } from "../../api/Errors.ts"
import { storeFailureToEnvelope } from "./common.ts"

export const CreditsHandlers = HttpApiBuilder.group(
  EnrichApi,
  "credits",
  Effect.fn(function* (handlers) {
    const catalog = yield* Catalog
    const ledger = yield* CreditLedger
    const reads = yield* CreditReadModel

    /** The cost model a preview prices: by enrichment slug, or by credit action (the highest unit cost using it). */
    const costOf = Effect.fn(function* (payload: {
      readonly enrichmentId?: string | undefined
      readonly action?: string | undefined
    }) {
      if (payload.enrichmentId !== undefined) {
        const entry = catalog.find(payload.enrichmentId)
        if (entry === undefined) {
          return yield* Effect.fail(
            apiError("ENRICHMENT_NOT_FOUND", `Enrichment ${payload.enrichmentId} does not exist`)
          )
        }
        return entry.contract.costModel
      }
      const contracts = catalog.list(undefined)
      const priced = contracts.filter((c) => c.costModel.creditAction === payload.action).map((c) => c.costModel)
      if (priced.length === 0) {
        const known = [...new Set(contracts.map((c) => c.costModel.creditAction))].sort()
        const message = `unknown credit action; expected one of ${known.join(", ")}`
        return yield* Effect.fail(
          apiError("VALIDATION_FAILED", `Invalid request: body.action: ${message}`, {
            details: { issues: [{ path: "body.action", message }], total: 1 }
          })
        )
      }
      return priced.reduce((a, b) => (b.unitCost > a.unitCost ? b : a))
    })

    return handlers.handleAll({
      balance: Effect.fn(function* () {
        const { workspaceId } = yield* CurrentWorkspace
        return yield* ledger.balance(workspaceId)
      }, storeFailureToEnvelope),
      ledger: Effect.fn(function* ({ query }) {
        const { workspaceId } = yield* CurrentWorkspace
        return yield* reads.ledger(workspaceId, { cursor: query.cursor, limit: query.limit ?? 50 })
      }),
      preview: Effect.fn(function* ({ payload }) {
        const { workspaceId } = yield* CurrentWorkspace
        const cost = yield* costOf(payload)
        const { balance } = yield* ledger.balance(workspaceId)
        const required = requiredCredits(payload.count, cost.unitCost)
        return {
          creditAction: cost.creditAction,
          action: cost.creditAction,
          unitCost: cost.unitCost,
          costPerUnit: cost.unitCost,
          count: payload.count,
          required,
          totalCredits: required,
          balance,
          sufficient: canAfford(balance, required)
        }
      }, storeFailureToEnvelope)
    })
  })
)
