/**
 * The default execution engine: `effect/workflow` on `effect/cluster`, storage
 * in the same Postgres. A run is one durable workflow keyed by its run id; its
 * body (in packages/worker) runs batch activities that claim item rows.
 */
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import { Config, Duration, Effect, Layer, Option, Schema } from "effect"
import { ClusterWorkflowEngine, RunnerAddress, type ShardingConfig } from "effect/cluster"
import { Workflow, type WorkflowEngine } from "effect/workflow"
import { Dispatcher, DispatchFailed } from "@enrich/domain/ports/Dispatcher"
import { withNodeDigest } from "./NodeDigest.ts"

export const BatchOutcome = Schema.Struct({
  claimed: Schema.Int,
  completed: Schema.Int,
  failed: Schema.Int,
  skipped: Schema.Int
})
export type BatchOutcome = typeof BatchOutcome.Type

export const EnrichmentRunWorkflow = Workflow.make("EnrichmentRun", {
  payload: { runId: Schema.String, workspaceId: Schema.String },
  success: Schema.Struct({ batches: Schema.Int }),
  idempotencyKey: ({ runId }) => runId
})

/**
 * One partition of a large run: a child workflow of the run's, on whichever
 * runner owns its shard, claiming batches from the run's shared pool of
 * pending items. Several partitions let several runners share one run.
 */
export const EnrichmentRunPartition = Workflow.make("EnrichmentRunPartition", {
  payload: { runId: Schema.String, workspaceId: Schema.String, partition: Schema.Int },
  success: Schema.Struct({ batches: Schema.Int }),
  idempotencyKey: ({ partition, runId }) => `${runId}/p${partition}`
})

/** Every process (runner or client-only) must share these, or messages land on shards nobody owns. */
export const sharding: Partial<ShardingConfig.ShardingConfig["Service"]> = {
  shardsPerGroup: 16,
  entityMessagePollInterval: Duration.seconds(5),
  shardLockExpiration: Duration.seconds(10),
  runnerHealthCheckInterval: Duration.seconds(2)
}

/** A runner process at `address`: executes workflows. Each runner needs its own address. */
export const runnerCluster = (address: { readonly host: string; readonly port: number }) =>
  ClusterWorkflowEngine.layer.pipe(
    Layer.provideMerge(
      NodeClusterSocket.layer({
        storage: "sql",
        shardingConfig: { ...sharding, runnerAddress: Option.some(RunnerAddress.make(address.host, address.port)) }
      })
    )
  )

/** The runner address from `ENRICH_RUNNER_HOST` / `ENRICH_RUNNER_PORT` (default 127.0.0.1:34431). */
export const RunnerClusterLive = Layer.unwrap(
  Effect.gen(function* () {
    const host = yield* Config.String("ENRICH_RUNNER_HOST").pipe(Config.withDefault("127.0.0.1"))
    const port = yield* Config.Int("ENRICH_RUNNER_PORT").pipe(Config.withDefault(34431))
    return runnerCluster({ host, port })
  })
)

/** A process that only dispatches (a separate HTTP process): no runner of its own. */
export const ClientOnlyClusterLive = ClusterWorkflowEngine.layer.pipe(
  Layer.provideMerge(NodeClusterSocket.layer({ clientOnly: true, storage: "sql", shardingConfig: sharding }))
)

/**
 * Dispatcher on the workflow engine. `dispatch` runs inside the dispatch
 * transaction, so the cluster's message row is the outbox: a rollback leaves no
 * workflow, a commit leaves exactly one. `wake` re-sends after commit (a
 * duplicate by idempotency key) so the runner starts at once, not at its poll.
 */
export const WorkflowDispatcherLive = Layer.effect(
  Dispatcher,
  Effect.gen(function* () {
    const context = yield* Effect.context<WorkflowEngine.WorkflowEngine>()
    const start = (run: { readonly runId: string; readonly workspaceId: string }) =>
      EnrichmentRunWorkflow.execute({ runId: run.runId, workspaceId: run.workspaceId }, { discard: true }).pipe(
        withNodeDigest,
        Effect.provideContext(context)
      )
    return Dispatcher.of({
      engine: "effect-workflow",
      joinsTransaction: true,
      dispatch: (run) =>
        start(run).pipe(
          Effect.map((triggerRunId) => ({ triggerRunId })),
          Effect.catchCause((cause) =>
            Effect.fail(new DispatchFailed({ message: `workflow engine refused the run: ${String(cause)}` }))
          )
        ),
      wake: (run) => start(run).pipe(Effect.ignore)
    })
  })
)
