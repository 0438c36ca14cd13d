/**
 * The Trigger.dev task that executes a run when `ENRICH_DISPATCHER=trigger`:
 * this is what a user deploys to Trigger.dev (packages/worker/trigger.config.ts,
 * README "Running runs on Trigger.dev"). The dispatcher
 * (packages/adapters/src/engine/TriggerDispatcher.ts) triggers it with
 * `{ runId, workspaceId }`; it runs the same loop as the workflow
 * (../RunLoop.ts) against the database at `DATABASE_URL`.
 *
 * The dispatch commits a run before it triggers this task (docs/DECISIONS.md 16),
 * so the task finds its run; a run unknown to the database (a trigger that
 * outlived a dispatch that never stored it) is done at once. The task holds the
 * run's lease while it runs: an attempt Trigger.dev kills stops renewing it, and
 * the run watchdog (./RunWatchdogTask.ts) ends a run no later attempt takes up.
 * An attempt retried by Trigger.dev replays from batch 0: a recorded batch only
 * reports its counts, a claimed one is resumed.
 */
import { AbortTaskRunError, task } from "@trigger.dev/sdk"
import { Config, Effect, Layer, ManagedRuntime, Schema } from "effect"
import { LoggingLive } from "@enrich/adapters/Logging"
import { DatabaseLive, DatabaseUrl } from "@enrich/adapters/postgres/Database"
import { RunCommands } from "@enrich/application/runs/RunCommands"
import { RunWatchdog } from "@enrich/application/runs/RunWatchdog"
import { DeliverWebhooks } from "@enrich/application/webhooks/DeliverWebhooks"
import { Stores } from "@enrich/adapters/Services"
import { RunExecutor } from "../RunExecutor.ts"
import { batchKey, runLoop } from "../RunLoop.ts"

export const EnrichRunPayload = Schema.Struct({ runId: Schema.String, workspaceId: Schema.String })
export type EnrichRunPayload = typeof EnrichRunPayload.Type

/** Executes the run: batches until one claims nothing, then completion. An unknown run ends at once. */
export const executeRun = Effect.fn("executeRun")(
  function* (payload: EnrichRunPayload): Effect.fn.Return<{ readonly batches: number }, never, RunExecutor> {
    const executor = yield* RunExecutor
    if (!(yield* executor.awaitHandOver(payload))) {
      yield* Effect.logWarning("run unknown to the database (its dispatch rolled back): nothing to do")
      return { batches: 0 }
    }
    // the attempt holds the run's lease: an attempt Trigger.dev kills (maxDuration, a crash) stops renewing it,
    // and the run watchdog ends the run if no later attempt takes it up
    return yield* executor.holding(
      payload,
      payload.runId,
      runLoop({
        batch: (n) => executor.runBatch(payload, batchKey(payload.runId, n)),
        finish: () => executor.finish(payload)
      })
    )
  },
  (effect, payload) => Effect.annotateLogs(effect, { runId: payload.runId })
)

/** The executor, the run watchdog and webhook delivery on the adapters' stores; needs a SqlClient. */
export const TaskServicesLive = Layer.mergeAll(RunExecutor.layer, RunWatchdog.layer, DeliverWebhooks.layer).pipe(
  Layer.provide(RunCommands.layer.pipe(Layer.provideMerge(Stores)))
)

/**
 * The task's process: `DATABASE_URL` is required (an embedded database on a
 * Trigger.dev machine would be an empty one), migrations run as in every
 * process, logs as `ENRICH_LOG_FORMAT` / `ENRICH_LOG_LEVEL` say.
 */
export const TaskLive = Layer.mergeAll(TaskServicesLive.pipe(Layer.provide(DatabaseLive)), LoggingLive).pipe(
  Layer.provide(
    Layer.effect(
      DatabaseUrl,
      Effect.map(Config.Redacted("DATABASE_URL"), (url) => DatabaseUrl.of({ url, embedded: false }))
    )
  )
)

/** Built on the first run of this process, kept for the next ones (Trigger.dev reuses warm processes). */
export const runtime = ManagedRuntime.make(TaskLive)

export const enrichRunTask = task({
  id: "enrich-run",
  // the fair share on Trigger.dev: runs are dispatched with the workspace as concurrencyKey, so each workspace
  // executes at most two runs at once and never waits behind another workspace's runs
  concurrency: { perKey: 2 },
  run: async (payload: EnrichRunPayload) =>
    runtime.runPromise(
      Schema.decodeEffect(EnrichRunPayload)(payload).pipe(
        // a payload we did not send: retrying cannot help
        Effect.catch((issue) => Effect.die(new AbortTaskRunError(`invalid payload: ${issue.message}`))),
        Effect.flatMap(executeRun)
      )
    )
})
