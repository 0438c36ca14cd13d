/** The whole process (API + one cluster runner) on a fresh database, for end-to-end tests. */
import { Effect, Layer } from "effect"
import { freePort } from "@enrich/adapters/postgres/EmbeddedPostgres"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { serveApi } from "@enrich/http/server/HttpLive"
import { testServer, testConfig } from "@enrich/http/testing/TestServer"
import { onRunner, type RunnerAddress, WorkerLive } from "../../src/App.ts"

/**
 * API + runner in one process: what the composition root's `apiAndWorker` builds
 * (`@enrich/server/App`), which the worker's tests cannot import (that package depends on this one).
 */
export const apiAndWorker = (options: { readonly port: number; readonly runner: RunnerAddress }) =>
  onRunner(options.runner, Layer.merge(serveApi({ port: options.port }), WorkerLive))

/** The whole process, configured by `env` over the test configuration. */
export const fullApp = (env: Record<string, string> = {}) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const runnerPort = yield* Effect.promise(freePort)
      return testServer((port) => apiAndWorker({ port, runner: { host: "127.0.0.1", port: runnerPort } }))
    })
  ).pipe(Layer.provideMerge(TestDatabaseUrl), testConfig(env))

export const FullApp = fullApp()
