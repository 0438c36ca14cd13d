/**
 * The Postgres side of the house as layers: every port the application's use cases and the entry points
 * use, implemented on one SqlClient (with migrations applied). The use cases themselves are composed on top
 * of these by the entry points (application/src/UseCases.ts).
 */
import { Layer } from "effect"
import { CreditLedgerPgLive } from "./postgres/CreditLedger.ts"
import { CreditReadModel } from "./postgres/CreditReadModel.ts"
import { EventStorePgLive } from "./postgres/EventStorePg.ts"
import { IdempotencyKeysPgLive } from "./postgres/IdempotencyKeysPg.ts"
import { ItemBatchesPgLive } from "./postgres/ItemBatchesPg.ts"
import { KeyBudgetsPgLive } from "./postgres/KeyBudgetsPg.ts"
import { LeadDirectoryPgLive } from "./postgres/LeadDirectory.ts"
import { RunDirectoryPgLive } from "./postgres/RunDirectoryPg.ts"
import { RunLivenessPgLive } from "./postgres/RunLeases.ts"
import { RunReadModel } from "./postgres/RunReadModel.ts"
import { RunStorePgLive } from "./postgres/RunStore.ts"
import { TransactionsPgLive } from "./postgres/Transaction.ts"
import { WebhookStorePgLive } from "./postgres/WebhooksPg.ts"
import { Workspaces } from "./postgres/Workspaces.ts"
import { WebhookTransportHttpLive } from "./webhooks/WebhookTransportHttp.ts"
import { ConfiguredCatalogLive } from "@enrich/catalog/CatalogConfig"

const Ledger = CreditLedgerPgLive.pipe(Layer.provideMerge(EventStorePgLive))

/** The Postgres stores and ports, without a catalog (provide one) and without the use cases. */
export const Persistence = Layer.mergeAll(
  Workspaces.layer,
  LeadDirectoryPgLive,
  RunReadModel.layer,
  CreditReadModel.layer,
  RunStorePgLive,
  TransactionsPgLive,
  IdempotencyKeysPgLive,
  RunDirectoryPgLive,
  RunLivenessPgLive,
  ItemBatchesPgLive,
  WebhookStorePgLive,
  KeyBudgetsPgLive
).pipe(Layer.provideMerge(Ledger))

/**
 * The stores, the catalog (built-ins plus ENRICH_CATALOG_FILES) and the way out of webhooks, without the use
 * cases (no Dispatcher): what executing a run and delivering its webhooks need.
 */
export const Stores = Layer.mergeAll(Persistence, ConfiguredCatalogLive, WebhookTransportHttpLive)
