/**
 * The Trigger.dev dispatcher against a local stand-in of Trigger.dev's API,
 * through the real SDK (@trigger.dev/sdk 4.8.3): what goes over the wire, and
 * every way a trigger can fail becoming `DispatchFailed`.
 */
import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { Dispatcher, DispatchFailed } from "@enrich/domain/ports/Dispatcher"
import { freePort } from "../../src/postgres/EmbeddedPostgres.ts"
import { TriggerDispatcherLive } from "../../src/engine/TriggerDispatcher.ts"
import { uuidv7 } from "@enrich/domain/Ids"
import { TestDatabaseLive } from "../support/TestDatabase.ts"
import { TriggerStandIn, triggerPayload, triggers } from "../support/TriggerStandIn.ts"

const KEY = "tr_dev_test"

/** A dispatcher on the stand-in, configured by `env` (only: the process environment is not read). */
const dispatcherWith = (env: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const standIn = yield* TriggerStandIn
    const context = yield* Layer.build(
      TriggerDispatcherLive.pipe(
        Layer.provide(
          ConfigProvider.layer(
            ConfigProvider.fromUnknown({ TRIGGER_API_URL: standIn.url, TRIGGER_SECRET_KEY: KEY, ...env })
          )
        )
      )
    )
    return Context.get(context, Dispatcher)
  })

const aRun = () => ({ runId: uuidv7(), workspaceId: uuidv7() })

/** Runs `effect`, returning its failure and how long it took. */
const timedFailure = <A>(effect: Effect.Effect<A, DispatchFailed>) =>
  Effect.gen(function* () {
    const started = Date.now()
    const failure = yield* Effect.flip(effect)
    return { failure, elapsed: Date.now() - started }
  })

/** The stand-in's requests made while `effect` ran. */
const requestsDuring = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const standIn = yield* TriggerStandIn
    const before = standIn.requests().length
    const result = yield* effect
    return { result, requests: triggers(standIn.requests().slice(before)) }
  })

layer(Layer.mergeAll(TestDatabaseLive, TriggerStandIn.layer), { timeout: 120_000, excludeTestServices: true })(
  "TriggerDispatcher (real SDK, local stand-in of Trigger.dev)",
  (it) => {
    it.effect("a_dispatch_triggers_the_task_with_the_run_as_payload_and_the_run_id_as_idempotency_key", () =>
      Effect.gen(function* () {
        const standIn = yield* TriggerStandIn
        standIn.answer({ _tag: "Accept" })
        const dispatcher = yield* dispatcherWith()
        const run = aRun()
        const { result, requests } = yield* requestsDuring(dispatcher.dispatch(run))
        assert.strictEqual(dispatcher.engine, "trigger.dev")
        assert.strictEqual(requests.length, 1)
        const [request] = requests
        assert.strictEqual(request!.path, "/api/v1/tasks/enrich-run/trigger")
        assert.strictEqual(request!.headers["authorization"], `Bearer ${KEY}`)
        assert.strictEqual(request!.body.payload, JSON.stringify({ json: run }))
        assert.deepStrictEqual(triggerPayload(request!), run)
        const options = request!.body.options
        assert.strictEqual(options.payloadType, "application/super+json")
        assert.strictEqual(options.idempotencyKey, createHash("sha256").update(run.runId).digest("hex"))
        assert.strictEqual(options.idempotencyKeyOptions.key, run.runId)
        assert.deepStrictEqual(options.tags, [`workspace_${run.workspaceId}`])
        assert.strictEqual(options.concurrencyKey, run.workspaceId, "one queue per workspace: the fair share")
        assert.match(result.triggerRunId, /^run_standin\d+$/)
      })
    )

    it.effect("a_second_dispatch_of_the_same_run_is_deduplicated_by_its_idempotency_key", () =>
      Effect.gen(function* () {
        const standIn = yield* TriggerStandIn
        standIn.answer({ _tag: "Accept" })
        const dispatcher = yield* dispatcherWith({ ENRICH_TRIGGER_TASK_ID: "enrich-run-staging" })
        const run = aRun()
        const first = yield* dispatcher.dispatch(run)
        const { result: second, requests } = yield* requestsDuring(dispatcher.dispatch(run))
        assert.strictEqual(second.triggerRunId, first.triggerRunId)
        assert.strictEqual(requests[0]!.path, "/api/v1/tasks/enrich-run-staging/trigger")
        assert.strictEqual(
          requests[0]!.body.options.idempotencyKey,
          createHash("sha256").update(run.runId).digest("hex")
        )
      })
    )

    it.effect("a_500_is_dispatch_failed_after_the_configured_attempts", () =>
      Effect.gen(function* () {
        const standIn = yield* TriggerStandIn
        standIn.answer({ _tag: "Refuse", status: 500, error: "boom" })
        const dispatcher = yield* dispatcherWith({ ENRICH_TRIGGER_MAX_ATTEMPTS: "2" })
        const { result, requests } = yield* requestsDuring(timedFailure(dispatcher.dispatch(aRun())))
        assert.instanceOf(result.failure, DispatchFailed)
        assert.strictEqual(requests.length, 2)
        assert.strictEqual(result.failure.message, "Trigger.dev refused the run: InternalServerError (HTTP 500): boom")
        // the SDK waits 1 s before its second attempt
        assert.isAtLeast(result.elapsed, 900)
      })
    )

    it.effect("a_4xx_is_dispatch_failed_at_once_without_retries", () =>
      Effect.gen(function* () {
        const standIn = yield* TriggerStandIn
        standIn.answer({ _tag: "Refuse", status: 400, error: "Invalid payload" })
        const dispatcher = yield* dispatcherWith({ ENRICH_TRIGGER_MAX_ATTEMPTS: "3" })
        const { result, requests } = yield* requestsDuring(timedFailure(dispatcher.dispatch(aRun())))
        assert.strictEqual(requests.length, 1)
        assert.strictEqual(
          result.failure.message,
          "Trigger.dev refused the run: BadRequestError (HTTP 400): Invalid payload"
        )
        assert.isBelow(result.elapsed, 900)

        standIn.answer({ _tag: "Refuse", status: 401, error: "Invalid API key" })
        const { result: unauthorized } = yield* requestsDuring(timedFailure(dispatcher.dispatch(aRun())))
        assert.include(unauthorized.failure.message, "AuthenticationError (HTTP 401): Invalid API key")
      })
    )

    it.effect("a_hung_trigger_is_dispatch_failed_after_the_timeout", () =>
      Effect.gen(function* () {
        const standIn = yield* TriggerStandIn
        standIn.answer({ _tag: "Hang" })
        const dispatcher = yield* dispatcherWith({ ENRICH_TRIGGER_TIMEOUT_MS: "300" })
        const { result, requests } = yield* requestsDuring(timedFailure(dispatcher.dispatch(aRun())))
        assert.strictEqual(requests.length, 1)
        assert.strictEqual(result.failure.message, "Trigger.dev did not answer within 300 ms")
        assert.isAtLeast(result.elapsed, 290)
        assert.isBelow(result.elapsed, 5_000)
      })
    )

    it.effect("an_unreachable_api_is_dispatch_failed", () =>
      Effect.gen(function* () {
        const port = yield* Effect.promise(freePort)
        const dispatcher = yield* dispatcherWith({
          TRIGGER_API_URL: `http://127.0.0.1:${port}`,
          ENRICH_TRIGGER_MAX_ATTEMPTS: "1"
        })
        const { failure } = yield* timedFailure(dispatcher.dispatch(aRun()))
        assert.strictEqual(failure.message, "Trigger.dev refused the run: ApiConnectionError: Connection error.")
      })
    )

    it.effect("a_missing_secret_key_is_dispatch_failed_without_a_request", () =>
      Effect.gen(function* () {
        const dispatcher = yield* dispatcherWith({ TRIGGER_SECRET_KEY: "" })
        const { result, requests } = yield* requestsDuring(timedFailure(dispatcher.dispatch(aRun())))
        assert.strictEqual(requests.length, 0)
        assert.strictEqual(result.failure.message, "Trigger.dev is not configured: TRIGGER_SECRET_KEY is not set")
      })
    )

    it.effect("bad_settings_fail_the_layer", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(dispatcherWith({ ENRICH_TRIGGER_MAX_ATTEMPTS: "0" }))
        assert.include(String(error), "ENRICH_TRIGGER_MAX_ATTEMPTS")
      })
    )
  }
)
