/**
 * Executing a run's commands: the run store decides, appends and projects them, and the application
 * applies the domain's reaction to what they decided — the credit movements of `RunRequested` and
 * `CreditsSettled` (domain/credits/RunCredits.ts) — through the CreditLedger, in the same transaction, so a
 * run and its money never disagree; and, when they settle the run, its webhook deliveries (the outbox, in the
 * same transaction: a settled run is never left without them). Every use case that moves a run goes through here.
 */
import { Context, Effect, Layer } from "effect"
import type { CreditRejection } from "@enrich/domain/credits/CreditAccount"
import { creditCommandOf } from "@enrich/domain/credits/RunCredits"
import { CreditLedger } from "@enrich/domain/ports/CreditLedger"
import type { WrongExpectedVersion } from "@enrich/domain/ports/EventStore"
import { evolve, type RunCommandRejected } from "@enrich/domain/runs/Run"
import { type ExecutedRun, type RunCommandInput, RunStore } from "../ports/RunStore.ts"
import type { StoreFailure } from "@enrich/domain/ports/StoreFailure"
import { Transactions } from "../ports/Transactions.ts"
import { WebhookStore } from "../ports/Webhooks.ts"
import { webhookEventOf } from "@enrich/domain/webhooks/Webhooks"
import { WebhookPolicyConfig } from "../webhooks/WebhookPolicy.ts"

export class RunCommands extends Context.Service<
  RunCommands,
  {
    /**
     * Decides and records `input.command` (RunStore.execute) and moves the credits its events imply, in the
     * caller's transaction or one of its own; a credit the ledger refuses (a reservation past the balance)
     * refuses the whole.
     */
    readonly execute: (
      input: RunCommandInput
    ) => Effect.Effect<ExecutedRun, RunCommandRejected | WrongExpectedVersion | CreditRejection | StoreFailure>
  }
>()("@enrich/application/runs/RunCommands") {
  static readonly layer = Layer.effect(
    RunCommands,
    Effect.gen(function* () {
      const store = yield* RunStore
      const ledger = yield* CreditLedger
      const transactions = yield* Transactions
      const webhooks = yield* WebhookStore
      const { maxAttempts } = yield* WebhookPolicyConfig

      /**
       * The credit movements of the run's new events, each judged on the run as it was before it; then the
       * webhook event they cause, if they settle the run.
       */
      const moveCredits = Effect.fnUntraced(function* (runId: string, workspaceId: string, executed: ExecutedRun) {
        let before = executed.from
        for (const event of executed.events) {
          const command = creditCommandOf(runId, before, event)
          if (command !== undefined) yield* ledger.execute(workspaceId, command)
          before = evolve(before, event)
        }
        const webhookEvent = webhookEventOf(executed.events, before.status)
        if (webhookEvent !== undefined) {
          yield* webhooks.enqueue({
            workspaceId,
            runId,
            type: webhookEvent.type,
            occurredAt: webhookEvent.timestamp,
            attemptsAllowed: maxAttempts
          })
        }
      })

      const execute: RunCommands["Service"]["execute"] = (input) =>
        transactions.transaction(
          Effect.tap(store.execute(input), (executed) => moveCredits(input.runId, input.workspaceId, executed))
        )

      return RunCommands.of({ execute })
    })
  )
}
