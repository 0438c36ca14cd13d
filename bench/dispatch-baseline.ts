/**
 * Baseline of scenario 1: a bare `node:http` server (its own process) whose
 * POST runs a dispatch-shaped transaction written as raw SQL through the same
 * driver (PgClient, pool of 10) — no HttpApi, no schemas, no decider, no
 * cluster. It is a PROXY of the service's transaction, not a replay of its
 * exact statements: the writes a 10-Lead dispatch makes (idempotency key,
 * frozen scope, credit row lock and hold, run stream + RunRequested/RunDispatched
 * events, run row, items, credit event), into `bench_d_*` copies of the tables,
 * rows included (the service's tables are not empty when scenario 1 runs).
 *
 * As a module: `startDispatchBaseline(url)` spawns it. As an entry point: serves.
 */
import { randomUUID } from "node:crypto"
import { createServer } from "node:http"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { createLike, freePort, http, makeSql, type Proc, startProc, stopProc, waitFor } from "./support.ts"

const tables = {
  bench_d_keys: "idempotency_keys",
  bench_d_scope: "run_scope_chunks",
  bench_d_accounts: "credit_accounts",
  bench_d_streams: "event_streams",
  bench_d_events: "events",
  bench_d_runs: "enrichment_runs",
  bench_d_items: "run_items"
}

const serve = async (url: string, port: number) => {
  const sql = makeSql(url, 10)
  // same shape includes the same rows: the copies start with what the service's tables hold (after the
  // worker and planning scenarios: millions of items), so both write into indexes of the same size
  for (const [copy, of] of Object.entries(tables)) {
    await sql.query(`DROP TABLE IF EXISTS ${copy}`)
    await createLike(sql, copy, of)
    await sql.query(`INSERT INTO ${copy} SELECT * FROM ${of}`)
    await sql.query(`ANALYZE ${copy}`)
  }

  const dispatch = (workspaceId: string, key: string, leadIds: ReadonlyArray<string>) =>
    Effect.gen(function* () {
      const q = yield* SqlClient.SqlClient
      const runId = randomUUID()
      const now = new Date().toISOString()
      return yield* q.withTransaction(
        Effect.gen(function* () {
          const claimed = yield* q`INSERT INTO bench_d_keys (workspace_id, key, fingerprint, run_id, created_at)
            VALUES (${workspaceId}, ${key}, ${key}, ${runId}, ${now}) ON CONFLICT DO NOTHING RETURNING key`
          if (claimed.length === 0) return 409
          // like the service: the frozen scope (one chunk row) and the items in one statement
          const scope = yield* q<{ n: number }>`WITH s AS (
              SELECT id, row_number() OVER (ORDER BY id)::int AS n FROM leads
              WHERE workspace_id = ${workspaceId} AND id = ANY(${leadIds})),
            frozen AS (
              INSERT INTO bench_d_scope (run_id, first_ordinal, workspace_id, lead_ids, membership_ids)
              SELECT ${runId}, 1, ${workspaceId}, array_agg(id ORDER BY n), array_agg(NULL::text ORDER BY n)
              FROM s HAVING count(*) > 0),
            items AS (
              INSERT INTO bench_d_items (id, workspace_id, run_id, ordinal, lead_id, status, created_at, updated_at)
              SELECT ${runId} || '.' || lpad(n::text, 8, '0'), ${workspaceId}, ${runId}, n, id, 'pending', ${now}, ${now}
              FROM s)
            SELECT count(*)::int AS n FROM s`
          const n = scope[0]!.n
          const [account] = yield* q<{ granted: string; held: string; captured: string }>`
            SELECT granted, held, captured FROM bench_d_accounts WHERE workspace_id = ${workspaceId} FOR UPDATE`
          if (account === undefined || Number(account.granted) - Number(account.held) - Number(account.captured) < n)
            return 402
          yield* q`UPDATE bench_d_accounts SET held = held + ${n} WHERE workspace_id = ${workspaceId}`
          const stream = `run-${runId}`
          yield* q`INSERT INTO bench_d_streams (stream_id, stream_type, workspace_id, version) VALUES (${stream}, 'run', ${workspaceId}, 2)`
          const requested = JSON.stringify({ runId, leadCount: n, requestedAt: now, scope: { type: "explicit_leads" } })
          yield* q`INSERT INTO bench_d_events (stream_id, stream_version, event_id, type, schema_version, data) VALUES
            (${stream}, 1, ${randomUUID()}, 'RunRequested', 1, ${requested}::jsonb),
            (${stream}, 2, ${randomUUID()}, 'RunDispatched', 1, ${JSON.stringify({ triggerRunId: runId, dispatchedAt: now })}::jsonb)`
          yield* q`INSERT INTO bench_d_runs (id, workspace_id, status, mode, enrichment, scope, resolved_count, count_pending,
              output, cost_preview, reserved, correlation_id, created_at, updated_at)
            VALUES (${runId}, ${workspaceId}, 'pending', 'persisted', '{}'::jsonb, '{}'::jsonb, ${n}, ${n}, '{}'::jsonb,
              '{}'::jsonb, ${n}, ${runId}, ${now}, ${now})`
          const credits = `credits-${workspaceId}`
          yield* q`INSERT INTO bench_d_streams (stream_id, stream_type, workspace_id, version)
            VALUES (${credits}, 'credits', ${workspaceId}, 1)
            ON CONFLICT (stream_id) DO UPDATE SET version = bench_d_streams.version + 1`
          yield* q`INSERT INTO bench_d_events (stream_id, stream_version, event_id, type, schema_version, data)
            SELECT ${credits}, version, ${randomUUID()}, 'CreditsHeld', 1, ${JSON.stringify({ runId, amount: n })}::jsonb
            FROM bench_d_streams WHERE stream_id = ${credits}`
          return 202
        })
      )
    })

  createServer((req, res) => {
    let text = ""
    req.setEncoding("utf8")
    req.on("data", (d) => {
      text += d
    })
    req.on("end", () => {
      const body = JSON.parse(text || "{}")
      const leadIds: Array<string> = body?.scope?.leadIds ?? []
      const workspaceId = leadIds[0]?.replace(/-\d{7}$/, "") ?? ""
      const key = String(req.headers["idempotency-key"] ?? randomUUID())
      sql.run(dispatch(workspaceId, key, leadIds)).then(
        (status) => {
          const out = JSON.stringify({ status })
          res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(out) })
          res.end(out)
        },
        (e) => {
          res.writeHead(500)
          res.end(String(e))
        }
      )
    })
  }).listen(port, "127.0.0.1")
}

export const startDispatchBaseline = async (url: string) => {
  const port = await freePort()
  const proc: Proc = startProc("dispatch-baseline", "bench/dispatch-baseline.ts", {
    BENCH_BASELINE_SERVE: "1",
    DATABASE_URL: url,
    PORT: String(port),
    // its copies of the service's tables take longer than a statement may (millions of items, results in them)
    ENRICH_DB_STATEMENT_TIMEOUT_MS: "0"
  })
  const base = `http://127.0.0.1:${port}`
  await waitFor(
    "the baseline server",
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`the baseline server exited: ${proc.output()}`)
      return (await http(base, "GET", "/")).status > 0 ? true : undefined
    },
    // it copies the service's tables first (millions of items after the other scenarios)
    900_000
  )
  return {
    base,
    stop: async () => {
      await stopProc(proc)
      const sql = makeSql(url, 1)
      for (const copy of Object.keys(tables)) await sql.query(`DROP TABLE IF EXISTS ${copy}`)
      await sql.close()
    }
  }
}

if (process.env["BENCH_BASELINE_SERVE"] === "1") {
  await serve(process.env["DATABASE_URL"]!, Number(process.env["PORT"]))
}
