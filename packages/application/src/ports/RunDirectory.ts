/**
 * The RunDirectory port: what the use cases look up of a run that exists — whose it is, and how a
 * dispatch that made it answered.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { StoreFailure } from "@enrich/domain/ports/StoreFailure"
import type { OutputTarget } from "@enrich/domain/catalog/Enrichment"
import type { WritePolicy } from "@enrich/domain/runs/RunEvents"

export interface RunEntry {
  readonly workspaceId: string
  readonly status: string
  readonly leadCount: number
  /** the engine's id of the run (Trigger.dev's), when it has one */
  readonly triggerRunId: string | null
}

/** What a run was asked to do, and how far it got: what a retry of it repeats (runs/RetryRun.ts). */
export interface RunRequestRecord {
  readonly status: string
  readonly settled: boolean
  readonly failedCount: number
  readonly enrichmentId: string
  readonly input: { readonly [key: string]: unknown }
  readonly output: {
    readonly target: OutputTarget
    readonly attributeKey: string
    readonly writePolicy: WritePolicy
  }
  readonly displayRequest: { readonly fieldId: string } | null
  /** the List of its scope, if it named one (`all` included) */
  readonly listId: string | null
}

export class RunDirectory extends Context.Service<
  RunDirectory,
  {
    /** The run, in `workspaceId` only when given (another workspace's run is not found). */
    readonly find: (runId: string, workspaceId?: string) => Effect.Effect<RunEntry | undefined, StoreFailure>
    /** The run's request and progress, in `workspaceId` only. */
    readonly request: (runId: string, workspaceId: string) => Effect.Effect<RunRequestRecord | undefined, StoreFailure>
    /**
     * Waits, in the caller's transaction, until no dispatch transaction holds the run's hand-over: what an
     * engine outside the database does before it reads its run (adapters/engine/HandOver.ts).
     */
    readonly awaitHandOver: (runId: string) => Effect.Effect<void, StoreFailure>
  }
>()("@enrich/application/ports/RunDirectory") {}
