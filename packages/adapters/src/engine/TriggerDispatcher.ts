/**
 * Dispatcher on Trigger.dev, the hosted engine: a run is one Trigger.dev run of
 * the `enrich-run` task (packages/worker/src/trigger/EnrichRunTask.ts), which
 * executes the run's batches against our database.
 *
 * Unlike the workflow engine, the call to Trigger.dev is NOT part of our
 * transaction (`joinsTransaction: false`): the dispatch commits the run
 * (pending, its credits held) first and calls `dispatch` with no transaction
 * open, then records the outcome in a transaction of its own. So:
 * - a refusal (any SDK error, a timeout, a missing key) is `DispatchFailed`,
 *   and the dispatch records the run as failed and releases its whole
 *   reservation (the API answers 502 `DISPATCH_FAILED`) — unless the run
 *   started or ended meanwhile, then it is answered as it is;
 * - the task may start before the hand-over is recorded: it finds the run
 *   committed, and the hand-over is recorded whatever the run's status;
 * - a request abandoned at the timeout may still create its Trigger.dev run
 *   later; the task then finds a failed (settled) run and does nothing
 *   (docs/DECISIONS.md, "The Trigger.dev dispatcher").
 *
 * The idempotency key is the run id, so a second dispatch of the same run is
 * deduplicated by Trigger.dev (the SDK sends its SHA-256). The workspace is
 * the `concurrencyKey`, so Trigger.dev keeps a queue per workspace and the
 * task's concurrency limit applies to each apart (the fair share on that
 * engine).
 *
 * Configuration: `TRIGGER_API_URL` (default https://api.trigger.dev),
 * `TRIGGER_SECRET_KEY`, `ENRICH_TRIGGER_TASK_ID` (default `enrich-run`),
 * `ENRICH_TRIGGER_TIMEOUT_MS` (default 10000, the whole call with its retries:
 * the SDK has no timeout) and `ENRICH_TRIGGER_MAX_ATTEMPTS` (default 3, the
 * SDK's attempts for 5xx, 408, 409, 429 and connection errors; other 4xx are
 * not retried). The SDK is loaded when this layer is built, not at import: it
 * is heavy and only this engine needs it.
 */
import { Config, Effect, Layer, Option, Redacted, Schema } from "effect"
import { Dispatcher, DispatchFailed, type RunHandOver } from "@enrich/domain/ports/Dispatcher"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

/** The Trigger.dev settings, from the process configuration. */
export const TriggerConfig = Config.all({
  apiUrl: Config.String("TRIGGER_API_URL").pipe(Config.withDefault("https://api.trigger.dev")),
  secretKey: Config.option(Config.Redacted("TRIGGER_SECRET_KEY")),
  taskId: Config.String("ENRICH_TRIGGER_TASK_ID").pipe(Config.withDefault("enrich-run")),
  timeoutMs: Config.schema(PositiveInt, "ENRICH_TRIGGER_TIMEOUT_MS").pipe(Config.withDefault(10_000)),
  maxAttempts: Config.schema(PositiveInt, "ENRICH_TRIGGER_MAX_ATTEMPTS").pipe(Config.withDefault(3))
})

/** What the task receives. */
export interface EnrichRunPayload {
  readonly runId: string
  readonly workspaceId: string
}

/** "InternalServerError (HTTP 500): boom"; the SDK's errors all share the name TriggerApiError, their classes differ. */
const describe = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error)
  const className = error.constructor.name
  const name = className !== "" && className !== "Error" ? className : error.name
  const status = (error as { readonly status?: unknown }).status
  return `${name}${typeof status === "number" ? ` (HTTP ${status})` : ""}: ${error.message}`
}

export const TriggerDispatcherLive = Layer.effect(
  Dispatcher,
  Effect.gen(function* () {
    const config = yield* TriggerConfig
    const key = Option.filter(config.secretKey, (k) => Redacted.value(k) !== "")
    const { TriggerClient } = yield* Effect.promise(() => import("@trigger.dev/sdk"))
    // a client of its own (never the SDK's process-global `configure`), retries bounded
    const client = Option.map(
      key,
      (accessToken) =>
        new TriggerClient({
          baseURL: config.apiUrl,
          accessToken: Redacted.value(accessToken),
          requestOptions: { retry: { maxAttempts: config.maxAttempts } }
        })
    )

    const trigger = (run: RunHandOver) =>
      Effect.gen(function* () {
        if (Option.isNone(client)) {
          return yield* new DispatchFailed({ message: "Trigger.dev is not configured: TRIGGER_SECRET_KEY is not set" })
        }
        const payload: EnrichRunPayload = { runId: run.runId, workspaceId: run.workspaceId }
        const handle = yield* Effect.tryPromise({
          try: () =>
            client.value.tasks.trigger(config.taskId, payload, {
              idempotencyKey: run.runId,
              // a copy of the task's queue per workspace: one workspace's runs cannot take another's share
              concurrencyKey: run.workspaceId,
              tags: [`workspace_${run.workspaceId}`]
            }),
          catch: (error) => new DispatchFailed({ message: `Trigger.dev refused the run: ${describe(error)}` })
        }).pipe(
          Effect.timeoutOrElse({
            duration: config.timeoutMs,
            orElse: () =>
              Effect.fail(new DispatchFailed({ message: `Trigger.dev did not answer within ${config.timeoutMs} ms` }))
          })
        )
        return { triggerRunId: handle.id }
      })

    return Dispatcher.of({
      engine: "trigger.dev",
      joinsTransaction: false,
      dispatch: (run) =>
        trigger(run).pipe(Effect.withSpan("TriggerDispatcher.dispatch", { attributes: { runId: run.runId } }))
    })
  })
)
