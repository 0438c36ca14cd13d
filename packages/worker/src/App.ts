/**
 * How the processes are composed. `pnpm start` runs the API and a runner in one
 * process; `packages/http` and `packages/worker` each have an entry point to
 * run them apart against one DATABASE_URL.
 */
import { Layer } from "effect"
import type { WorkflowEngine } from "effect/workflow"
import { DatabaseLive, DatabaseUrl } from "@enrich/adapters/postgres/Database"
import { runnerCluster } from "@enrich/adapters/engine/RunWorkflow"
import { DispatcherFromConfigLive } from "@enrich/adapters/engine/SelectDispatcher"
import { ServicesLive } from "@enrich/adapters/Services"
import { serveApi } from "@enrich/http/server/HttpLive"
import { BatchSlots } from "./BatchSlots.ts"
import { RunExecutor } from "./RunExecutor.ts"
import { RunWorkflowLive } from "./RunWorkflowLive.ts"
import { WatchdogLive } from "./Watchdog.ts"

/** The workflow handler (this process executes runs) and the run watchdog (one runner of the cluster sweeps). */
export const WorkerLive = Layer.merge(
  RunWorkflowLive.pipe(Layer.provide([RunExecutor.layer, BatchSlots.layer])),
  WatchdogLive
)

type RunnerAddress = {
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
  ServicesLive.pipe(Layer.provide(DispatcherFromConfigLive), Layer.provideMerge(engine))

/** API + runner in one process (`pnpm start`, and the end-to-end tests). */
export const apiAndWorker = (options: { readonly port: number; readonly runner: RunnerAddress }) =>
  Layer.mergeAll(serveApi({ port: options.port }), WorkerLive).pipe(
    Layer.provide(servicesOn(runnerCluster(options.runner, options.runner.pollMs, options.runner.stopGraceMs))),
    Layer.provideMerge(DatabaseLive)
  )

/** A runner only: executes the runs dispatched by any API process. */
export const workerOnly = (options: { readonly runner: RunnerAddress }) =>
  WorkerLive.pipe(
    Layer.provide(servicesOn(runnerCluster(options.runner, options.runner.pollMs, options.runner.stopGraceMs))),
    Layer.provideMerge(DatabaseLive)
  )

export { DatabaseUrl }
