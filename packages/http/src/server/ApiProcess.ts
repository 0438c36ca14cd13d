/** The API-only process: serves HTTP and dispatches runs to the runners registered in the database. */
import { Config, Layer } from "effect"
import { DatabaseLive } from "@enrich/adapters/postgres/Database"
import { ClientOnlyClusterLive, WorkflowDispatcherLive } from "@enrich/adapters/engine/RunWorkflow"
import { ServicesLive } from "@enrich/adapters/Services"
import { serveApi } from "./HttpLive.ts"

export const httpPort = Config.Port("PORT").pipe(Config.withDefault(8787))

export const apiOnly = (options: { readonly port: number }) =>
  serveApi({ port: options.port }).pipe(
    Layer.provide(ServicesLive.pipe(Layer.provide(WorkflowDispatcherLive), Layer.provideMerge(ClientOnlyClusterLive))),
    Layer.provideMerge(DatabaseLive)
  )
