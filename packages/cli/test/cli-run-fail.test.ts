/**
 * The real `enrich` binary against a real API server (API only: no runner, so nothing ends a run but the
 * operator): `run fail` ends a run stuck running (a batch claimed by a worker that is gone) with its exit
 * codes, and `audit verify` reports a run left unsettled past the watchdog's bound (exit 7) until the
 * operator ends it.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { RunCommands } from "@enrich/application/runs/RunCommands"
import { Persistence } from "@enrich/adapters/Services"
import { CommandMetadata } from "@enrich/domain/ports/EventStore"
import { ADMIN_TOKEN, ApiOnlyTestServer } from "@enrich/http/testing/TestServer"
import { cliFor, runCli } from "./support/Cli.ts"
import { context, promise, testTimeout, workspaceThroughCli } from "./support/CliServer.ts"

/** A workspace (made through the CLI) and a run of email validation over `n` people, dispatched through it. */
const aRun = (baseUrl: string, n: number) =>
  Effect.flatMap(workspaceThroughCli(baseUrl, "Ops", n), ({ cli, workspaceId }) =>
    promise(async () => {
      const leadIds: Array<string> = []
      for (let i = 0; i < n; i++) {
        const lead = await cli(["lead", "create", "--type", "person", "--email", `p${i}@corp.example`])
        assert.strictEqual(lead.code, 0, lead.stderr)
        leadIds.push(lead.json.lead.id)
      }
      const scope = JSON.stringify({ type: "explicit_leads", leadIds })
      const run = await cli(["enrichment", "create", "--enrichment-id", "email_validation", "--scope", scope])
      assert.strictEqual(run.code, 0, run.stderr)
      return { cli, workspaceId, runId: run.json.runId as string }
    })
  )

/** A worker claims the first item (StartBatch, as a worker appends it) and is never heard of again. */
const stuckRunning = (run: { readonly runId: string; readonly workspaceId: string }) =>
  Effect.gen(function* () {
    const runs = yield* RunCommands
    yield* runs.execute({
      runId: run.runId,
      workspaceId: run.workspaceId,
      command: { _tag: "StartBatch", batch: `${run.runId}/batch-0`, ordinals: [1], now: new Date().toISOString() }
    })
  }).pipe(
    Effect.provideService(CommandMetadata, { actor: "test" }),
    Effect.orDie,
    Effect.provide(RunCommands.layer.pipe(Layer.provideMerge(Persistence)))
  )

layer(ApiOnlyTestServer, { timeout: 300_000, excludeTestServices: true })(
  "enrich run fail and the liveness check of audit verify (real binary, API server)",
  (it) => {
    it.effect(
      "run_fail_ends_a_run_stuck_running_prints_it_and_refuses_with_its_exit_codes",
      () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* context
          const run = yield* aRun(baseUrl, 2)
          yield* stuckRunning(run)
          const op = cliFor({ ENRICH_API_URL: baseUrl, ENRICH_ADMIN_TOKEN: ADMIN_TOKEN })
          yield* promise(async () => {
            const before = await run.cli(["enrichment", "status", run.runId])
            assert.strictEqual(before.json.run.status, "running")

            // refused before anything is sent or by the API: the run is untouched
            const [noToken, badToken, tooLong, noReason, unknown] = await Promise.all([
              runCli(["run", "fail", run.runId, "--reason", "x"], { ENRICH_API_URL: baseUrl }),
              op(["run", "fail", run.runId, "--reason", "x"], { ENRICH_ADMIN_TOKEN: "wrong" }),
              op(["run", "fail", run.runId, "--reason", "x".repeat(501)]),
              op(["run", "fail", run.runId]),
              op(["run", "fail", "no-such-run", "--reason", "x"])
            ])
            assert.deepStrictEqual([noToken.code, noToken.error.code], [6, "UNAUTHORIZED"])
            assert.deepStrictEqual([badToken.code, badToken.error.code], [6, "UNAUTHORIZED"])
            assert.deepStrictEqual([tooLong.code, tooLong.error.code], [2, "VALIDATION_FAILED"])
            assert.strictEqual(noReason.code, 2, noReason.stderr)
            assert.deepStrictEqual([unknown.code, unknown.error.code], [3, "NOT_FOUND"])
            assert.strictEqual((await run.cli(["enrichment", "status", run.runId])).json.run.status, "running")

            const reason = "worker lost with the host (INC-7)"
            const ended = await op(["run", "fail", run.runId, "--reason", reason])
            assert.strictEqual(ended.code, 0, ended.stderr)
            assert.deepStrictEqual(Object.keys(ended.json), ["run"])
            assert.strictEqual(ended.json.run.status, "failed")
            assert.strictEqual(ended.json.run.error.message, reason)
            assert.isString(ended.json.run.timing.settledAt)
            assert.deepStrictEqual(ended.json.run.scope.counts, {
              pending: 0,
              running: 0,
              completed: 0,
              skipped: 2,
              failed: 0
            })
            assert.deepStrictEqual(ended.json.run.cost.actual, { reserved: 2, captured: 0, released: 2 })
            // what the workspace's own status command prints
            assert.deepStrictEqual(ended.json, (await run.cli(["enrichment", "status", run.runId])).json)
            assert.deepStrictEqual((await run.cli(["credit", "balance"])).json, {
              balance: 2,
              held: 0,
              captured: 0,
              granted: 2
            })

            const again = await op(["run", "fail", run.runId, "--reason", reason])
            assert.deepStrictEqual([again.code, again.error.code], [4, "RUN_ALREADY_SETTLED"])
            assert.strictEqual(again.stdout, "")
          })
        }),
      testTimeout
    )

    it.effect(
      "audit_verify_reports_a_run_unsettled_past_the_watchdogs_bound_exits_7_and_passes_once_the_operator_ends_it",
      () =>
        Effect.gen(function* () {
          const { baseUrl, databaseUrl } = yield* context
          const sql = yield* SqlClient.SqlClient
          // stuck: running, its only holder's lease expired an hour ago
          const stuck = yield* aRun(baseUrl, 2)
          yield* stuckRunning(stuck)
          yield* sql`INSERT INTO run_leases (run_id, holder, expires_at)
            VALUES (${stuck.runId}, ${stuck.runId}, now() - interval '1 hour')`
          // alive: running too, but its holder's lease is current; and a young run no worker took yet
          const alive = yield* aRun(baseUrl, 1)
          yield* stuckRunning(alive)
          yield* sql`INSERT INTO run_leases (run_id, holder, expires_at)
            VALUES (${alive.runId}, ${alive.runId}, now() - interval '1 hour'),
                   (${alive.runId}, ${`${alive.runId}/p1`}, now() + interval '1 hour')`
          const young = yield* aRun(baseUrl, 1)

          const audit = cliFor({
            DATABASE_URL: databaseUrl,
            ENRICH_RUN_LEASE_SECONDS: "1",
            ENRICH_WATCHDOG_INTERVAL_SECONDS: "1"
          })
          const op = cliFor({ ENRICH_API_URL: baseUrl, ENRICH_ADMIN_TOKEN: ADMIN_TOKEN })
          yield* promise(async () => {
            const overdue = await audit(["audit", "verify"])
            assert.strictEqual(overdue.code, 7, overdue.stdout + overdue.stderr)
            assert.strictEqual(overdue.error.code, "AUDIT_FAILED")
            const report = overdue.error.details
            assert.strictEqual(report.ok, false)
            // the liveness check is the only one that fails
            assert.deepStrictEqual(
              report.violations.map((v: any) => [v.check, v.stream]),
              [["runs_settled_within_bound", `run-${stuck.runId}`]]
            )
            assert.include(report.violations[0].message, `run ${stuck.runId} (running) is not settled`)
            assert.include(report.violations[0].message, "enrich run fail")
            assert.strictEqual(report.overdueRuns.length, 1)
            const [late] = report.overdueRuns
            assert.deepStrictEqual([late.runId, late.status], [stuck.runId, "running"])
            assert.isAtLeast(late.ageSeconds, 0)
            assert.isAtLeast(late.lastLeaseExpiredSecondsAgo, 3590)
            assert.isAtMost(late.lastLeaseExpiredSecondsAgo, 3700)
            // a 1 s lease and a 1 s sweep: the watchdog ends a run within 2 × 1 + 1 s
            assert.strictEqual(report.checked.settlementBoundSeconds, 3)
            assert.isAtLeast(report.checked.unsettledRuns, 3)
            for (const runId of [alive.runId, young.runId]) {
              assert.notInclude(
                report.overdueRuns.map((r: any) => r.runId),
                runId
              )
            }

            // invalid settings are a usage error, not a database one
            const badSettings = await audit(["audit", "verify"], { ENRICH_RUN_LEASE_SECONDS: "soon" })
            assert.deepStrictEqual([badSettings.code, badSettings.error.code], [2, "VALIDATION_FAILED"])

            const ended = await op(["run", "fail", stuck.runId, "--reason", "audit found it overdue"])
            assert.strictEqual(ended.code, 0, ended.stderr)
            const clean = await audit(["audit", "verify"])
            assert.strictEqual(clean.code, 0, clean.stdout + clean.stderr)
            assert.deepStrictEqual([clean.json.ok, clean.json.violations, clean.json.overdueRuns], [true, [], []])
          })
        }),
      testTimeout
    )
  }
)
