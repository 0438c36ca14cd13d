/**
 * The worker's webhook delivery loop (packages/worker/src/WebhookDelivery.ts) in a process of its own, over
 * the same stores and way out as a worker, without a cluster runner: the bench's webhooks scenario measures
 * what delivering costs dispatch, apart from what executing runs costs it. Stopped by a signal (no drain).
 */
import { Effect, Layer } from "effect"
import { LoggingLive } from "../packages/adapters/src/Logging.ts"
import { DatabaseLive, DatabaseUrl } from "../packages/adapters/src/postgres/Database.ts"
import { Stores } from "../packages/adapters/src/Services.ts"
import { WebhookDeliveryLive } from "../packages/worker/src/WebhookDelivery.ts"

Layer.launch(
  WebhookDeliveryLive.pipe(
    Layer.provide(Stores),
    Layer.provide(DatabaseLive),
    Layer.provide(DatabaseUrl.fromEnv),
    Layer.provide(LoggingLive)
  )
).pipe(Effect.runFork)
