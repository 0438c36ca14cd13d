/**
 * The default execution engine: `effect/workflow` on `effect/cluster`, storage
 * in the same Postgres. A run is one durable workflow keyed by its run id; its
 * body (in packages/worker) runs batch activities that claim item rows.
 */
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as NodeCrypto from "@effect/platform-node/NodeCrypto"
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Layer, Option, Queue, Schedule, Schema } from "effect"
import {
  ClusterWorkflowEngine,
  RunnerAddress,
  RunnerHealth,
  Runners,
  Sharding,
  ShardingConfig,
  SqlMessageStorage,
  SqlRunnerStorage
} from "effect/cluster"
import { SqlClient } from "effect/sql"
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

/**
 * The channel a dispatch notifies in its transaction: PostgreSQL delivers the
 * notification at commit, and every runner then reads its shards' new
 * messages at once instead of at its next poll (DECISIONS.md 33).
 */
export const HANDED_OVER_CHANNEL = "enrich_run_handed_over"

/**
 * A runner's ear for dispatches: LISTEN on HANDED_OVER_CHANNEL, and read
 * storage whenever notifications arrive (all that arrived meanwhile, once).
 * The listening connection is opened again after a failure; meanwhile the
 * runner's poll still finds every message, only later.
 */
const WakeOnHandOver = Layer.effectDiscard(
  Effect.gen(function* () {
    const pg = yield* PgClient.PgClient
    const sharding = yield* Sharding.Sharding
    const listen = Effect.scoped(
      Effect.gen(function* () {
        const notifications = yield* pg.listen(HANDED_OVER_CHANNEL)
        // what was committed before the LISTEN took effect
        yield* sharding.pollStorage
        for (;;) {
          yield* Queue.takeAll(notifications)
          yield* sharding.pollStorage
        }
      })
    )
    yield* listen.pipe(
      Effect.tapCause((cause) => Effect.logWarning("listening for dispatches failed; retrying", cause)),
      Effect.retry(Schedule.spaced(Duration.seconds(1))),
      Effect.forkScoped
    )
  })
)

/**
 * A runner process at `address`: executes workflows. Each runner needs its own address. It reads its
 * messages when a dispatch commits (WakeOnHandOver) and every `pollInterval` (default 5 s), which is what
 * finds the rest: activity replies from other runners, messages of a runner that died. Stopped, it lets
 * its workflows end their step for `stopGrace` (default 5 s; the platform's default is 15 s).
 */
export const runnerCluster = (
  address: { readonly host: string; readonly port: number },
  pollInterval: Duration.Input = sharding.entityMessagePollInterval!,
  stopGrace: Duration.Input = Duration.seconds(5)
) =>
  Layer.merge(ClusterWorkflowEngine.layer, WakeOnHandOver).pipe(
    Layer.provideMerge(
      NodeClusterSocket.layer({
        storage: "sql",
        shardingConfig: {
          ...sharding,
          entityMessagePollInterval: pollInterval,
          // a stopping runner gives its workflows this long to end their step, then cuts them off (the step is
          // redone by the shard's next runner: claims and records are idempotent). A run waiting on its
          // partitions never ends by itself, so this is how long a runner with a partitioned run takes to stop.
          entityTerminationTimeout: stopGrace,
          runnerAddress: Option.some(RunnerAddress.make(address.host, address.port))
        }
      })
    )
  )

/**
 * A process that only dispatches (a separate HTTP process): no runner of its own, and no calls to
 * runners either. A dispatch's message is stored (in the dispatch transaction) and the runners hear of
 * it by NOTIFY at commit; the platform's client-only cluster would also notify the shard's runner over
 * its socket, inside our transaction — a round trip before the commit, of no use (the runner cannot
 * see the message yet), and against a runner that died, a failed connection per dispatch.
 */
export const ClientOnlyClusterLive = ClusterWorkflowEngine.layer.pipe(
  Layer.provideMerge(Sharding.layer),
  Layer.provideMerge(Runners.layerNoop),
  Layer.provide(RunnerHealth.layerNoop),
  Layer.provideMerge(
    Layer.mergeAll(
      SqlMessageStorage.layer.pipe(Layer.provide(NodeCrypto.layerDigest)),
      Layer.orDie(SqlRunnerStorage.layer)
    )
  ),
  Layer.provide(ShardingConfig.layerFromEnv({ ...sharding, runnerAddress: Option.none() }))
)

/**
 * Dispatcher on the workflow engine. `dispatch` runs inside the dispatch
 * transaction, so the cluster's message row is the outbox: a rollback leaves no
 * workflow, a commit leaves exactly one. It also notifies HANDED_OVER_CHANNEL
 * in that transaction, so the runners read the message as soon as it is
 * committed, not at their poll (a rollback notifies nobody).
 */
export const WorkflowDispatcherLive = Layer.effect(
  Dispatcher,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
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
          Effect.tap(() => sql`SELECT pg_notify(${HANDED_OVER_CHANNEL}, '')`),
          Effect.map((triggerRunId) => ({ triggerRunId })),
          Effect.catchCause((cause) =>
            Effect.fail(new DispatchFailed({ message: `workflow engine refused the run: ${String(cause)}` }))
          )
        )
    })
  })
)
