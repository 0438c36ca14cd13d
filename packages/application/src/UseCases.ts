/**
 * The use cases as one layer, over the ports (application/ports, domain/ports): an entry point provides the
 * ports' implementations (adapters/Services.ts `Stores`) and a Dispatcher.
 */
import { Layer } from "effect"
import { CancelRun } from "./runs/CancelRun.ts"
import { DispatchRun } from "./runs/DispatchRun.ts"
import { RetryRun } from "./runs/RetryRun.ts"
import { RunCommands } from "./runs/RunCommands.ts"
import { RunWatchdog } from "./runs/RunWatchdog.ts"
import { ManageWebhooks } from "./webhooks/ManageWebhooks.ts"

/**
 * The API's and the watchdog's use cases (the worker composes SettleRun into its executor, and DeliverWebhooks
 * into its delivery loop).
 */
export const UseCasesLive = Layer.mergeAll(
  RetryRun.layer.pipe(Layer.provideMerge(DispatchRun.layer)),
  CancelRun.layer,
  RunWatchdog.layer,
  ManageWebhooks.layer
).pipe(Layer.provideMerge(RunCommands.layer))
