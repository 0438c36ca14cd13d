/**
 * Execution under crashes and load, with the real entry points as processes
 * (an API process and worker processes on one database):
 * - a worker SIGKILLed at random points of a run and restarted: the run still
 *   completes, every Lead has exactly one result and its attribute holds it,
 *   and credits are settled exactly once;
 * - a cancel during a large run stops work within one batch, and the counts
 *   and the ledger agree;
 * - a small run of another workspace finishes while a large run executes
 *   (two slots, the large run in several partitions: the fair share);
 * - the worker's memory stays flat as a run grows;
 * - a runner starts a run when its dispatch commits (LISTEN/NOTIFY), not at
 *   its next poll.
 * Sizes and trial counts read ENRICH_TEST_SCALE. Full scale, once, on the
 * PostgreSQL 15 service: ENRICH_TEST_SCALE=10 (crash: 10,000 Leads × 10 kills;
 * two workers: 20,000 Leads split 17,300 + 2,700; cancel of a 50,000-Lead run:
 * completed after `cancelledAt` ≤ one batch, ledger reserved = captured +
 * released; small run during an 80,000-Lead run with ENRICH_WORKER_SLOTS=2)
 * and ENRICH_TEST_SCALE=25 for the memory test (200,000 Leads: peak RSS 379 MB
 * at 10–40 % of the run, 431 MB at 60–100 %, within the flat bound; heap
 * snapshots of a 50,000-Lead run: 63.0 MB of JS heap at 30 %, 64.8 MB after
 * settlement — the RSS above is V8 code space and allocator high-water, not
 * state kept per item). See docs/PERFORMANCE.md.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Redacted, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { DatabaseLive, DatabaseUrl } from "@enrich/adapters/postgres/Database"
import { freePort } from "@enrich/adapters/postgres/EmbeddedPostgres"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { scaled } from "@enrich/domain/testing/TestScale"
import { eventually, makeClient, type TestClient } from "@enrich/http/testing/HttpTestClient"
import { ADMIN_TOKEN } from "@enrich/http/testing/TestServer"
import { type RunningProcess, startProcess, stopProcess } from "./support/Processes.ts"

const BATCH = 50

/** Per-test time: these tests grow with ENRICH_TEST_SCALE. */
const timeout = { timeout: scaled(120_000) }

/** An API process on the test database; workers are started by each test. */
const apiProcess = Effect.gen(function* () {
  const { url } = yield* DatabaseUrl
  const port = yield* Effect.promise(freePort)
  const api = yield* startProcess("packages/http/src/bin/http.ts", {
    DATABASE_URL: Redacted.value(url),
    ENRICH_ADMIN_TOKEN: ADMIN_TOKEN,
    PORT: String(port),
    ENRICH_RATE_LIMIT: "0"
  })
  const client = makeClient(`http://127.0.0.1:${port}`)
  yield* Effect.promise(() =>
    eventually(
      async () => ((await client.get("/readyz").catch(() => undefined))?.status === 200 ? true : undefined),
      60_000
    )
  ).pipe(Effect.tapCause(() => Effect.sync(() => console.log(api.output()))))
  return client
})

const startWorkerWith = (env: Record<string, string>) =>
  Effect.gen(function* () {
    const { url } = yield* DatabaseUrl
    const port = yield* Effect.promise(freePort)
    return yield* startProcess("packages/worker/src/bin/worker.ts", {
      DATABASE_URL: Redacted.value(url),
      ENRICH_RUNNER_PORT: String(port),
      ENRICH_BATCH_SIZE: String(BATCH),
      ...env
    })
  })

const startWorker = startWorkerWith({})

/** A workspace with `count` person Leads, inserted set-based (test set-up, not the code under test). */
const workspaceWithLeads = (api: TestClient, count: number, credits: number) =>
  Effect.gen(function* () {
    const created = yield* Effect.promise(() =>
      api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: `w${count}`, credits } })
    )
    const workspaceId = created.body.workspace.id as string
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO leads (id, workspace_id, type, contacts)
      SELECT ${workspaceId} || '-' || lpad(g::text, 7, '0'), ${workspaceId}, 'person',
             jsonb_build_array(jsonb_build_object('type', 'email', 'value', 'p' || g || '@corp.example'))
      FROM generate_series(1, ${count}) g`
    return { key: created.body.apiKey as string, workspaceId }
  })

const dispatchAll = (api: TestClient, key: string) =>
  Effect.promise(async () => {
    const reply = await api.post("/api/enrichment", {
      key,
      body: { enrichmentId: "email_validation", scope: { type: "list", listId: "all" } }
    })
    assert.strictEqual(reply.status, 202, JSON.stringify(reply.body))
    return reply.body.runId as string
  })

const status = (api: TestClient, key: string, runId: string) =>
  Effect.promise(async () => (await api.get(`/api/enrichment/${runId}`, { key })).body.run)

const settled = (api: TestClient, key: string, runId: string, timeout = 180_000) =>
  Effect.promise(() =>
    eventually(async () => {
      const run = (await api.get(`/api/enrichment/${runId}`, { key })).body.run
      return run.timing.settledAt === null ? undefined : run
    }, timeout)
  )

/** A process's resident set size in bytes (Linux). */
const rssOf = (process: RunningProcess) =>
  Effect.promise(async () => {
    const { readFile } = await import("node:fs/promises")
    const status = await readFile(`/proc/${process.child.pid}/status`, "utf8").catch(() => "")
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
    return kb * 1024
  })

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024)

const Live = DatabaseLive.pipe(Layer.provideMerge(TestDatabaseUrl))

layer(Live, { timeout: 600_000, excludeTestServices: true })("Execution (processes, crashes, load)", (it) => {
  it.effect(
    "a_worker_killed_at_random_points_and_restarted_completes_the_run_exactly_once",
    () =>
      Effect.gen(function* () {
        const api = yield* apiProcess
        const leads = scaled(2_000)
        const trials = scaled(2)
        const { key, workspaceId } = yield* workspaceWithLeads(api, leads, leads)
        let worker: RunningProcess = yield* startWorker
        const runId = yield* dispatchAll(api, key)
        let kills = 0
        let lastCompleted = -1
        while (kills < trials) {
          // wait for progress since the last kill, then kill at a random moment
          const run = yield* Effect.promise(() =>
            eventually(async () => {
              const r = (await api.get(`/api/enrichment/${runId}`, { key })).body.run
              return r.scope.counts.completed > lastCompleted || r.timing.settledAt !== null ? r : undefined
            }, 120_000)
          ).pipe(Effect.tapCause(() => Effect.sync(() => console.log(worker.output()))))
          if (run.timing.settledAt !== null) break
          yield* Effect.sleep(`${Math.floor(Math.random() * 150)} millis`)
          yield* stopProcess(worker, "SIGKILL")
          kills++
          lastCompleted = (yield* status(api, key, runId)).scope.counts.completed
          worker = yield* startWorker
        }
        const run = yield* settled(api, key, runId).pipe(
          Effect.tapCause(() => Effect.sync(() => console.log(worker.output())))
        )
        assert.isAtLeast(kills, 1, "the worker was killed mid-run at least once")
        console.log(`crash trial: ${leads} Leads, worker SIGKILLed ${kills} times, run completed exactly once`)
        assert.strictEqual(run.status, "completed")
        assert.deepStrictEqual(run.scope.counts, { pending: 0, running: 0, completed: leads, skipped: 0, failed: 0 })

        const sql = yield* SqlClient.SqlClient
        const [results] = yield* sql<{ items: number; results: number; matching: number }>`SELECT
        (SELECT count(*)::int FROM run_items WHERE run_id = ${runId} AND status = 'completed') AS items,
        (SELECT count(*)::int FROM run_items WHERE run_id = ${runId} AND recorded_at IS NOT NULL) AS results,
        (SELECT count(*)::int FROM run_items r JOIN leads l ON l.id = r.lead_id
          WHERE r.run_id = ${runId} AND l.attributes -> 'email_validation' = r.result) AS matching`
        assert.deepStrictEqual(
          results,
          { items: leads, results: leads, matching: leads },
          "one result per Lead, on its attribute"
        )
        const [log] = yield* sql<{ started: number; recorded: number; distinct_recorded: number }>`
        WITH started AS (
          SELECT jsonb_array_elements(data -> 'ordinals') AS o FROM events
          WHERE stream_id = ${`run-${runId}`} AND type = 'ItemBatchStarted'
        ), recorded AS (
          SELECT jsonb_array_elements(data -> 'outcomes') ->> 'ordinal' AS o FROM events
          WHERE stream_id = ${`run-${runId}`} AND type = 'ItemBatchRecorded'
        )
        SELECT (SELECT count(*)::int FROM started) AS started, (SELECT count(*)::int FROM recorded) AS recorded,
               (SELECT count(DISTINCT o)::int FROM recorded) AS distinct_recorded`
        assert.deepStrictEqual(
          log,
          { started: leads, recorded: leads, distinct_recorded: leads },
          "each item claimed and recorded once"
        )
        const credits = yield* sql<{ type: string; amount: number }>`
        SELECT type, amount::int FROM credit_ledger WHERE run_id = ${runId} ORDER BY created_at, type`
        assert.deepStrictEqual(credits, [
          { type: "reserve", amount: leads },
          { type: "capture", amount: leads }
        ])
        const [account] = yield* sql<{ held: number; captured: number }>`
        SELECT held::int, captured::int FROM credit_accounts WHERE workspace_id = ${workspaceId}`
        assert.deepStrictEqual(account, { held: 0, captured: leads })
      }),
    timeout
  )

  it.effect(
    "a_worker_stopped_with_sigterm_exits_promptly_and_its_run_completes_on_the_next_worker",
    () =>
      Effect.gen(function* () {
        const api = yield* apiProcess
        const leads = scaled(3_000)
        const { key } = yield* workspaceWithLeads(api, leads, leads)
        const worker = yield* startWorker
        const runId = yield* dispatchAll(api, key)
        yield* Effect.promise(() =>
          eventually(async () => {
            const r = (await api.get(`/api/enrichment/${runId}`, { key })).body.run
            return r.scope.counts.completed >= BATCH || r.timing.settledAt !== null ? r : undefined
          }, 120_000)
        )
        const started = Date.now()
        yield* stopProcess(worker, "SIGTERM")
        const exitMs = Date.now() - started
        assert.isBelow(exitMs, 10_000, `a SIGTERMed worker exits promptly (took ${exitMs} ms)`)
        assert.include([0, 130, 143, null], worker.child.exitCode, worker.output().slice(-2000))
        yield* startWorker
        const run = yield* settled(api, key, runId)
        assert.strictEqual(run.status, "completed")
        assert.strictEqual(run.scope.counts.completed, leads)
        console.log(`graceful shutdown: worker exited ${exitMs} ms after SIGTERM; run completed on the next worker`)
      }),
    timeout
  )

  it.effect(
    "worker_memory_stays_flat_as_the_run_grows",
    () =>
      Effect.gen(function* () {
        const api = yield* apiProcess
        const leads = scaled(8_000)
        const { key } = yield* workspaceWithLeads(api, leads, leads)
        const worker = yield* startWorker
        const runId = yield* dispatchAll(api, key)
        const samples: Array<{ readonly done: number; readonly rss: number }> = []
        for (;;) {
          const run = yield* status(api, key, runId)
          samples.push({ done: run.scope.counts.completed / leads, rss: yield* rssOf(worker) })
          if (run.timing.settledAt !== null) break
          yield* Effect.sleep("200 millis")
        }
        const peak = (from: number, to: number) =>
          Math.max(0, ...samples.filter((x) => x.done >= from && x.done < to).map((x) => x.rss))
        const early = peak(0.1, 0.4)
        const late = peak(0.6, 1.01)
        console.log(`worker RSS over a ${leads}-Lead run: ${mb(early)} MB at 10-40%, ${mb(late)} MB at 60-100%`)
        if (early > 0 && late > 0) {
          assert.isBelow(late, early * 1.25 + 32 * 1024 * 1024, "memory does not grow with the run")
        }
      }),
    timeout
  )

  it.effect(
    "two_workers_share_one_large_run_and_no_lead_is_processed_twice",
    () =>
      Effect.gen(function* () {
        const api = yield* apiProcess
        const leads = scaled(4_000)
        const { key } = yield* workspaceWithLeads(api, leads, leads)
        const partitioned = { ENRICH_PARTITION_SIZE: String(Math.ceil(leads / 8)), ENRICH_MAX_PARTITIONS: "8" }
        const [first, second] = [yield* startWorkerWith(partitioned), yield* startWorkerWith(partitioned)]
        // both runners hold shards before the run is dispatched, so its partitions spread over both:
        // on PostgreSQL a runner's shards are advisory locks (objid 1000001…) held by its connections
        const sql = yield* SqlClient.SqlClient
        yield* Effect.flatMap(
          sql<{ holders: number }>`SELECT count(DISTINCT pid)::int AS holders FROM pg_locks
            WHERE locktype = 'advisory' AND objid BETWEEN 1000000 AND 1001000 AND granted
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          ([r]) => (r!.holders >= 2 ? Effect.void : Effect.fail("waiting for both runners to hold shards"))
        ).pipe(Effect.retry({ schedule: Schedule.spaced("250 millis"), times: 240 }))
        const runId = yield* dispatchAll(api, key)
        const run = yield* settled(api, key, runId).pipe(
          Effect.tapCause(() => Effect.sync(() => console.log(first.output(), second.output())))
        )
        assert.strictEqual(run.status, "completed")
        assert.strictEqual(run.scope.counts.completed, leads)
        const workers = yield* sql<{ actor: string; items: number }>`
        SELECT metadata->>'actor' AS actor, sum(jsonb_array_length(data -> 'outcomes'))::int AS items FROM events
        WHERE stream_id = ${`run-${runId}`} AND type = 'ItemBatchRecorded' GROUP BY 1 ORDER BY 1`
        assert.strictEqual(workers.length, 2, `both workers did work: ${JSON.stringify(workers)}`)
        assert.strictEqual(
          workers.reduce((sum, w) => sum + w.items, 0),
          leads
        )
        const [log] = yield* sql<{ recorded: number; distinct_recorded: number; results: number }>`
        WITH recorded AS (
          SELECT jsonb_array_elements(data -> 'outcomes') ->> 'ordinal' AS o FROM events
          WHERE stream_id = ${`run-${runId}`} AND type = 'ItemBatchRecorded'
        )
        SELECT (SELECT count(*)::int FROM recorded) AS recorded, (SELECT count(DISTINCT o)::int FROM recorded) AS distinct_recorded,
               (SELECT count(*)::int FROM run_items WHERE run_id = ${runId} AND recorded_at IS NOT NULL) AS results`
        assert.deepStrictEqual(log, { recorded: leads, distinct_recorded: leads, results: leads })
        console.log(`shared run: ${leads} Leads, per worker ${workers.map((w) => w.items).join(" + ")}`)
      }),
    timeout
  )

  it.effect(
    "a_run_starts_when_its_dispatch_commits_not_at_the_runners_next_poll",
    () =>
      Effect.gen(function* () {
        const api = yield* apiProcess
        const { key } = yield* workspaceWithLeads(api, 10, 10)
        // a runner that would read its messages only every 10 minutes: it hears of the run by the dispatch's NOTIFY
        const worker = yield* startWorkerWith({ ENRICH_RUNNER_POLL_MS: String(600_000) })
        const runId = yield* dispatchAll(api, key)
        const run = yield* settled(api, key, runId, 60_000).pipe(
          Effect.tapCause(() => Effect.sync(() => console.log(worker.output())))
        )
        assert.strictEqual(run.status, "completed")
        assert.strictEqual(run.scope.counts.completed, 10)
      }),
    timeout
  )

  it.effect(
    "a_cancel_during_a_large_run_stops_work_within_one_batch_and_the_ledger_matches",
    () =>
      Effect.gen(function* () {
        const api = yield* apiProcess
        const leads = scaled(5_000)
        const { key } = yield* workspaceWithLeads(api, leads, leads)
        yield* startWorker
        const runId = yield* dispatchAll(api, key)
        yield* Effect.promise(() =>
          eventually(async () => {
            const r = (await api.get(`/api/enrichment/${runId}`, { key })).body.run
            return r.scope.counts.completed >= BATCH ? r : undefined
          }, 120_000)
        )
        const cancel = yield* Effect.promise(() => api.post(`/api/enrichment/${runId}/cancel`, { key }))
        assert.strictEqual(cancel.status, 200, JSON.stringify(cancel.body))
        const cancelledAt = cancel.body.run.cancelledAt as string
        const run = yield* settled(api, key, runId)
        assert.strictEqual(run.status, "cancelled")
        const { completed, failed, pending, running, skipped } = run.scope.counts
        assert.strictEqual(completed + failed + skipped, leads)
        assert.deepStrictEqual([pending, running], [0, 0])
        assert.isAbove(skipped, 0, "the cancel stopped the run before its end")
        const sql = yield* SqlClient.SqlClient
        const [late] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM run_items
        WHERE run_id = ${runId} AND status = 'completed' AND completed_at > ${cancelledAt}`
        assert.isAtMost(late!.n, BATCH, "at most the batch in flight (one runner) completes after the cancel")
        assert.deepStrictEqual(run.cost.actual, { reserved: leads, captured: completed, released: leads - completed })
        const ledger = yield* sql<{ type: string; amount: number }>`
        SELECT type, amount::int FROM credit_ledger WHERE run_id = ${runId} ORDER BY type`
        assert.deepStrictEqual(ledger, [
          { type: "capture", amount: completed },
          { type: "release", amount: leads - completed },
          { type: "reserve", amount: leads }
        ])
      }),
    timeout
  )

  it.effect(
    "a_small_run_of_another_workspace_finishes_while_a_large_run_executes",
    () =>
      Effect.gen(function* () {
        const api = yield* apiProcess
        const large = yield* workspaceWithLeads(api, scaled(8_000), scaled(8_000))
        const small = yield* workspaceWithLeads(api, 3, 3)
        // two slots and a large run in several partitions: every slot is wanted by the large run
        yield* startWorkerWith({ ENRICH_WORKER_SLOTS: "2", ENRICH_PARTITION_SIZE: String(scaled(1_000)) })
        const largeRun = yield* dispatchAll(api, large.key)
        yield* Effect.promise(() =>
          eventually(async () => {
            const r = (await api.get(`/api/enrichment/${largeRun}`, { key: large.key })).body.run
            return r.status === "running" ? r : undefined
          }, 60_000)
        )
        const smallRun = yield* dispatchAll(api, small.key)
        const smallDone = yield* settled(api, small.key, smallRun)
        const largeThen = yield* status(api, large.key, largeRun)
        assert.strictEqual(smallDone.status, "completed")
        assert.isNull(largeThen.timing.settledAt, "the large run was still executing when the small one finished")
        assert.isAbove(largeThen.scope.counts.pending, 0)
        yield* settled(api, large.key, largeRun)
      }),
    timeout
  )
})
