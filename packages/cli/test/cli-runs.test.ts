/**
 * The real `enrich` binary against the whole service (API + worker): runs complete, so
 * `create --watch` follows the SSE stream to the end, `results` exports, and `audit verify`
 * holds after a mixed workload.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { DatabaseUrl } from "@enrich/adapters/postgres/Database"
import { freePort } from "@enrich/adapters/postgres/EmbeddedPostgres"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { ADMIN_TOKEN, TestServer, testServer, testConfig } from "@enrich/http/testing/TestServer"
import { apiAndWorker } from "@enrich/server/App"
import { cliFor, runCli } from "./support/Cli.ts"
import { testTimeout } from "./support/CliServer.ts"

const FullApp = Layer.unwrap(
  Effect.gen(function* () {
    const runnerPort = yield* Effect.promise(freePort)
    return testServer((port) => apiAndWorker({ port, runner: { host: "127.0.0.1", port: runnerPort } }))
  })
).pipe(Layer.provideMerge(TestDatabaseUrl), testConfig({ ENRICH_BATCH_SIZE: "2" }))

layer(FullApp, { timeout: 300_000, excludeTestServices: true })("enrich CLI (real binary, API + worker)", (it) => {
  it.effect(
    "create_watch_follows_the_run_to_its_summary_results_export_as_csv_and_jsonl_and_audit_verify_holds",
    () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServer
        const databaseUrl = Redacted.value((yield* DatabaseUrl).url)
        yield* Effect.promise(async () => {
          const made = await runCli(["workspace", "create", "--name", "Runs", "--credits", "20"], {
            ENRICH_API_URL: baseUrl,
            ENRICH_ADMIN_TOKEN: ADMIN_TOKEN
          })
          const cli = cliFor({ ENRICH_API_URL: baseUrl, ENRICH_API_KEY: made.json.apiKey })
          const list = await cli(["list", "create", "--name", "Tour"])
          const listId = list.json.list.id as string
          const leads = [
            { type: "person", email: "Grace.Hopper@Navy.mil", name: { full: 'Grace, "Amazing" Hopper' } },
            { type: "person", email: "someone@mailinator.com" },
            { type: "person", email: "not an email" },
            { type: "person", email: "info@example.org" },
            { type: "person", email: "ada@lovelace.example" }
          ]
          const imported = await fetch(`${baseUrl}/api/lists/import`, {
            method: "POST",
            headers: { authorization: `Bearer ${made.json.apiKey}`, "content-type": "application/json" },
            body: JSON.stringify({ listId, leads })
          })
          assert.strictEqual(imported.status, 200)

          const watched = await cli([
            "enrichment",
            "create",
            "--enrichment-id",
            "email_validation",
            "--scope",
            JSON.stringify({ type: "list", listId }),
            "--watch"
          ])
          assert.strictEqual(watched.code, 0, watched.stderr)
          assert.strictEqual(watched.json.status, "completed")
          assert.deepStrictEqual(watched.json.counts, { pending: 0, running: 0, completed: 5, skipped: 0, failed: 0 })
          assert.deepStrictEqual(watched.json.credits, { reserved: 5, captured: 5, released: 0 })
          assert.match(
            watched.stderr,
            /\[#+\] 5\/5 completed · completed 5 failed 0 skipped 0 running 0 · [\d.]+\/s · ETA 0s · credits 5 reserved, 5 captured, 0 released/
          )
          const runId = watched.json.id as string

          const [csv, jsonl, again, cancel, missing] = await Promise.all([
            cli(["enrichment", "results", runId, "--format", "csv"]),
            cli(["enrichment", "results", runId, "--format", "jsonl"]),
            cli(["enrichment", "watch", runId]),
            cli(["enrichment", "cancel", runId]),
            cli(["enrichment", "watch", "no-such-run"])
          ])
          const rows = csv.stdout.trim().split("\n")
          assert.strictEqual(
            rows[0],
            "itemId,runId,leadId,listId,status,skippedReason,error,attempts,result,startedAt,completedAt"
          )
          assert.strictEqual(rows.length, 6)
          assert.match(rows[1]!, new RegExp(`^${runId}\\.\\d+,${runId},`))
          assert.include(rows[1]!, ',"{""')
          const items = jsonl.stdout
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l))
          assert.deepStrictEqual(
            items.map((i) => i.status),
            ["completed", "completed", "completed", "completed", "completed"]
          )
          assert.deepStrictEqual([again.code, again.json.status], [0, "completed"])
          assert.deepStrictEqual([cancel.code, cancel.error.code], [4, "RUN_NOT_CANCELLABLE"])
          assert.deepStrictEqual([missing.code, missing.error.code], [3, "NOT_FOUND"])

          // a mixed workload: a completed run, a cancelled one, a grant; the history and the read models agree
          const second = await cli([
            "enrichment",
            "create",
            "--enrichment-id",
            "email_validation",
            "--scope",
            JSON.stringify({ type: "list", listId })
          ])
          await cli(["enrichment", "cancel", second.json.runId])
          await cli(["enrichment", "watch", second.json.runId])
          const verified = await runCli(["audit", "verify"], { DATABASE_URL: databaseUrl })
          assert.strictEqual(verified.code, 0, verified.stdout + verified.stderr)
          assert.deepStrictEqual([verified.json.ok, verified.json.checked.runs], [true, 2])
        })
      }),
    testTimeout
  )
})
