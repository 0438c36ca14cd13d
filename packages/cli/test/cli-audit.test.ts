/**
 * The real `enrich` binary on the database of the whole service (API + worker): `audit credits`
 * explains a workspace's ledger after a grant, a debit, a completed `chargeOn: "found"` run
 * with Leads not found, and a cancelled run, and its sums match the API's ledger;
 * `events tail` prints the log, filters by stream and, with `--follow`, sees a later append
 * and exits 0 on SIGINT; `replay --rebuild` reports progress and rebuilds what verify expects.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { freePort } from "@enrich/adapters/postgres/EmbeddedPostgres"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { ADMIN_TOKEN, testConfig, testServer } from "@enrich/http/testing/TestServer"
import { apiAndWorker } from "@enrich/server/App"
import { cliFor, runCli, startCli } from "./support/Cli.ts"
import { context, promise, testTimeout } from "./support/CliServer.ts"

const FullApp = Layer.unwrap(
  Effect.gen(function* () {
    const runnerPort = yield* Effect.promise(freePort)
    return testServer((port) => apiAndWorker({ port, runner: { host: "127.0.0.1", port: runnerPort } }))
  })
).pipe(Layer.provideMerge(TestDatabaseUrl), testConfig({ ENRICH_BATCH_SIZE: "2" }))

interface Workload {
  readonly workspaceId: string
  readonly apiKey: string
  /** completed, chargeOn found: 4 of 6 companies have a domain */
  readonly found: {
    readonly runId: string
    readonly foundOrdinals: ReadonlyArray<number>
    readonly foundLeads: ReadonlyArray<string>
  }
  /** 200 companies, cancelled once its first items are done */
  readonly cancelled: { readonly runId: string }
}

/** A grant, a top-up, a debit, a completed run with Leads not found, a cancelled run. Made once per file. */
let made: Promise<Workload> | undefined
const workload = (baseUrl: string) =>
  promise(() => {
    made ??= (async () => {
      const created = await runCli(["workspace", "create", "--name", "Ledger", "--credits", "300"], {
        ENRICH_API_URL: baseUrl,
        ENRICH_ADMIN_TOKEN: ADMIN_TOKEN
      })
      assert.strictEqual(created.code, 0, created.stderr)
      const workspaceId = created.json.workspace.id as string
      const apiKey = created.json.apiKey as string
      const op = cliFor({ ENRICH_API_URL: baseUrl, ENRICH_ADMIN_TOKEN: ADMIN_TOKEN })
      const topUp = await op(["credit", "grant", workspaceId, "--amount", "20", "--reason", "top-up"])
      assert.strictEqual(topUp.code, 0, topUp.stderr)
      const debit = await op(["credit", "grant", workspaceId, "--amount", "-7", "--reason", "refund reversal"])
      assert.strictEqual(debit.code, 0, debit.stderr)

      const call = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`${baseUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
          ...(body === undefined ? {} : { body: JSON.stringify(body) })
        })
        const json = (await response.json()) as any
        assert.isBelow(response.status, 300, JSON.stringify(json))
        return json
      }
      const list = async (name: string, leads: ReadonlyArray<unknown>) => {
        const made = await call("POST", "/api/lists", { name, leadType: "company" })
        await call("POST", "/api/lists/import", { listId: made.list.id, leads })
        return made.list.id as string
      }
      const small = await list("Companies", [
        { type: "company", company: { name: "Acme" }, domain: "acme.com" },
        { type: "company", company: { name: "Nameless One" } },
        { type: "company", company: { name: "Globex" }, domain: "https://www.globex.io/about" },
        { type: "company", company: { name: "Initech" }, domain: "initech.co.uk" },
        { type: "company", company: { name: "Nameless Two" } },
        { type: "company", company: { name: "Umbrella" }, attributes: { website: "umbrella.org" } }
      ])
      const cli = cliFor({ ENRICH_API_URL: baseUrl, ENRICH_API_KEY: apiKey })
      const watched = await cli([
        "enrichment",
        "create",
        "--enrichment-id",
        "company_domain",
        "--scope",
        JSON.stringify({ type: "list", listId: small }),
        "--idempotency-key",
        "found-run",
        "--watch"
      ])
      assert.strictEqual(watched.code, 0, watched.stderr)
      assert.deepStrictEqual(watched.json.credits, { reserved: 6, captured: 4, released: 2 })
      const runId = watched.json.id as string
      const items = (await cli(["enrichment", "results", runId, "--format", "jsonl"])).stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
      const foundItems = items.filter((i) => i.status === "completed" && i.result.found === true)
      assert.strictEqual(foundItems.length, 4)

      // a large run, cancelled at once: most of it never starts
      const big = await list(
        "Many companies",
        Array.from({ length: 200 }, (_, i) => ({
          type: "company",
          company: { name: `Co ${i}` },
          domain: `company-${i}.com`
        }))
      )
      const dispatched = await call("POST", "/api/enrichment", {
        enrichmentId: "company_domain",
        scope: { type: "list", listId: big }
      })
      // cancelled once its first items are done: some captured, the rest released
      for (let i = 0; i < 500; i++) {
        const status = await call("GET", `/api/enrichment/${dispatched.runId}`)
        if (status.run.scope.counts.completed > 0) break
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      const cancelled = await call("POST", `/api/enrichment/${dispatched.runId}/cancel`)
      assert.strictEqual(cancelled.run.status, "cancelled")
      const settled = await cli(["enrichment", "watch", dispatched.runId])
      assert.strictEqual(settled.code, 0, settled.stderr)
      return {
        workspaceId,
        apiKey,
        found: {
          runId,
          foundOrdinals: foundItems.map((i) => Number(String(i.id).split(".")[1])).sort((a, b) => a - b),
          foundLeads: foundItems.map((i) => i.leadId as string).sort()
        },
        cancelled: { runId: dispatched.runId as string }
      }
    })()
    return made
  })

const ranges = (ordinals: ReadonlyArray<number>) =>
  ordinals
    .reduce<Array<[number, number]>>((acc, o) => {
      const last = acc[acc.length - 1]
      if (last !== undefined && last[1] === o - 1) last[1] = o
      else acc.push([o, o])
      return acc
    }, [])
    .map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`))
    .join(",")

layer(FullApp, { timeout: 300_000, excludeTestServices: true })("enrich CLI on the event store (real binary)", (it) => {
  it.effect(
    "audit_credits_explains_every_line_by_run_actor_and_items_and_its_sums_match_the_api_ledger",
    () =>
      Effect.gen(function* () {
        const { baseUrl, databaseUrl } = yield* context
        const w = yield* workload(baseUrl)
        const audit = cliFor({ DATABASE_URL: databaseUrl })
        const cli = cliFor({ ENRICH_API_URL: baseUrl, ENRICH_API_KEY: w.apiKey })
        yield* promise(async () => {
          const [report, ledger, balance] = await Promise.all([
            audit(["audit", "credits", w.workspaceId]),
            cli(["credit", "ledger", "--limit", "100"]),
            cli(["credit", "balance"])
          ])
          assert.strictEqual(report.code, 0, report.stderr)
          const r = report.json
          const lines: Array<any> = r.lines
          assert.deepStrictEqual(
            lines.map((l) => [l.type, l.amount]),
            [
              ["grant", 300],
              ["grant", 20],
              ["debit", 7],
              ["reserve", 6],
              ["capture", 4],
              ["release", 2],
              ["reserve", 200],
              ...lines.slice(7).map((l) => [l.type, l.amount])
            ]
          )
          assert.deepStrictEqual(
            lines.slice(7).map((l) => l.type),
            lines.slice(7).some((l) => l.type === "capture") ? ["capture", "release"] : ["release"]
          )

          // the sums and every line match GET /api/credits/ledger (which leaves out lines of 0)
          assert.strictEqual(ledger.code, 0, ledger.stderr)
          assert.strictEqual(ledger.json.hasMore, false)
          const api: Array<any> = ledger.json.entries
          const sum = (entries: Array<any>, type: string) =>
            entries.filter((e) => e.type === type).reduce((n, e) => n + e.amount, 0)
          for (const type of ["grant", "debit", "reserve", "capture", "release"]) {
            assert.strictEqual(sum(lines, type), sum(api, type), type)
          }
          assert.deepStrictEqual(
            {
              granted: r.totals.granted,
              debited: r.totals.debited,
              reserved: r.totals.reserved,
              captured: r.totals.captured,
              released: r.totals.released
            },
            {
              granted: sum(api, "grant"),
              debited: sum(api, "debit"),
              reserved: sum(api, "reserve"),
              captured: sum(api, "capture"),
              released: sum(api, "release")
            }
          )
          const byId = new Map(lines.map((l) => [l.eventId, l]))
          for (const entry of api) {
            const line = byId.get(entry.id)
            assert.isDefined(line, `ledger entry ${entry.id} has an audit line`)
            assert.deepStrictEqual(
              [line.type, line.amount, line.runId, line.at],
              [entry.type, entry.amount, entry.runId, entry.createdAt]
            )
          }
          assert.strictEqual(r.closing.balance, balance.json.balance)
          assert.deepStrictEqual(r.opening, { balance: 0, granted: 0, held: 0, captured: 0 })
          assert.strictEqual(lines[lines.length - 1].balance, balance.json.balance)
          assert.strictEqual(r.closing.held, 0)
          // the running balance: grant 300, +20, -7, reserve 6 → 307, capture keeps it, release 2 → 309, …
          assert.deepStrictEqual(
            lines.slice(0, 6).map((l) => [l.balance, l.held]),
            [
              [300, 0],
              [320, 0],
              [313, 0],
              [307, 6],
              [307, 2],
              [309, 0]
            ]
          )

          // who asked
          assert.deepStrictEqual(
            [lines[0].actor, lines[1].reason, lines[2].reason],
            ["admin", "top-up", "refund reversal"]
          )
          const reserve = lines[3]
          assert.strictEqual(reserve.runId, w.found.runId)
          assert.strictEqual(reserve.enrichmentId, "company_domain")
          assert.match(reserve.actor, /^api-key:/)
          assert.isString(reserve.requestId)
          assert.strictEqual(reserve.correlationId, w.found.runId)
          assert.deepStrictEqual(reserve.items, [{ reason: "scope", count: 6, ordinals: "1-6" }])
          const run = r.runs[w.found.runId]
          assert.deepStrictEqual(
            [
              run.chargeOn,
              run.unitCost,
              run.leadCount,
              run.status,
              run.matchesSettlement,
              run.requestedBy.idempotencyKey
            ],
            ["found", 1, 6, "completed", true, "found-run"]
          )
          assert.strictEqual(run.requestedBy.actor, reserve.actor)

          // which items the capture charged, and why the release went back
          const capture = lines[4]
          assert.deepStrictEqual(capture.items, [
            { reason: "found", count: 4, ordinals: ranges(w.found.foundOrdinals) }
          ])
          assert.include(
            capture.explanation,
            `captured 4 for run ${w.found.runId}: items ${ranges(w.found.foundOrdinals)}`
          )
          const notFound = [1, 2, 3, 4, 5, 6].filter((o) => !w.found.foundOrdinals.includes(o))
          assert.deepStrictEqual(lines[5].items, [{ reason: "not_found", count: 2, ordinals: ranges(notFound) }])
          assert.include(lines[5].explanation, `released 2 for run ${w.found.runId}: 2 not found (${ranges(notFound)})`)

          // the cancelled run: its release names the cancel and who asked; captured + released = reserved
          const cancelledLines = lines.filter((l) => l.runId === w.cancelled.runId)
          const cancelledRun = r.runs[w.cancelled.runId]
          assert.strictEqual(cancelledRun.status, "cancelled")
          assert.strictEqual(cancelledRun.stoppedBy.event, "RunCancelled")
          assert.match(cancelledRun.stoppedBy.actor, /^api-key:/)
          assert.isString(cancelledRun.stoppedBy.requestId)
          const released = cancelledLines.find((l) => l.type === "release")
          const skipped = released.items.find((g: any) => g.reason === "run_cancelled")
          assert.isAbove(skipped.count, 0)
          const capturedB = cancelledLines.find((l) => l.type === "capture")?.amount ?? 0
          assert.strictEqual(capturedB + released.amount, 200)
          assert.strictEqual(
            released.items.reduce((n: number, g: any) => n + g.count, 0),
            released.amount,
            "one credit per released item"
          )
          assert.include(released.explanation, `skipped, run cancelled`)
          assert.include(released.explanation, `cancelled by ${cancelledRun.stoppedBy.actor}`)

          // the table
          const pretty = await audit(["audit", "credits", w.workspaceId, "--format", "pretty"])
          assert.strictEqual(pretty.code, 0, pretty.stderr)
          assert.include(pretty.stdout, `captured 4 for run ${w.found.runId}: items ${ranges(w.found.foundOrdinals)}`)
          assert.include(pretty.stdout, `closing balance ${balance.json.balance} (`)
          assert.match(
            pretty.stdout,
            /totals: \d+ lines; granted 320, debited 7, reserved 206, captured \d+, released \d+/
          )
          assert.include(pretty.stdout, `cancelled by ${cancelledRun.stoppedBy.actor}`)

          // --leads: the Leads behind the capture
          const withLeads = await audit(["audit", "credits", w.workspaceId, "--leads"])
          const leadCapture = withLeads.json.lines.find((l: any) => l.type === "capture" && l.runId === w.found.runId)
          assert.deepStrictEqual([...leadCapture.items[0].leadIds].sort(), [...w.found.foundLeads])
        })
      }),
    testTimeout
  )

  it.effect(
    "audit_credits_windows_by_time_and_refuses_unknown_workspaces_and_bad_times_with_their_codes",
    () =>
      Effect.gen(function* () {
        const { baseUrl, databaseUrl } = yield* context
        const w = yield* workload(baseUrl)
        const audit = cliFor({ DATABASE_URL: databaseUrl })
        yield* promise(async () => {
          const all = (await audit(["audit", "credits", w.workspaceId])).json
          const reserveB = all.lines.find((l: any) => l.type === "reserve" && l.runId === w.cancelled.runId)
          const firstReserve = all.lines.find((l: any) => l.type === "reserve")
          const [since, until, between, unknown, badTime, reversed, noDb] = await Promise.all([
            audit(["audit", "credits", w.workspaceId, "--from", reserveB.at]),
            audit(["audit", "credits", w.workspaceId, "--to", firstReserve.at]),
            audit(["audit", "credits", w.workspaceId, "--from", firstReserve.at, "--to", reserveB.at]),
            audit(["audit", "credits", "no-such-workspace"]),
            audit(["audit", "credits", w.workspaceId, "--from", "last tuesday"]),
            audit(["audit", "credits", w.workspaceId, "--from", reserveB.at, "--to", firstReserve.at]),
            runCli(["audit", "credits", w.workspaceId])
          ])
          assert.strictEqual(since.code, 0, since.stderr)
          assert.deepStrictEqual(since.json.window, { from: reserveB.at, to: null })
          assert.isTrue(since.json.lines.every((l: any) => l.at >= reserveB.at))
          assert.strictEqual(since.json.lines[0].eventId, reserveB.eventId)
          const before = all.lines[all.lines.indexOf(all.lines.find((l: any) => l.eventId === reserveB.eventId)) - 1]
          assert.strictEqual(since.json.opening.balance, before.balance)
          assert.strictEqual(since.json.closing.balance, all.closing.balance)
          assert.strictEqual(since.json.totals.granted, 0)

          assert.deepStrictEqual(
            until.json.lines.map((l: any) => l.type),
            ["grant", "grant", "debit"]
          )
          assert.deepStrictEqual(
            [until.json.totals.granted, until.json.totals.debited, until.json.closing.balance],
            [320, 7, 313]
          )
          assert.deepStrictEqual(
            between.json.lines.map((l: any) => [l.type, l.runId]),
            [
              ["reserve", w.found.runId],
              ["capture", w.found.runId],
              ["release", w.found.runId]
            ]
          )
          assert.deepStrictEqual([between.json.opening.balance, between.json.closing.balance], [313, 309])

          assert.deepStrictEqual([unknown.code, unknown.error.code], [3, "NOT_FOUND"])
          assert.deepStrictEqual([badTime.code, badTime.error.code], [2, "VALIDATION_FAILED"])
          assert.include(badTime.error.message, "--from must be an ISO-8601 time")
          assert.deepStrictEqual([reversed.code, reversed.error.code], [2, "VALIDATION_FAILED"])
          assert.deepStrictEqual([noDb.code, noDb.error.code], [2, "VALIDATION_FAILED"])
        })
      }),
    testTimeout
  )

  it.effect(
    "events_tail_prints_the_log_filters_by_stream_and_follows_a_later_append_until_sigint",
    () =>
      Effect.gen(function* () {
        const { baseUrl, databaseUrl } = yield* context
        const sql = yield* SqlClient.SqlClient
        const w = yield* workload(baseUrl)
        const tail = cliFor({ DATABASE_URL: databaseUrl })
        const [{ n: total }] = (yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM events`) as [{ n: number }]
        const [{ n: creditEvents }] = (yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM events
            WHERE stream_id = ${`credits-${w.workspaceId}`}`) as [{ n: number }]
        yield* promise(async () => {
          const parse = (text: string) =>
            text
              .trim()
              .split("\n")
              .filter((l) => l !== "")
              .map((l) => JSON.parse(l))
          const [everything, credits, run, unknown, badFrom] = await Promise.all([
            tail(["events", "tail"]),
            tail(["events", "tail", "--stream", `credits-${w.workspaceId}`]),
            tail(["events", "tail", "--stream", `run-${w.found.runId}`]),
            tail(["events", "tail", "--stream", "run-nope"]),
            tail(["events", "tail", "--from", "yesterday"])
          ])
          assert.strictEqual(everything.code, 0, everything.stderr)
          const events = parse(everything.stdout)
          assert.strictEqual(events.length, total)
          assert.strictEqual(new Set(events.map((e) => e.position)).size, total, "each event once")
          const first = events.find((e) => e.type === "RunRequested")
          assert.deepStrictEqual(Object.keys(first), [
            "position",
            "stream",
            "version",
            "type",
            "schemaVersion",
            "eventId",
            "time",
            "metadata",
            "data"
          ])
          assert.match(first.metadata.actor, /^api-key:/)
          assert.isString(first.metadata.requestId)
          assert.strictEqual(first.data.enrichment.id, "company_domain")

          const creditLines = parse(credits.stdout)
          assert.strictEqual(creditLines.length, creditEvents)
          assert.isTrue(creditLines.every((e) => e.stream === `credits-${w.workspaceId}`))
          assert.deepStrictEqual(
            creditLines.map((e) => e.version),
            Array.from({ length: creditEvents }, (_, i) => i + 1)
          )
          const runLines = parse(run.stdout)
          assert.deepStrictEqual(runLines[0].type, "RunRequested")
          assert.deepStrictEqual(runLines[runLines.length - 1].type, "CreditsSettled")
          assert.deepStrictEqual([unknown.code, unknown.error.code], [3, "NOT_FOUND"])
          assert.deepStrictEqual([badFrom.code, badFrom.error.code], [2, "VALIDATION_FAILED"])

          // --from: only what comes after that position
          const middle = events[Math.floor(events.length / 2)]
          const after = parse((await tail(["events", "tail", "--from", middle.position])).stdout)
          assert.deepStrictEqual(
            after.map((e) => e.position),
            events.slice(events.indexOf(middle) + 1).map((e) => e.position)
          )

          // --follow: the existing events, then one appended after the start; SIGINT ends it with 0
          const follower = startCli(["events", "tail", "--follow", "--interval-ms", "100"], {
            DATABASE_URL: databaseUrl
          })
          const streamFollower = startCli(
            ["events", "tail", "--follow", "--interval-ms", "100", "--stream", `credits-${w.workspaceId}`],
            { DATABASE_URL: databaseUrl }
          )
          await follower.waitFor((out) => parse(out).length >= total, 60_000)
          await streamFollower.waitFor((out) => parse(out).length >= creditEvents, 60_000)
          const granted = await runCli(["credit", "grant", w.workspaceId, "--amount", "1", "--reason", "followed"], {
            ENRICH_API_URL: baseUrl,
            ENRICH_ADMIN_TOKEN: ADMIN_TOKEN
          })
          assert.strictEqual(granted.code, 0, granted.stderr)
          const isGrant = (e: any) => e.type === "CreditsGranted" && e.data.reason === "followed"
          const seen = parse(await follower.waitFor((out) => parse(out).some(isGrant), 60_000))
          const seenOnStream = parse(await streamFollower.waitFor((out) => parse(out).some(isGrant), 60_000))
          assert.strictEqual(seen.filter(isGrant).length, 1)
          assert.strictEqual(seen.find(isGrant).metadata.actor, "admin")
          assert.isTrue(seenOnStream.every((e) => e.stream === `credits-${w.workspaceId}`))
          follower.signal("SIGINT")
          streamFollower.signal("SIGINT")
          assert.deepStrictEqual(
            await Promise.all([follower.exited, streamFollower.exited]),
            [0, 0],
            follower.stderr() + streamFollower.stderr()
          )
        })
      }),
    testTimeout
  )

  it.effect(
    "replay_rebuild_reports_progress_and_rebuilds_what_audit_verify_expects",
    () =>
      Effect.gen(function* () {
        const { baseUrl, databaseUrl } = yield* context
        const sql = yield* SqlClient.SqlClient
        yield* workload(baseUrl)
        const [{ n: total }] = (yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM events`) as [{ n: number }]
        const before = yield* sql`SELECT * FROM credit_ledger ORDER BY id`
        const runsBefore = yield* sql`SELECT * FROM enrichment_runs ORDER BY id`
        const audit = cliFor({ DATABASE_URL: databaseUrl })
        yield* promise(async () => {
          const replayed = await audit(["replay", "--rebuild"])
          assert.strictEqual(replayed.code, 0, replayed.stderr)
          assert.strictEqual(replayed.json.replayedEvents, total)
          assert.include(replayed.stderr, `rebuilding the projections from ${total} events`)
          assert.match(replayed.stderr, new RegExp(`replayed ${total}/${total} events \\(100%\\) · \\d+ events/s`))
          const verified = await audit(["audit", "verify"])
          assert.strictEqual(verified.code, 0, verified.stdout + verified.stderr)
          assert.deepStrictEqual([verified.json.ok, verified.json.checked.events], [true, total])
        })
        assert.deepStrictEqual(yield* sql`SELECT * FROM credit_ledger ORDER BY id`, before)
        assert.deepStrictEqual(yield* sql`SELECT * FROM enrichment_runs ORDER BY id`, runsBefore)
      }),
    testTimeout
  )
})
