/**
 * The RunLiveness port: what the run watchdog reads of a run's holders (the leases whatever executes a run
 * keeps alive, with the database's clock, so processes with skewed clocks agree on what expired) and of its
 * running items, and the one thing it writes besides the run's events: the error of an item it fails.
 */
import { Config, Context } from "effect"
import type { Effect } from "effect"
import type { StoreFailure } from "@enrich/domain/ports/StoreFailure"

/** `ENRICH_RUN_LEASE_SECONDS` (default 60): a holder that has not renewed its lease for this long is gone. */
export const LeaseConfig = Config.Int("ENRICH_RUN_LEASE_SECONDS").pipe(
  Config.withDefault(60),
  Config.map((seconds) => ({ leaseMs: Math.max(1, seconds) * 1000 }))
)

/** An unsettled run; `suspicious`: some holder of it is gone, or none took it for a lease already. */
export interface UnsettledRun {
  readonly runId: string
  readonly workspaceId: string
  readonly suspicious: boolean
}

/** A running item: the batch that claimed it (its claim token), and how long ago it started. */
export interface RunningItem {
  readonly id: string
  readonly leadId: string
  readonly batch: string
  readonly ordinal: number
  readonly attempts: number
  readonly startedAgoMs: number
}

export class RunLiveness extends Context.Service<
  RunLiveness,
  {
    /** Every unsettled run, with whether it looks abandoned after `leaseMs`. */
    readonly unsettled: (leaseMs: number) => Effect.Effect<ReadonlyArray<UnsettledRun>, StoreFailure>
    /**
     * The run's running items in ordinal order; `lock`: taken for the rest of the caller's transaction, before
     * the run's stream row (the order a batch's record takes them in).
     */
    readonly runningItems: (runId: string, lock: boolean) => Effect.Effect<ReadonlyArray<RunningItem>, StoreFailure>
    /** The run's holders, and whether each one's lease is alive. */
    readonly leases: (
      runId: string
    ) => Effect.Effect<ReadonlyArray<{ readonly holder: string; readonly alive: boolean }>, StoreFailure>
    /** How long ago the run was requested (0 for a run not found). */
    readonly ageMs: (runId: string) => Effect.Effect<number, StoreFailure>
    /** Items that fail as the run goes on: their error, kept where their Lead still is. */
    readonly recordItemErrors: (
      runId: string,
      workspaceId: string,
      items: ReadonlyArray<{ readonly id: string; readonly leadId: string; readonly message: string }>,
      at: string
    ) => Effect.Effect<void, StoreFailure>
    /** Takes or renews `holder`'s lease on the run for `leaseMs` from now (the database's clock). */
    readonly renewLease: (runId: string, holder: string, leaseMs: number) => Effect.Effect<void, StoreFailure>
    /** Drops the leases of settled runs: nothing reads them any more. */
    readonly dropSettledLeases: Effect.Effect<void, StoreFailure>
  }
>()("@enrich/application/ports/RunLiveness") {}
