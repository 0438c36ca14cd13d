/**
 * The run watchdog in the real process (`pnpm start`'s composition: API and a cluster runner): the runner
 * takes the watchdog singleton and sweeps on its own. A run handed to an engine that never starts it
 * (here: a dispatcher that writes no workflow) ends `failed` once its start timeout passes, its credits
 * released, and its live SSE stream ends with the settlement.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { DispatchRun } from "@enrich/application/runs/DispatchRun"
import { Persistence } from "@enrich/adapters/Services"
import { RunCommands } from "@enrich/application/runs/RunCommands"
import { ConfiguredCatalogLive } from "@enrich/catalog/CatalogConfig"
import { Dispatcher } from "@enrich/domain/ports/Dispatcher"
import { eventually } from "@enrich/http/testing/HttpTestClient"
import { ADMIN_TOKEN, TestServer } from "@enrich/http/testing/TestServer"
import { dispatchAll } from "./support/Failures.ts"
import { fullApp } from "./support/FullApp.ts"

const App = fullApp({
  ENRICH_RUN_LEASE_SECONDS: "1",
  ENRICH_WATCHDOG_INTERVAL_SECONDS: "1",
  ENRICH_RUN_START_TIMEOUT_SECONDS: "3"
})

/** A dispatch whose engine accepts the run and never starts it (a lost message, a queue that never drains). */
const LostHandOver = Layer.fresh(DispatchRun.layer).pipe(
  Layer.provide(
    Layer.succeed(Dispatcher, {
      engine: "nowhere",
      joinsTransaction: true,
      dispatch: () => Effect.succeed({ triggerRunId: "lost" })
    })
  ),
  Layer.provide(Layer.merge(RunCommands.layer.pipe(Layer.provideMerge(Persistence)), ConfiguredCatalogLive))
)

layer(App, { timeout: 60_000, excludeTestServices: true })("Run watchdog in the process (integration)", (it) => {
  it.effect("a_run_no_worker_ever_starts_ends_failed_after_its_start_timeout_and_its_stream_ends", () =>
    Effect.gen(function* () {
      const api = yield* TestServer
      const ws = yield* Effect.promise(() =>
        api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "nowhere", credits: 3 } })
      )
      const key = ws.body.apiKey as string
      const workspaceId = ws.body.workspace.id as string
      yield* Effect.promise(() =>
        api.post("/api/lists/import", {
          key,
          body: { leads: ["a@corp.example", "b@corp.example"].map((email) => ({ type: "person", email })) }
        })
      )
      const runId = yield* dispatchAll(workspaceId, "email_validation").pipe(Effect.provide(LostHandOver))
      // a client follows the run live; the stream must end when the run is settled
      const stream = fetch(`${api.baseUrl}/api/enrichment/${runId}/events`, {
        headers: { authorization: `Bearer ${key}`, accept: "text/event-stream" }
      }).then((r) => r.text())
      const run = yield* Effect.promise(() =>
        eventually(async () => {
          const r = (await api.get(`/api/enrichment/${runId}`, { key })).body.run
          return r.timing.settledAt === null ? undefined : r
        }, 30_000)
      )
      assert.strictEqual(run.status, "failed", JSON.stringify(run))
      assert.match(run.error.message, /no worker started the run within 3 s/)
      assert.deepStrictEqual(run.scope.counts, { pending: 0, running: 0, completed: 0, skipped: 2, failed: 0 })
      const balance = yield* Effect.promise(() => api.get("/api/credits", { key }))
      assert.strictEqual(balance.body.held, 0, JSON.stringify(balance.body))
      const sent = yield* Effect.promise(() => stream)
      assert.include(sent, '"settledAt":"', "the stream's last snapshot is the settled one, then it ended")
    })
  )
})
