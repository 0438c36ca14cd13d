/** The whole process (API + one cluster runner) on a fresh database, for end-to-end tests. */
import { Effect, Layer } from "effect"
import { freePort } from "@enrich/adapters/postgres/EmbeddedPostgres"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { testServer, testConfig } from "@enrich/http/testing/TestServer"
import { apiAndWorker } from "../../src/App.ts"

/** The whole process, configured by `env` over the test configuration. */
export const fullApp = (env: Record<string, string> = {}) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const runnerPort = yield* Effect.promise(freePort)
      return testServer((port) => apiAndWorker({ port, runner: { host: "127.0.0.1", port: runnerPort } }))
    })
  ).pipe(Layer.provideMerge(TestDatabaseUrl), testConfig(env))

export const FullApp = fullApp()
