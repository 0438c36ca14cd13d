/**
 * Executing a run's commands: the run store decides, appends and projects them, and the application
 * applies the domain's reaction to what they decided — the credit movements of `RunRequested` and
 * `CreditsSettled` (domain/credits/RunCredits.ts) — through the CreditLedger, in the same transaction, so a
 * run and its money never disagree; and, when they settle the run, its webhook deliveries (the outbox, in the
 * same transaction: a settled run is never left without them). Every use case that moves a run goes through here.
 * A reservation made for an API key with a monthly credit limit (`ActingApiKey`) also draws on the key's budget, and
 * a settlement gives what it released back to it (KeyBudgets), each right after the workspace's credit row is locked
 * and moved: the lock order of DECISIONS.md 69.
 */
import { Context, Effect, Layer } from "effect"
import {
  type CreditRejection,
  InsufficientCredits,
  type Reserve,
  type Settle
} from "@enrich/domain/credits/CreditAccount"
import { creditCommandOf } from "@enrich/domain/credits/RunCredits"
import { CreditLedger } from "@enrich/domain/ports/CreditLedger"
import { ActingApiKey, KeyBudgets } from "@enrich/domain/ports/KeyBudgets"
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
      const budgets = yield* KeyBudgets
      const { maxAttempts } = yield* WebhookPolicyConfig

      /**
       * The key's side of a credit movement, after the workspace's (its row locked first): a reservation made for
       * a key with a limit draws on the key's month (past it, the whole is refused: 402 with `keyRemaining`, the
       * balance as it was before this reservation); a settlement's release goes back to the month its run drew on.
       */
      const moveKeyBudget = Effect.fnUntraced(function* (workspaceId: string, command: Reserve | Settle) {
        if (command._tag === "Settle") {
          if (command.released > 0) yield* budgets.release({ runId: command.runId, amount: command.released })
          return
        }
        const key = yield* ActingApiKey
        if (key === undefined || key.creditLimit === null) return
        yield* budgets
          .reserve({ keyId: key.keyId, runId: command.runId, amount: command.amount, at: command.now })
          .pipe(
            Effect.catchTag("KeyLimitReached", (refused) =>
              Effect.flatMap(ledger.balance(workspaceId), ({ balance }) =>
                Effect.fail(
                  new InsufficientCredits({
                    command: command._tag,
                    reason: "key_credit_limit",
                    required: refused.required,
                    // read in this transaction, after this run's hold: the balance before it is that plus the hold
                    balance: balance + command.amount,
                    keyRemaining: refused.keyRemaining
                  })
                )
              )
            )
          )
      })

      /**
       * The credit movements of the run's new events, each judged on the run as it was before it; then the
       * webhook event they cause, if they settle the run.
       */
      const moveCredits = Effect.fnUntraced(function* (runId: string, workspaceId: string, executed: ExecutedRun) {
        let before = executed.from
        for (const event of executed.events) {
          const command = creditCommandOf(runId, before, event)
          if (command !== undefined) {
            yield* ledger.execute(workspaceId, command)
            yield* moveKeyBudget(workspaceId, command)
          }
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
