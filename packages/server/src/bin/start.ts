/** `pnpm start`: the HTTP API and a worker (one cluster runner) in one process. */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import { LoggingLive } from "@enrich/adapters/Logging"
import { httpPort } from "@enrich/http/server/ApiProcess"
import { runnerAddress } from "@enrich/worker/bin/config"
import { apiAndWorker, DatabaseUrl } from "../App.ts"

Layer.launch(
  Layer.unwrap(
    Effect.gen(function* () {
      const port = yield* httpPort
      const runner = yield* runnerAddress
      return apiAndWorker({ port, runner })
    })
  ).pipe(Layer.provide(DatabaseUrl.fromEnv), Layer.provide(LoggingLive))
).pipe(NodeRuntime.runMain)
