/** A worker process: one cluster runner executing enrichment runs (needs DATABASE_URL shared with the API). */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import { LoggingLive } from "@enrich/adapters/Logging"
import { DatabaseUrl, workerOnly } from "../App.ts"
import { runnerAddress } from "./config.ts"

Layer.launch(
  Layer.unwrap(Effect.map(runnerAddress, (runner) => workerOnly({ runner }))).pipe(
    Layer.provide(DatabaseUrl.fromEnv),
    Layer.provide(LoggingLive)
  )
).pipe(NodeRuntime.runMain)
