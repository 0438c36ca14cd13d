/**
 * The default execution engine: `effect/workflow` on `effect/cluster`, storage
 * in the same Postgres. A run is one durable workflow keyed by its run id; its
 * body (in packages/worker) runs batch activities that claim item rows.
 */
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as NodeCrypto from "@effect/platform-node/NodeCrypto"
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Layer, Option, Queue, Schedule, Schema, type Scope } from "effect"
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
 * The channel notified after a dispatch commits: every runner then reads its
 * shards' new messages at once instead of at its next poll (DECISIONS.md 33, 40).
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
 * Wakes the runners: NOTIFY on HANDED_OVER_CHANNEL, from a fiber in `scope`, never from the caller's.
 * At most one NOTIFY is in flight; wakes asked for while it is sent are answered by one more NOTIFY after
 * it (a runner that hears a notification reads everything committed before it, so one NOTIFY sent after
 * several commits wakes them all). A NOTIFY that fails is logged; the runners' poll finds the messages.
 */
export const makeWakeRunners = (sql: SqlClient.SqlClient, scope: Scope.Scope) => {
  let sending = false
  let again = false
  const notify = sql`SELECT pg_notify(${HANDED_OVER_CHANNEL}, '')`.pipe(
    Effect.tapCause((cause) => Effect.logWarning("waking the runners failed; they will poll", cause)),
    Effect.ignore
  )
  const send: Effect.Effect<void> = Effect.gen(function* () {
    for (;;) {
      yield* notify
      // the flags are read and written only in synchronous steps, so no wake is lost between them
      const more = yield* Effect.sync(() => {
        if (again) {
          again = false
          return true
        }
        sending = false
        return false
      })
      if (!more) return
    }
  })
  return Effect.suspend(() => {
    if (sending) {
      again = true
      return Effect.void
    }
    sending = true
    return Effect.asVoid(Effect.forkIn(send, scope))
  })
}

/**
 * Dispatcher on the workflow engine. `dispatch` runs inside the dispatch
 * transaction, so the cluster's message row is the outbox: a rollback leaves no
 * workflow, a commit leaves exactly one. After the commit (never in the
 * transaction, never after a rollback) it wakes the runners, so they read the
 * message then, not at their poll. A NOTIFY in the transaction would make
 * PostgreSQL serialise the commits of all dispatches (the notification
 * queue's lock is held until the commit is flushed; DECISIONS.md 40).
 */
export const WorkflowDispatcherLive = Layer.effect(
  Dispatcher,
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const wakeRunners = makeWakeRunners(sql, yield* Effect.scope)
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
          Effect.tap(() => sql.afterCommit(wakeRunners)),
          Effect.map((triggerRunId) => ({ triggerRunId })),
          Effect.catchCause((cause) =>
            Effect.fail(new DispatchFailed({ message: `workflow engine refused the run: ${String(cause)}` }))
          )
        )
    })
  })
)
