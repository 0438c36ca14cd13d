/**
 * The application services on Postgres, as one layer. Needs a SqlClient (with
 * migrations applied) and a Dispatcher.
 */
import { Layer } from "effect"
import { CreditLedgerPgLive } from "./postgres/CreditLedger.ts"
import { CreditReadModel } from "./postgres/CreditReadModel.ts"
import { EventStorePgLive } from "./postgres/EventStorePg.ts"
import { LeadDirectoryPgLive } from "./postgres/LeadDirectory.ts"
import { RunReadModel } from "./postgres/RunReadModel.ts"
import { RunStore } from "./postgres/RunStore.ts"
import { Workspaces } from "./postgres/Workspaces.ts"
import { ConfiguredCatalogLive } from "@enrich/catalog/CatalogConfig"
import { CancelRun } from "./runs/CancelRun.ts"
import { DispatchRun } from "./runs/DispatchRun.ts"
import { RunWatchdog } from "./runs/RunWatchdog.ts"

const Ledger = CreditLedgerPgLive.pipe(Layer.provideMerge(EventStorePgLive))

/** The Postgres stores, without a catalog (provide one) and without the use cases. */
export const Persistence = Layer.mergeAll(
  Workspaces.layer,
  LeadDirectoryPgLive,
  RunReadModel.layer,
  CreditReadModel.layer,
  RunStore.layer
).pipe(Layer.provideMerge(Ledger))

/**
 * The stores and the catalog (built-ins plus ENRICH_CATALOG_FILES) without the use cases (no Dispatcher): what
 * executing a run needs.
 */
export const Stores = Layer.merge(Persistence, ConfiguredCatalogLive)

export const ServicesLive = Layer.mergeAll(DispatchRun.layer, CancelRun.layer, RunWatchdog.layer).pipe(
  Layer.provideMerge(Stores)
)
