/**
 * The RunStore port: a run's commands on its event stream. `execute` reads the run (or takes what the
 * caller's transaction already knows of it), decides the commands with the domain's decider, appends the
 * events with the expected version and writes the run's read model from them, all in the caller's
 * transaction (or one of its own). It moves no credits: that reaction is the application's
 * (runs/RunCommands.ts), which applies `domain/credits/RunCredits.ts` to what `execute` returns.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { EventMetadata, WrongExpectedVersion } from "@enrich/domain/ports/EventStore"
import { initialState, type RunCommand, type RunCommandRejected, type RunState } from "@enrich/domain/runs/Run"
import type { RunEvent } from "@enrich/domain/runs/RunEvents"
import type { StoreFailure } from "@enrich/domain/ports/StoreFailure"

/** A run's state at a stream version, as a transaction holds it. */
export interface KnownRun {
  readonly state: RunState
  readonly version: number
}

/** What a command did: the events it appended, the run before them (`from`) and after them. */
export interface ExecutedRun extends KnownRun {
  readonly from: RunState
  readonly events: ReadonlyArray<RunEvent>
}

export interface RunCommandInput {
  readonly runId: string
  readonly workspaceId: string
  readonly command: RunCommand | ReadonlyArray<RunCommand>
  readonly metadata?: EventMetadata | undefined
  /**
   * The run as this transaction already holds it — `RunStore.newRun` for a run id never used, or what the
   * previous `execute` of this transaction returned — so it is neither locked nor read again.
   */
  readonly known?: KnownRun | undefined
}

export class RunStore extends Context.Service<
  RunStore,
  {
    /**
     * Decides `command` against the run's history, appends and projects the outcome. Several commands are
     * decided in order and appended together (one append), or refused together. A stale history (another
     * command appended first) is decided again on the history as it is now.
     */
    readonly execute: (
      input: RunCommandInput
    ) => Effect.Effect<ExecutedRun, RunCommandRejected | WrongExpectedVersion | StoreFailure>
    readonly load: (runId: string) => Effect.Effect<RunState, StoreFailure>
    /**
     * Takes the run's stream row for the rest of the caller's transaction (as every command does first)
     * and reads the run: what `execute` then takes as `known`.
     */
    readonly lock: (runId: string) => Effect.Effect<KnownRun, StoreFailure>
  }
>()("@enrich/application/ports/RunStore") {
  /** A run id never used: no stream yet (the append refuses it if one exists). */
  static readonly newRun: KnownRun = { state: initialState, version: 0 }
}
