/** Handlers of the admin group. */
import { Clock, DateTime, Effect, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { RunReadModel } from "@enrich/adapters/postgres/RunReadModel"
import { Workspaces } from "@enrich/adapters/postgres/Workspaces"
import { RunWatchdog } from "@enrich/application/runs/RunWatchdog"
import { expiryRefusal } from "@enrich/domain/auth/ApiKeyScopes"
import type { Adjust, Grant } from "@enrich/domain/credits/CreditAccount"
import { toUtcTimestamp } from "@enrich/domain/leads/LeadFilter"
import { CreditLedger } from "@enrich/domain/ports/CreditLedger"
import { EnrichApi } from "../../api/Api.ts"
import { apiError } from "../../api/Errors.ts"
import { ApiKeyCache } from "../ApiKeyCache.ts"
import { notFound, storeFailureToEnvelope } from "./common.ts"

export const AdminHandlers = HttpApiBuilder.group(
  EnrichApi,
  "admin",
  Effect.fn(function* (handlers) {
    const workspaces = yield* Workspaces
    const ledger = yield* CreditLedger
    const keys = yield* ApiKeyCache
    const watchdog = yield* RunWatchdog
    const runs = yield* RunReadModel
    const orNotFound =
      (what: string) =>
      <A, E, R>(effect: Effect.Effect<Option.Option<A>, E, R>) =>
        Effect.flatMap(effect, Option.match({ onNone: () => Effect.fail(notFound(what)), onSome: Effect.succeed }))
    return handlers.handleAll({
      createWorkspace: ({ payload }) => workspaces.create({ name: payload.name, credits: payload.credits ?? 0 }),
      listWorkspaces: ({ query }) => workspaces.list({ limit: query.limit ?? 50, cursor: query.cursor }),
      listApiKeys: ({ params }) =>
        workspaces.listApiKeys(params.id).pipe(
          orNotFound("Workspace"),
          Effect.map((apiKeys) => ({ apiKeys }))
        ),
      // its restrictions as given (DECISIONS.md 69); an expiry must lie ahead, by this server's clock
      createApiKey: Effect.fn(function* ({ params, payload }) {
        const restrictions = payload ?? {}
        const expiresAt = restrictions.expiresAt === undefined ? undefined : toUtcTimestamp(restrictions.expiresAt)
        if (expiresAt !== undefined) {
          const refusal = expiryRefusal(Date.parse(expiresAt), yield* Clock.currentTimeMillis)
          if (refusal !== undefined) {
            return yield* Effect.fail(
              apiError("VALIDATION_FAILED", `Invalid request: body.expiresAt: ${refusal}`, {
                details: { issues: [{ path: "body.expiresAt", message: refusal }], total: 1 }
              })
            )
          }
        }
        return yield* workspaces
          .createApiKey(params.id, { scopes: restrictions.scopes, creditLimit: restrictions.creditLimit, expiresAt })
          .pipe(orNotFound("Workspace"))
      }),
      // forgotten here at once; other API processes forget it when the revocation's NOTIFY reaches them
      revokeApiKey: ({ params }) =>
        workspaces.revokeApiKey(params.id).pipe(
          Effect.tap(() => keys.forget(params.id)),
          orNotFound("API key")
        ),
      moveCredits: Effect.fn(function* ({ params, payload }) {
        const now = DateTime.formatIso(yield* DateTime.now)
        const { amount, reason } = payload
        const command: Grant | Adjust =
          amount > 0 ? { _tag: "Grant", amount, reason, now } : { _tag: "Adjust", amount, reason, now }
        const moved = yield* workspaces.moveCredits(params.id, command).pipe(
          orNotFound("Workspace"),
          Effect.catchTags({
            CreditCommandRejected: (e) =>
              e.reason === "balance_would_be_negative"
                ? Effect.flatMap(ledger.balance(params.id), ({ balance }) =>
                    Effect.fail(
                      apiError(
                        "BALANCE_WOULD_BE_NEGATIVE",
                        `Taking back ${-amount} credits would take the balance of ${balance} below zero`,
                        { balance }
                      )
                    )
                  )
                : Effect.fail(
                    apiError("VALIDATION_FAILED", `Invalid request: body.amount: ${e.reason}`, {
                      details: { issues: [{ path: "body.amount", message: e.reason }], total: 1 }
                    })
                  ),
            InsufficientCredits: (e) => Effect.die(e)
          })
        )
        return { balance: moved.balance }
      }, storeFailureToEnvelope),
      // the event's actor is "admin" (AdminAuth); the reason becomes the run's error message
      failRun: Effect.fn(function* ({ params, payload }) {
        const ended = yield* watchdog.endRun(params.id, payload.reason).pipe(
          Effect.catchTags({
            RunNotFound: () => Effect.fail(notFound("Enrichment run")),
            RunAlreadySettled: () =>
              Effect.fail(
                apiError("RUN_ALREADY_SETTLED", "The run has settled already; there is nothing left to end", {
                  reason: "run_settled"
                })
              )
          })
        )
        yield* Effect.logWarning("run ended by an operator").pipe(
          Effect.annotateLogs({ runId: ended.runId, status: ended.status, reason: payload.reason })
        )
        const run = yield* runs.getRunOfAnyWorkspace(params.id)
        if (Option.isNone(run)) return yield* Effect.die(new Error(`run ${params.id} ended but has no read model row`))
        return { run: run.value }
      })
    })
  })
)
