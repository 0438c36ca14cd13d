/**
 * The API-only process: serves HTTP and dispatches runs to the runners
 * registered in the database, or to Trigger.dev (`ENRICH_DISPATCHER=trigger`).
 */
import { Config, Layer } from "effect"
import { DatabaseLive } from "@enrich/adapters/postgres/Database"
import { ClientOnlyClusterLive } from "@enrich/adapters/engine/RunWorkflow"
import { dispatcherFromConfig } from "@enrich/adapters/engine/SelectDispatcher"
import { Stores } from "@enrich/adapters/Services"
import { UseCasesLive } from "@enrich/application/UseCases"
import { serveApi } from "./HttpLive.ts"

export const httpPort = Config.Port("PORT").pipe(Config.withDefault(8787))

export const apiOnly = (options: { readonly port: number }) =>
  serveApi({ port: options.port }).pipe(
    // ENRICH_DISPATCHER: the cluster (client only) for `workflow`, none for `trigger`
    Layer.provide(
      UseCasesLive.pipe(Layer.provideMerge(Stores), Layer.provide(dispatcherFromConfig(ClientOnlyClusterLive)))
    ),
    Layer.provideMerge(DatabaseLive)
  )
