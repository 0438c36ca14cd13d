/** An API-only process: serves HTTP and dispatches runs to the worker processes (needs a shared DATABASE_URL). */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import { LoggingLive } from "@enrich/adapters/Logging"
import { DatabaseUrl } from "@enrich/adapters/postgres/Database"
import { apiOnly, httpPort } from "../server/ApiProcess.ts"

Layer.launch(
  Layer.unwrap(Effect.map(httpPort, (port) => apiOnly({ port }))).pipe(
    Layer.provide(DatabaseUrl.fromEnv),
    Layer.provide(LoggingLive)
  )
).pipe(NodeRuntime.runMain)
