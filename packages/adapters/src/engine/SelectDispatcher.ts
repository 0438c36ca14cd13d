/**
 * Which engine executes runs: `ENRICH_DISPATCHER` = `workflow` (default:
 * `effect/workflow` on `effect/cluster`, in our database) or `trigger`
 * (Trigger.dev, see ./TriggerDispatcher.ts).
 */
import { Config, Effect, Layer } from "effect"
import type { SqlClient } from "effect/sql"
import type { WorkflowEngine } from "effect/workflow"
import type { Dispatcher } from "@enrich/domain/ports/Dispatcher"
import { WorkflowDispatcherLive } from "./RunWorkflow.ts"
import { TriggerDispatcherLive } from "./TriggerDispatcher.ts"

export const DispatcherKind = Config.Literals(["workflow", "trigger"], "ENRICH_DISPATCHER").pipe(
  Config.withDefault("workflow" as const)
)

/**
 * The configured Dispatcher, for a process that has a workflow engine anyway
 * (a runner): with `trigger` the engine is left unused by dispatch.
 */
export const DispatcherFromConfigLive = Layer.unwrap(
  Effect.map(
    DispatcherKind,
    (kind): Layer.Layer<Dispatcher, Config.ConfigError, SqlClient.SqlClient | WorkflowEngine.WorkflowEngine> =>
      kind === "trigger" ? TriggerDispatcherLive : WorkflowDispatcherLive
  )
)

/**
 * The configured Dispatcher, building the workflow engine `engine` only when
 * runs go to it (an API-only process dispatching to Trigger.dev joins no
 * cluster).
 */
export const dispatcherFromConfig = <A, E, R>(engine: Layer.Layer<A, E, R>) =>
  Layer.unwrap(
    Effect.map(
      DispatcherKind,
      (
        kind
      ): Layer.Layer<
        Dispatcher,
        E | Config.ConfigError,
        SqlClient.SqlClient | R | Exclude<WorkflowEngine.WorkflowEngine, A>
      > => (kind === "trigger" ? TriggerDispatcherLive : WorkflowDispatcherLive.pipe(Layer.provide(engine)))
    )
  )
