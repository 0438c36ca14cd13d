/**
 * The application services on Postgres, as one layer. Needs a SqlClient (with
 * migrations applied) and a Dispatcher.
 */
import { Layer } from "effect"
import { EventStorePgLive } from "./postgres/EventStorePg.ts"
import { LeadDirectory } from "./postgres/LeadDirectory.ts"
import { RunReadModel } from "./postgres/RunReadModel.ts"
import { RunStore } from "./postgres/RunStore.ts"
import { Workspaces } from "./postgres/Workspaces.ts"
import { Catalog } from "./providers/Catalog.ts"
import { DispatchRun } from "./runs/DispatchRun.ts"

const Stores = Layer.mergeAll(
  Workspaces.layer,
  LeadDirectory.layer,
  RunReadModel.layer,
  RunStore.layer.pipe(Layer.provide(EventStorePgLive)),
  Catalog.layer
)

export const ServicesLive = DispatchRun.layer.pipe(Layer.provideMerge(Stores))
