/**
 * The run watchdog where runs execute on Trigger.dev (a deployment may have no runner of its own to run
 * the cluster's): a scheduled task, deployed with `enrich-run`, that sweeps the unsettled runs every
 * minute (@enrich/application/runs/RunWatchdog; rules in domain/runs/Liveness.ts). An attempt of `enrich-run`
 * that Trigger.dev kills (maxDuration, a crash) stops renewing its run's lease; if no later attempt takes
 * the run up, this sweep ends it within a lease and a minute.
 */
import { schedules } from "@trigger.dev/sdk"
import { Effect } from "effect"
import { RunWatchdog } from "@enrich/application/runs/RunWatchdog"
import { runtime } from "./EnrichRunTask.ts"

export const runWatchdogTask = schedules.task({
  id: "enrich-run-watchdog",
  cron: "* * * * *",
  run: async () => runtime.runPromise(Effect.flatMap(RunWatchdog, (watchdog) => watchdog.sweep))
})
