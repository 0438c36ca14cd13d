/**
 * Versioned migrations, run at start-up. Safe to run twice or from two
 * processes at once: the whole run holds a transaction-scoped advisory lock,
 * and the migrator skips what is already applied.
 */
import { Effect, Layer } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import { withoutTimeouts } from "./Transient.ts"
import initial from "./migrations/0001_initial.ts"
import globalOrder from "./migrations/0002_global_order.ts"
import runItemsLead from "./migrations/0003_run_items_lead.ts"
import runSnapshots from "./migrations/0004_run_snapshots.ts"
import runInput from "./migrations/0005_run_input.ts"
import runScopeChunks from "./migrations/0006_run_scope_chunks.ts"
import runBatches from "./migrations/0007_run_batches.ts"
import itemResultsSameResult from "./migrations/0008_item_results_same_result.ts"
import eventIdsStored from "./migrations/0009_event_ids_stored.ts"
import eventsWithoutStreamKey from "./migrations/0010_events_without_stream_key.ts"
import runLeases from "./migrations/0011_run_leases.ts"
import apiKeyAdded from "./migrations/0012_api_key_added.ts"
import webhooks from "./migrations/0013_webhooks.ts"
import runRetries from "./migrations/0014_run_retries.ts"
import apiKeyRestrictions from "./migrations/0015_api_key_restrictions.ts"
import itemResultsInItems from "./migrations/0016_item_results_in_items.ts"

/** Arbitrary constant: the advisory lock id that serialises migrators. */
const MIGRATION_LOCK = 727_431_001

/** Every migration by its name, in order (tests of a migration apply the ones before it). */
export const migrationModules = {
  "0001_initial": initial,
  "0002_global_order": globalOrder,
  "0003_run_items_lead": runItemsLead,
  "0004_run_snapshots": runSnapshots,
  "0005_run_input": runInput,
  "0006_run_scope_chunks": runScopeChunks,
  "0007_run_batches": runBatches,
  "0008_item_results_same_result": itemResultsSameResult,
  "0009_event_ids_stored": eventIdsStored,
  "0010_events_without_stream_key": eventsWithoutStreamKey,
  "0011_run_leases": runLeases,
  "0012_api_key_added": apiKeyAdded,
  "0013_webhooks": webhooks,
  "0014_run_retries": runRetries,
  "0015_api_key_restrictions": apiKeyRestrictions,
  "0016_item_results_in_items": itemResultsInItems
}

export const migrations = Migrator.fromRecord(migrationModules)

export const runMigrations = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql.withTransaction(
    Effect.gen(function* () {
      // the operator's long work: no statement or lock timeout of the connection's (Database.ts)
      yield* withoutTimeouts(sql)
      yield* sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`
      return yield* Migrator.make({})({ loader: migrations })
    })
  )
})

export const MigrationsLive = Layer.effectDiscard(runMigrations.pipe(Effect.orDie))

/** For /readyz: the latest applied migration is the latest this build knows. */
export const latestKnownMigration = 16
