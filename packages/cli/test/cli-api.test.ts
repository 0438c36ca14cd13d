/**
 * The real `enrich` binary against a real API server (API only: runs stay pending) on a
 * fresh database: every API command's happy path, its error path and exit code; a CSV
 * import with bad rows whose memory stays flat (ENRICH_TEST_SCALE=50: 100,000 rows); the
 * audit commands on the same database.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { scaled } from "@enrich/domain/testing/TestScale"
import { ADMIN_TOKEN, ApiOnlyTestServer } from "@enrich/http/testing/TestServer"
import { type CliResult, cliFor, installedBin, rssMiB, runCli, startCli } from "./support/Cli.ts"
import { context, promise, testTimeout, workspaceThroughCli } from "./support/CliServer.ts"

/** A workspace made through the CLI; its key drives the workspace commands. */
const workspaceWith = (baseUrl: string, credits: number) => workspaceThroughCli(baseUrl, "Acme", credits)

layer(ApiOnlyTestServer, { timeout: 300_000, excludeTestServices: true })(
  "enrich CLI (real binary, API server)",
  (it) => {
    it.effect(
      "operator_commands_create_workspaces_keys_and_grants_with_exit_codes_per_failure",
      () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* context
          const { workspaceId, cli } = yield* workspaceWith(baseUrl, 10)
          const op = cliFor({ ENRICH_API_URL: baseUrl, ENRICH_ADMIN_TOKEN: ADMIN_TOKEN })
          yield* promise(async () => {
            const [created, granted, negative, unknown, noToken, badToken] = await Promise.all([
              op(["apikey", "create", workspaceId]),
              op(["credit", "grant", workspaceId, "--amount", "5", "--reason", "top-up"]),
              op(["credit", "grant", workspaceId, "--amount", "-1000", "--reason", "too much"]),
              op(["apikey", "list", "no-such-workspace"]),
              runCli(["workspace", "create", "--name", "X"], { ENRICH_API_URL: baseUrl }),
              op(["workspace", "create", "--name", "X"], { ENRICH_ADMIN_TOKEN: "wrong" })
            ])
            assert.strictEqual(created.code, 0, created.stderr)
            assert.match(created.json.apiKey, /.+/)
            assert.deepStrictEqual([granted.code, granted.json.balance], [0, 15])
            assert.deepStrictEqual([negative.code, negative.error.code], [4, "BALANCE_WOULD_BE_NEGATIVE"])
            assert.deepStrictEqual([unknown.code, unknown.error.code], [3, "NOT_FOUND"])
            assert.deepStrictEqual([noToken.code, noToken.error.code], [6, "UNAUTHORIZED"])
            assert.strictEqual(badToken.code, 6, badToken.stderr)

            // a restricted key (DECISIONS.md 69): scopes, a monthly credit limit, an expiry
            const expiresAt = new Date(Date.now() + 86_400_000).toISOString()
            const [restricted, badScope, pastExpiry] = await Promise.all([
              op([
                "apikey",
                "create",
                workspaceId,
                "--scopes",
                "read,preview",
                "--credit-limit",
                "5",
                "--expires-at",
                expiresAt
              ]),
              op(["apikey", "create", workspaceId, "--scopes", "read,admin"]),
              op(["apikey", "create", workspaceId, "--expires-at", "2001-01-01T00:00:00Z"])
            ])
            assert.strictEqual(restricted.code, 0, restricted.stderr)
            assert.deepStrictEqual(
              [restricted.json.scopes, restricted.json.creditLimit, restricted.json.expiresAt],
              [["read", "preview"], 5, expiresAt]
            )
            assert.deepStrictEqual([badScope.code, badScope.error.code], [2, "VALIDATION_FAILED"])
            assert.deepStrictEqual([pastExpiry.code, pastExpiry.error.code], [2, "VALIDATION_FAILED"])
            const reader = cliFor({ ENRICH_API_URL: baseUrl, ENRICH_API_KEY: restricted.json.apiKey })
            const [readable, forbidden] = await Promise.all([
              reader(["credit", "balance"]),
              reader(["list", "create", "--name", "Not mine to make"])
            ])
            assert.deepStrictEqual([readable.code, readable.json.balance], [0, 15])
            assert.deepStrictEqual(
              [forbidden.code, forbidden.error.code, forbidden.error.missingScope],
              [6, "FORBIDDEN", "leads:write"]
            )

            const listed = await op(["apikey", "list", workspaceId])
            assert.strictEqual(listed.json.apiKeys.length, 3)
            const shown = listed.json.apiKeys.find((k: { id: string }) => k.id === restricted.json.id)
            assert.deepStrictEqual(shown.usage, { month: new Date().toISOString().slice(0, 7), used: 0, remaining: 5 })
            const revoked = await op(["apikey", "revoke", created.json.id])
            assert.strictEqual(revoked.code, 0, revoked.stderr)
            assert.isString(revoked.json.revokedAt)
            const withRevoked = await runCli(["credit", "balance"], {
              ENRICH_API_URL: baseUrl,
              ENRICH_API_KEY: created.json.apiKey
            })
            assert.deepStrictEqual([withRevoked.code, withRevoked.error.code], [6, "UNAUTHORIZED"])
            const balance = await cli(["credit", "balance", "--format", "pretty"])
            assert.strictEqual(balance.code, 0)
            assert.include(balance.stdout, '\n  "balance": 15')
          })
        }),
      testTimeout
    )

    it.effect(
      "lead_list_and_credit_commands_take_body_fields_as_kebab_case_flags_and_json_values",
      () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* context
          const { cli } = yield* workspaceWith(baseUrl, 10)
          yield* promise(async () => {
            const grace = await cli([
              "lead",
              "create",
              "--type",
              "person",
              "--email",
              "grace@navy.example",
              "--name",
              "Grace Hopper",
              "--attributes",
              '{"rank":"admiral"}'
            ])
            assert.strictEqual(grace.code, 0, grace.stderr)
            assert.strictEqual(grace.json.matched, false)
            const leadId = grace.json.lead.id as string
            const [again, badType, badJson, listMade, catalog, preview, badPreview] = await Promise.all([
              cli(["lead", "create", "--type", "person", "--email", "grace@navy.example"]),
              cli(["lead", "create", "--type", "robot"]),
              cli(["lead", "create", "--type", "person", "--attributes", "{nope"]),
              cli(["list", "create", "--name", "Prospects", "--lead-ids", leadId]),
              cli(["enrichments", "--id", "email_validation"]),
              cli(["credit", "preview", "--enrichment-id", "email_validation", "--count", "3"]),
              cli(["credit", "preview", "--count", "3"])
            ])
            assert.deepStrictEqual([again.code, again.json.matched], [0, true])
            assert.deepStrictEqual([badType.code, badType.error.code], [2, "USAGE"])
            assert.deepStrictEqual([badJson.code, badJson.error.code], [2, "USAGE"])
            assert.include(badJson.error.message, "--attributes must be JSON")
            assert.strictEqual(listMade.code, 0, listMade.stderr)
            assert.strictEqual(listMade.json.list.leadCount, 1)
            assert.strictEqual(catalog.json.enrichments[0].id, "email_validation")
            assert.deepStrictEqual([preview.code, preview.json.required, preview.json.sufficient], [0, 3, true])
            assert.strictEqual(badPreview.code, 2, badPreview.stderr)
            const listId = listMade.json.list.id as string

            const other = await cli(["lead", "create", "--type", "person", "--email", "ada@example.org"])
            const adaId = other.json.lead.id as string
            const [updated, conflict, searched, added, renamed, lists] = await Promise.all([
              cli(["lead", "update", leadId, "--title", "Rear Admiral", "--attributes", '{"rank":null}']),
              cli(["lead", "update", adaId, "--email", "grace@navy.example"]),
              cli(["lead", "list", "--q", "grace"]),
              cli(["list", "add", listId, "--lead-ids", `["${adaId}"]`]),
              cli(["list", "update", listId, "--name", "Navy", "--description", "null"]),
              cli(["list", "list"])
            ])
            assert.deepStrictEqual(
              [updated.code, updated.json.lead.title, updated.json.lead.attributes],
              [0, "Rear Admiral", {}]
            )
            assert.deepStrictEqual([conflict.code, conflict.error.code], [4, "IDENTITY_CONFLICT"])
            assert.deepStrictEqual(
              searched.json.leads.map((l: any) => l.id),
              [leadId]
            )
            assert.deepStrictEqual([added.code, added.json.added], [0, 1])
            const members = await cli(["list", "leads", listId])
            assert.strictEqual(members.json.total, 2)
            assert.strictEqual(renamed.json.list.name, "Navy")
            assert.deepStrictEqual(
              lists.json.lists.map((l: any) => l.id),
              ["all", listId]
            )

            const [removed, protectedList, gone] = await Promise.all([
              cli(["list", "remove", listId, "--lead-ids", adaId]),
              cli(["list", "delete", "all"]),
              cli(["lead", "delete", "no-such-lead"])
            ])
            assert.deepStrictEqual([removed.code, removed.json.removed], [0, 1])
            assert.deepStrictEqual([protectedList.code, protectedList.error.code], [2, "LIST_PROTECTED"])
            assert.deepStrictEqual([gone.code, gone.error.code], [3, "NOT_FOUND"])
            const [deletedLead, deletedList] = await Promise.all([
              cli(["lead", "delete", adaId]),
              cli(["list", "delete", listId])
            ])
            assert.deepStrictEqual(
              [deletedLead.json, deletedList.json],
              [
                { deleted: true, id: adaId },
                { deleted: true, id: listId }
              ]
            )
            const ledger = await cli(["credit", "ledger", "--limit", "5"])
            assert.strictEqual(ledger.json.entries[0].type, "grant")
            const down = await runCli(["credit", "balance"], {
              ENRICH_API_URL: "http://127.0.0.1:9",
              ENRICH_API_KEY: "k"
            })
            assert.deepStrictEqual([down.code, down.error.code], [5, "NETWORK_ERROR"])
          })
        }),
      testTimeout
    )

    it.effect(
      "enrichment_commands_dispatch_list_status_cancel_and_refuse_with_their_codes",
      () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* context
          const { cli } = yield* workspaceWith(baseUrl, 3)
          yield* promise(async () => {
            const lead = await cli(["lead", "create", "--type", "person", "--email", "run@corp.example"])
            const scope = JSON.stringify({ type: "explicit_leads", leadIds: [lead.json.lead.id] })
            const created = await cli([
              "enrichment",
              "create",
              "--enrichment-id",
              "email_validation",
              "--scope",
              scope,
              "--idempotency-key",
              "k-1"
            ])
            assert.strictEqual(created.code, 0, created.stderr)
            const runId = created.json.runId as string
            const [replayed, reused, tooDear, badScope, status, listed, missing] = await Promise.all([
              cli([
                "enrichment",
                "create",
                "--enrichment-id",
                "email_validation",
                "--scope",
                scope,
                "--idempotency-key",
                "k-1"
              ]),
              cli([
                "enrichment",
                "create",
                "--enrichment-id",
                "company_domain",
                "--scope",
                scope,
                "--idempotency-key",
                "k-1"
              ]),
              cli([
                "enrichment",
                "create",
                "--enrichment-id",
                "email_validation",
                "--scope",
                JSON.stringify({ type: "list", listId: "all" })
              ]),
              cli(["enrichment", "create", "--enrichment-id", "email_validation", "--scope", '{"type":"nope"}']),
              cli(["enrichment", "status", runId]),
              cli(["enrichment", "list", "--status", "pending"]),
              cli(["enrichment", "status", "no-such-run"])
            ])
            assert.deepStrictEqual([replayed.code, replayed.json.reusedExistingRun], [0, true])
            assert.deepStrictEqual([reused.code, reused.error.code], [4, "IDEMPOTENCY_KEY_REUSED"])
            assert.strictEqual(tooDear.code === 0 || tooDear.code === 4, true, tooDear.stderr)
            assert.strictEqual(badScope.code, 2, badScope.stderr)
            assert.strictEqual(status.json.run.status, "pending")
            assert.include(
              listed.json.runs.map((r: any) => r.id),
              runId
            )
            assert.deepStrictEqual([missing.code, missing.error.code], [3, "NOT_FOUND"])
            const cancelled = await cli(["enrichment", "cancel", runId])
            assert.deepStrictEqual([cancelled.code, cancelled.json.run.status], [0, "cancelled"])
            const again = await cli(["enrichment", "cancel", runId])
            assert.deepStrictEqual([again.code, again.error.code], [4, "RUN_NOT_CANCELLABLE"])
            const page = await cli(["enrichment", "results", runId])
            assert.strictEqual(page.json.items[0].skippedReason, "run_cancelled")
          })
        }),
      testTimeout
    )

    it.effect(
      "lead_import_streams_a_csv_in_batches_lands_the_good_rows_reports_the_bad_ones_by_row_and_stays_flat_in_memory",
      () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* context
          const sql = yield* SqlClient.SqlClient
          const { cli, workspaceId, apiKey } = yield* workspaceWith(baseUrl, 0)
          const rows = scaled(2_000)
          const dir = mkdtempSync(join(tmpdir(), "enrich-import-"))
          const file = join(dir, "leads.csv")
          const bad = new Map<number, string>()
          const lines = ["Mail,Full Name,company,score,type"]
          for (let row = 1; row <= rows; row++) {
            if (row % 97 === 0) {
              bad.set(row, "type")
              lines.push(`row${row}@corp.example,"Robot, ${row}",Corp,${row},robot`)
            } else if (row % 151 === 0) {
              bad.set(row, "name.full")
              lines.push(`row${row}@corp.example,${"x".repeat(2_100)},Corp,${row},person`)
            } else {
              lines.push(`row${row}@corp.example,"Person ""${row}""",Corp,${row},person`)
            }
          }
          writeFileSync(file, `${lines.join("\n")}\n`)
          const list = yield* promise(() => cli(["list", "create", "--name", "Imported"]))
          // the importer as installed (the bundle), its resident memory sampled while it runs:
          // it must not grow with the file
          const installed = yield* promise(installedBin)
          const importer = startCli(
            [
              "lead",
              "import",
              file,
              "--list",
              list.json.list.id,
              "--map",
              "Mail=email",
              "--map",
              "Full Name=name.full",
              "--map",
              "score=attributes.score",
              "--batch-size",
              String(Math.min(5000, Math.ceil(rows / 3)))
            ],
            { ENRICH_API_URL: baseUrl, ENRICH_API_KEY: apiKey },
            { bin: installed }
          )
          // sampled every 50 ms with the rows imported so far (its progress lines on stderr)
          const started = Date.now()
          const samples: Array<{ readonly rows: number; readonly rss: number }> = []
          const sampler = setInterval(() => {
            const rss = rssMiB(importer.pid)
            const done = [...importer.stderr().matchAll(/^imported \d+\/(\d+) rows/gm)].pop()?.[1]
            if (rss !== undefined) samples.push({ rows: Number(done ?? 0), rss })
          }, 50)
          const code = yield* promise(() => importer.exited)
          clearInterval(sampler)
          const seconds = (Date.now() - started) / 1000
          const imported = {
            code,
            stdout: importer.stdout(),
            stderr: importer.stderr(),
            json: JSON.parse(importer.stdout())
          }
          assert.strictEqual(imported.code, 0, imported.stderr)
          // flat: the second half of the file takes no more memory than the first (which includes
          // start-up and the warm-up of V8's heap)
          const peak = (xs: ReadonlyArray<{ readonly rss: number }>) => Math.max(0, ...xs.map((x) => x.rss))
          const memory = {
            rows,
            seconds,
            rowsPerSecond: Math.round(rows / seconds),
            samples: samples.length,
            startUpMiB: Math.round(samples[0]?.rss ?? 0),
            firstHalfPeakMiB: Math.round(peak(samples.filter((x) => x.rows <= rows / 2))),
            secondHalfPeakMiB: Math.round(peak(samples.filter((x) => x.rows > rows / 2))),
            lastMiB: Math.round(samples[samples.length - 1]?.rss ?? 0),
            /** the peak while each batch was in the making, by the rows imported before it */
            byRows: Object.fromEntries(
              [...new Set(samples.map((x) => x.rows))].map((done) => [
                done,
                Math.round(peak(samples.filter((x) => x.rows === done)))
              ])
            )
          }
          console.log(`lead import memory: ${JSON.stringify(memory)}`)
          if (samples.some((x) => x.rows > rows / 2)) {
            assert.isBelow(memory.secondHalfPeakMiB - memory.firstHalfPeakMiB, 20, JSON.stringify(memory))
          }
          assert.deepStrictEqual(
            [imported.json.rows, imported.json.created, imported.json.rejected],
            [rows, rows - bad.size, bad.size]
          )
          assert.include(imported.stderr, "imported")
          const rejected = readFileSync(`${file}.rejected.jsonl`, "utf8")
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l))
          assert.deepStrictEqual(
            rejected.map((r) => r.row).sort((a, b) => a - b),
            [...bad.keys()].sort((a, b) => a - b)
          )
          for (const r of rejected) assert.strictEqual(r.reasons[0].path, bad.get(r.row), JSON.stringify(r))
          const [landed] = yield* sql<{ n: number; members: number }>`SELECT
        (SELECT count(*)::int FROM leads WHERE workspace_id = ${workspaceId}) AS n,
        (SELECT count(*)::int FROM list_memberships WHERE list_id = ${list.json.list.id}) AS members`
          assert.deepStrictEqual([landed!.n, landed!.members], [rows - bad.size, rows - bad.size])
          const sample = yield* promise(() => cli(["lead", "list", "--q", "row1@corp.example", "--limit", "1"]))
          assert.strictEqual(sample.json.leads[0].name.full, 'Person "1"')
          assert.strictEqual(sample.json.leads[0].attributes.score, "1")

          const missing = yield* promise(() => cli(["lead", "import", join(dir, "nope.csv")]))
          assert.deepStrictEqual([missing.code, missing.error.code], [2, "VALIDATION_FAILED"])
          const noList = yield* promise(() => cli(["lead", "import", file, "--list", "no-such-list"]))
          assert.deepStrictEqual([noList.code, noList.error.code], [2, "LIST_NOT_FOUND"])
        }),
      scaled(testTimeout)
    )

    it.effect(
      "every_other_command_refuses_with_the_exit_code_of_its_failure",
      () =>
        Effect.gen(function* () {
          const { baseUrl, databaseUrl } = yield* context
          const { cli } = yield* workspaceWith(baseUrl, 1)
          const op = cliFor({ ENRICH_API_URL: baseUrl, ENRICH_ADMIN_TOKEN: ADMIN_TOKEN })
          const db = cliFor({ DATABASE_URL: databaseUrl })
          yield* promise(async () => {
            const cases: ReadonlyArray<readonly [string, Promise<CliResult>, number, string]> = [
              ["enrichment list", cli(["enrichment", "list", "--limit", "0"]), 2, "VALIDATION_FAILED"],
              ["enrichment results", cli(["enrichment", "results", "no-such-run"]), 3, "NOT_FOUND"],
              ["enrichments", cli(["enrichments"], { ENRICH_API_KEY: "wrong" }), 6, "UNAUTHORIZED"],
              ["lead list", cli(["lead", "list", "--limit", "0"]), 2, "VALIDATION_FAILED"],
              ["list list", cli(["list", "list"], { ENRICH_API_KEY: "" }), 6, "UNAUTHORIZED"],
              ["list leads", cli(["list", "leads", "no-such-list"]), 3, "NOT_FOUND"],
              ["list add", cli(["list", "add", "no-such-list", "--lead-ids", "x"]), 3, "NOT_FOUND"],
              ["list remove", cli(["list", "remove", "no-such-list", "--lead-ids", "x"]), 3, "NOT_FOUND"],
              ["list update", cli(["list", "update", "no-such-list", "--name", "X"]), 3, "NOT_FOUND"],
              ["credit ledger", cli(["credit", "ledger", "--limit", "0"]), 2, "VALIDATION_FAILED"],
              ["apikey create", op(["apikey", "create", "no-such-workspace"]), 3, "NOT_FOUND"],
              ["apikey revoke", op(["apikey", "revoke", "no-such-key"]), 3, "NOT_FOUND"],
              ["unknown command", cli(["enrichment", "explode"]), 2, "USAGE"],
              ["replay without --rebuild", db(["replay"]), 2, "USAGE"],
              ["migrate without a database", runCli(["migrate"]), 2, "VALIDATION_FAILED"],
              [
                "migrate on an unreachable database",
                runCli(["migrate"], { DATABASE_URL: "postgres://postgres@127.0.0.1:9/nope" }),
                5,
                "DATABASE_ERROR"
              ]
            ]
            const results = await Promise.all(cases.map(([, result]) => result))
            const actual = cases.map(([name], i) => [name, results[i]!.code, results[i]!.error?.code])
            assert.deepStrictEqual(
              actual,
              cases.map(([name, , code, error]) => [name, code, error])
            )
            // failures print nothing on stdout (but a usage error, which prints the command's help there)
            results.forEach((r, i) => {
              if (cases[i]![3] !== "USAGE") assert.strictEqual(r.stdout, "", `${cases[i]![0]}: nothing on stdout`)
            })
          })
        }),
      testTimeout
    )

    it.effect(
      "audit_run_names_the_cancel_who_asked_and_the_credits_released",
      () =>
        Effect.gen(function* () {
          const { baseUrl, databaseUrl } = yield* context
          const { cli } = yield* workspaceWith(baseUrl, 5)
          const audit = cliFor({ DATABASE_URL: databaseUrl })
          yield* promise(async () => {
            const lead = await cli(["lead", "create", "--type", "person", "--email", "audit@corp.example"])
            const scope = JSON.stringify({ type: "explicit_leads", leadIds: [lead.json.lead.id] })
            const run = await cli(["enrichment", "create", "--enrichment-id", "email_validation", "--scope", scope])
            const runId = run.json.runId as string
            await cli(["enrichment", "cancel", runId])
            const report = await audit(["audit", "run", runId])
            assert.strictEqual(report.code, 0, report.stderr)
            assert.strictEqual(report.json.run.status, "cancelled")
            assert.match(report.json.cancelledBy.actor, /^api-key:/)
            assert.deepStrictEqual(report.json.credits, { held: 1, captured: 0, released: 1 })
            assert.deepStrictEqual(
              report.json.timeline.map((t: any) => t.type),
              // the dispatch transaction appends the run's request and hand-over together, then the hold
              [
                "RunRequested",
                "RunDispatched",
                "CreditsHeld",
                "RunCancelled",
                "CreditsSettled",
                "CreditsReleased"
              ].filter((t) => report.json.timeline.some((x: any) => x.type === t))
            )
            const cancel = report.json.timeline.find((t: any) => t.type === "RunCancelled")
            assert.isString(cancel.requestId)
            const released = report.json.timeline.find((t: any) => t.type === "CreditsReleased")
            assert.deepStrictEqual([released.amount, released.stream], [1, "credits"])
            const pretty = await audit(["audit", "run", runId, "--format", "pretty"])
            assert.include(pretty.stdout, `cancelled by ${cancel.actor}`)
            assert.include(pretty.stdout, "1 released")
            const [missing, noDb] = await Promise.all([
              audit(["audit", "run", "no-such-run"]),
              runCli(["audit", "run", runId])
            ])
            assert.deepStrictEqual([missing.code, missing.error.code], [3, "NOT_FOUND"])
            assert.deepStrictEqual([noDb.code, noDb.error.code], [2, "VALIDATION_FAILED"])
          })
        }),
      testTimeout
    )

    it.effect(
      "audit_verify_passes_then_fails_precisely_after_a_corrupted_row_a_deleted_event_and_an_event_without_a_stream",
      () =>
        Effect.gen(function* () {
          const { databaseUrl } = yield* context
          const sql = yield* SqlClient.SqlClient
          const audit = cliFor({ DATABASE_URL: databaseUrl })
          const [migrated, replayed] = yield* promise(() =>
            Promise.all([audit(["migrate"]), audit(["replay", "--rebuild"])])
          )
          assert.deepStrictEqual([migrated.code, migrated.json.applied], [0, []], migrated.stderr)
          assert.strictEqual(replayed.code, 0, replayed.stderr)
          assert.isAbove(replayed.json.replayedEvents, 0)
          assert.match(replayed.stderr, /replayed (\d+)\/\1 events \(100%\) · \d+ events\/s/)
          const clean = yield* promise(() => audit(["audit", "verify"]))
          assert.strictEqual(clean.code, 0, clean.stdout + clean.stderr)
          assert.deepStrictEqual([clean.json.ok, clean.json.violations], [true, []])
          assert.isAbove(clean.json.checked.runs, 0)

          const [victim] = yield* sql<{ id: string }>`SELECT id FROM enrichment_runs ORDER BY id LIMIT 1`
          yield* sql`UPDATE enrichment_runs SET count_completed = count_completed + 1 WHERE id = ${victim!.id}`
          const corrupted = yield* promise(() => audit(["audit", "verify"]))
          assert.strictEqual(corrupted.code, 7, corrupted.stderr)
          const report = corrupted.error.details
          assert.strictEqual(report.ok, false)
          assert.includeDeepMembers(
            report.violations.map((v: any) => [v.check, v.stream ?? null]),
            [
              ["projection_matches_events", `run-${victim!.id}`],
              ["projections_equal_rebuild", null]
            ]
          )
          assert.include(
            report.violations.find((v: any) => v.check === "projection_matches_events").message,
            "enrichment_runs.completed is 1, the events say 0"
          )
          assert.strictEqual(report.tableDiffs[0].table, "enrichment_runs")
          assert.strictEqual(report.tableDiffs[0].onlyProjected[0].id, victim!.id)
          const after = yield* sql<{
            n: number
          }>`SELECT count_completed AS n FROM enrichment_runs WHERE id = ${victim!.id}`
          assert.strictEqual(after[0]!.n, 1, "verify rolled its rebuild back")
          yield* sql`UPDATE enrichment_runs SET count_completed = count_completed - 1 WHERE id = ${victim!.id}`

          const [event] = yield* sql<{ stream_id: string; stream_version: number }>`SELECT stream_id, stream_version
        FROM events WHERE type = 'RunCancelled' ORDER BY global_position LIMIT 1`
          yield* sql`DELETE FROM events WHERE stream_id = ${event!.stream_id} AND stream_version = ${event!.stream_version}`
          const deleted = yield* promise(() => audit(["audit", "verify"]))
          assert.strictEqual(deleted.code, 7, deleted.stderr)
          const checks = deleted.error.details.violations.map((v: any) => `${v.check} ${v.stream ?? ""}: ${v.message}`)
          assert.include(
            checks.join("\n"),
            `stream_contiguous ${event!.stream_id}: version ${event!.stream_version} is missing`
          )
          assert.include(checks.join("\n"), "projections_equal_rebuild")

          // an event of a stream that has no row (no foreign key refuses it since migration 0010)
          yield* sql`INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, data, metadata)
            SELECT 'run-orphan', 1, gen_random_uuid(), type, schema_version, data, metadata
            FROM events WHERE type = 'RunRequested' ORDER BY global_position LIMIT 1`
          const orphaned = yield* promise(() => audit(["audit", "verify"]))
          assert.strictEqual(orphaned.code, 7, orphaned.stderr)
          assert.deepInclude(
            orphaned.error.details.violations.find((v: any) => v.check === "events_have_a_stream"),
            { stream: "run-orphan", message: "1 event(s) of a stream that has no event_streams row" }
          )
        }),
      testTimeout
    )
  }
)
