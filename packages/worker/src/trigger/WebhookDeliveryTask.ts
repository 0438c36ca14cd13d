/**
 * Webhook delivery where runs execute on Trigger.dev (a deployment may have no runner of its own, whose
 * delivery loop would send them): a scheduled task, deployed with `enrich-run`, that every minute delivers
 * what is due until nothing is, for at most 50 s (../WebhookDelivery.ts `deliverDue`). A delivery is sent
 * within about a minute of its run's settlement, and its retries as they fall due.
 */
import { schedules } from "@trigger.dev/sdk"
import { deliverDue } from "../WebhookDelivery.ts"
import { runtime } from "./EnrichRunTask.ts"

export const webhookDeliveryTask = schedules.task({
  id: "enrich-webhook-delivery",
  cron: "* * * * *",
  maxDuration: 120,
  run: async () => runtime.runPromise(deliverDue(50_000))
})
