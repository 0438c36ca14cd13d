/**
 * The run watchdog on the cluster: one runner at a time (a cluster singleton, moved to another runner
 * when its runner stops) sweeps the unsettled runs every ENRICH_WATCHDOG_INTERVAL_SECONDS
 * (@enrich/application/runs/RunWatchdog; rules in domain/runs/Liveness.ts). A runner that takes the
 * singleton first waits one lease: the workflows of a runner that died are moved to the live runners
 * meanwhile and renew their leases, so a run the cluster is about to resume is not taken for lost.
 */
import { Effect } from "effect"
import { Singleton } from "effect/cluster"
import { RunWatchdog } from "@enrich/application/runs/RunWatchdog"

export const WatchdogLive = Singleton.make(
  "enrich-run-watchdog",
  Effect.gen(function* () {
    const watchdog = yield* RunWatchdog
    yield* Effect.sleep(watchdog.policy.leaseMs)
    return yield* watchdog.sweep.pipe(Effect.andThen(Effect.sleep(watchdog.intervalMs)), Effect.forever)
  })
)
