/**
 * The worker's composition: the workflow handler and the watchdog (WorkerLive), and the services of a
 * cluster runner they run on (onRunner). `bin/worker.ts` runs a runner alone; the composition root
 * (`@enrich/server`) puts the API on the same runner for `pnpm start`.
 */
import { Layer } from "effect"
import type { WorkflowEngine } from "effect/workflow"
import { DatabaseLive, DatabaseUrl } from "@enrich/adapters/postgres/Database"
import { runnerCluster } from "@enrich/adapters/engine/RunWorkflow"
import { DispatcherFromConfigLive } from "@enrich/adapters/engine/SelectDispatcher"
import { Stores } from "@enrich/adapters/Services"
import { UseCasesLive } from "@enrich/application/UseCases"
import { BatchSlots } from "./BatchSlots.ts"
import { RunExecutor } from "./RunExecutor.ts"
import { RunWorkflowLive } from "./RunWorkflowLive.ts"
import { WatchdogLive } from "./Watchdog.ts"
import { WebhookDeliveryLive } from "./WebhookDelivery.ts"

/**
 * The workflow handler (this process executes runs), the run watchdog (one runner of the cluster sweeps) and
 * the webhook delivery loop (every runner delivers).
 */
export const WorkerLive = Layer.mergeAll(
  RunWorkflowLive.pipe(Layer.provide([RunExecutor.layer, BatchSlots.layer])),
  WatchdogLive,
  WebhookDeliveryLive
)

export type RunnerAddress = {
  readonly host: string
  readonly port: number
  readonly pollMs?: number | undefined
  readonly stopGraceMs?: number | undefined
}

/**
 * The services on a runner. Dispatch goes where `ENRICH_DISPATCHER` says: with
 * `trigger`, new runs go to Trigger.dev and this runner still executes the
 * workflow runs dispatched before (the engine stays, dispatch leaves it).
 */
const servicesOn = <A, E, R>(engine: Layer.Layer<A | WorkflowEngine.WorkflowEngine, E, R>) =>
  UseCasesLive.pipe(Layer.provideMerge(Stores), Layer.provide(DispatcherFromConfigLive), Layer.provideMerge(engine))

/**
 * `layer` on a cluster runner at `runner`: the services it needs (the engine, dispatch, the
 * database) provided, and the database kept for what comes after.
 */
export const onRunner = <A, E, R>(runner: RunnerAddress, layer: Layer.Layer<A, E, R>) =>
  layer.pipe(
    Layer.provide(servicesOn(runnerCluster(runner, runner.pollMs, runner.stopGraceMs))),
    Layer.provideMerge(DatabaseLive)
  )

/** A runner only: executes the runs dispatched by any API process. */
export const workerOnly = (options: { readonly runner: RunnerAddress }) => onRunner(options.runner, WorkerLive)

export { DatabaseUrl }
