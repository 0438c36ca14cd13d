/**
 * What the failure-model tests share: a raw local vendor (bytes as given, bodies that trickle), dispatch and
 * executor with chosen catalog entries, a run loop as the engines run it (holding the run's lease), faults
 * injected into PostgreSQL by triggers, and what must hold of any run once it is over.
 */
import { assert } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { createServer, type ServerResponse } from "node:http"
import { ClientOnlyClusterLive, WorkflowDispatcherLive } from "@enrich/adapters/engine/RunWorkflow"
import { builtinEntries } from "@enrich/catalog/Catalog"
import { makeHttpEntry } from "@enrich/catalog/http/HttpProvider"
import { decodeHttpProviderConfig } from "@enrich/catalog/http/HttpProviderConfig"
import { CancelRun } from "@enrich/application/runs/CancelRun"
import { DispatchRun } from "@enrich/application/runs/DispatchRun"
import { RunWatchdog } from "@enrich/application/runs/RunWatchdog"
import { Persistence } from "@enrich/adapters/Services"
import { RunCommands } from "@enrich/application/runs/RunCommands"
import { Catalog, type CatalogEntry, makeCatalog } from "@enrich/domain/ports/Catalog"
import { RunExecutor } from "../../src/RunExecutor.ts"
import { batchKey, runLoop } from "../../src/RunLoop.ts"

/** What the raw vendor sends: a status, then a body (bytes as given), maybe a byte at a time forever. */
export type RawReply =
  | { readonly status: number; readonly body: string | Buffer; readonly contentType?: string }
  | { readonly status: number; readonly trickle: true }

/** A real local HTTP vendor answering every request with `reply(path, n)`; closed with the scope. */
export const rawVendor = (reply: (path: string, n: number) => RawReply) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      let n = 0
      const open = new Set<ServerResponse>()
      const timers = new Set<NodeJS.Timeout>()
      const server = createServer((req, res) => {
        req.resume()
        const answer = reply(req.url ?? "/", ++n)
        if ("trickle" in answer) {
          res.writeHead(answer.status, { "content-type": "application/json" })
          res.write('{"title": "')
          open.add(res)
          const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write("a")), 200)
          timers.add(timer)
          res.on("close", () => clearInterval(timer))
          return
        }
        res.writeHead(answer.status, { "content-type": answer.contentType ?? "application/json" })
        res.end(answer.body)
      })
      await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok))
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      return {
        url: `http://127.0.0.1:${port}`,
        requests: () => n,
        /** responses still being written (an endless body) */
        openResponses: () => [...open].filter((r) => !r.destroyed).length,
        close: () =>
          new Promise<void>((ok) => {
            for (const t of timers) clearInterval(t)
            server.closeAllConnections()
            server.close(() => ok())
          })
      }
    }),
    (vendor) => Effect.promise(() => vendor.close())
  )

/** An `http` catalog entry calling `url` per Lead, one attempt, charging found Leads: the case the bug report tried. */
export const httpEntry = (url: string, options: { readonly timeoutMs?: number; readonly slug?: string } = {}) =>
  Effect.flatMap(
    decodeHttpProviderConfig({
      kind: "http",
      slug: options.slug ?? "vendor_title",
      name: "Vendor title",
      description: "A vendor's title for a person",
      subject: "person",
      version: 1,
      reads: ["email"],
      defaultOutput: { target: "lead_attribute", attributeKey: "vendor_title" },
      outputOverridePolicy: { targets: ["lead_attribute"], attributeKey: true },
      costModel: { creditAction: "VENDOR_TITLE", unitCost: 1, chargeOn: "found" },
      mode: "per_lead",
      request: { method: "GET", url: `${url}/person`, query: { email: { $lead: "email" } } },
      response: { output: { title: { path: "/title", type: "string" } } },
      rateLimit: { requestsPerSecond: 1000, burst: 100 },
      timeoutMs: options.timeoutMs ?? 2_000,
      retry: { maxAttempts: 1, backoffMs: 10 }
    }),
    (config) => makeHttpEntry(config)
  ).pipe(Effect.orDie)

/** Dispatch, cancel, the executor and the watchdog with `entries` in the catalog, configured by `env`. */
export const servicesWith = (entries: ReadonlyArray<CatalogEntry>, env: Record<string, string> = {}) =>
  Layer.mergeAll(DispatchRun.layer, CancelRun.layer, RunExecutor.layer, RunWatchdog.layer).pipe(
    Layer.provideMerge(RunCommands.layer),
    Layer.provideMerge(Layer.merge(Persistence, Layer.succeed(Catalog, makeCatalog([...builtinEntries, ...entries])))),
    Layer.provide(WorkflowDispatcherLive),
    Layer.provide(ClientOnlyClusterLive),
    Layer.provide(
      ConfigProvider.layer(
        ConfigProvider.fromEnv({
          env: { ...process.env, ENRICH_BATCH_SIZE: "5", ENRICH_RUN_LEASE_SECONDS: "1", ...env } as Record<
            string,
            string
          >
        })
      )
    )
  )

/** Dispatches `enrichmentId` over the workspace's `all` List; the run's id. */
export const dispatchAll = (workspaceId: string, enrichmentId: string) =>
  Effect.gen(function* () {
    const dispatched = yield* (yield* DispatchRun).dispatch(workspaceId, {
      enrichmentId,
      scope: { type: "list", listId: "all" },
      mode: "persisted",
      input: {},
      output: undefined,
      writePolicy: "overwrite",
      displayRequest: undefined,
      idempotencyKey: undefined
    })
    assert.strictEqual(dispatched._tag, "Accepted")
    return dispatched._tag === "Accepted" ? dispatched.runId : ""
  })

/** Executes the run as an engine does: the loop of RunLoop.ts, holding the run's lease. */
export const executeRun = (run: { readonly runId: string; readonly workspaceId: string }) =>
  Effect.gen(function* () {
    const executor = yield* RunExecutor
    return yield* executor.holding(
      run,
      run.runId,
      runLoop({
        batch: (n) => executor.runBatch(run, batchKey(run.runId, n)),
        finish: () => executor.finish(run)
      })
    )
  })

/** Person Leads `<ws>-1…n`, with the emails given. */
export const insertPeople = (workspaceId: string, emails: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO leads (id, workspace_id, type, contacts)
      SELECT ${workspaceId} || '-' || e.ord, ${workspaceId}, 'person',
        jsonb_build_array(jsonb_build_object('type', 'email', 'value', e.v))
      FROM jsonb_array_elements_text(${JSON.stringify(emails)}::jsonb) WITH ORDINALITY AS e(v, ord)`
  })

/** Sweeps until the run is settled (at most `sweeps` times, `pauseMs` apart); the sweeps it took. */
export const sweepUntilSettled = (runId: string, sweeps = 10, pauseMs = 600) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const watchdog = yield* RunWatchdog
    for (let i = 1; i <= sweeps; i++) {
      yield* watchdog.sweep
      const [row] = yield* sql<{ settled: boolean }>`
        SELECT settled_at IS NOT NULL AS settled FROM enrichment_runs WHERE id = ${runId}`
      if (row?.settled === true) return i
      yield* Effect.sleep(pauseMs)
    }
    return sweeps + 1
  })

export interface RunEnd {
  readonly status: string
  readonly reserved: number
  readonly captured: number
  readonly released: number
  readonly items: ReadonlyArray<{
    readonly ordinal: number
    readonly lead_id: string
    readonly status: string
    readonly error: { readonly message: string } | null
    readonly result: unknown
  }>
}

/**
 * What must hold of any run once it is over: a terminal status, settled exactly once (one `CreditsSettled`
 * event), reserved = captured + released, no credit of it still held, every item terminal. Its row and items.
 */
export const assertSettled = (runId: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [run] = yield* sql<{
      status: string
      reserved: string
      captured: string
      released: string
      settled: boolean
      workspace_id: string
    }>`SELECT status, reserved::text, captured::text, released::text, settled_at IS NOT NULL AS settled, workspace_id
      FROM enrichment_runs WHERE id = ${runId}`
    assert.isDefined(run)
    assert.include(["completed", "failed", "cancelled"], run!.status, "the run is terminal")
    assert.isTrue(run!.settled, "the run is settled")
    const [settlements] = yield* sql<{ n: number }>`
      SELECT count(*)::int AS n FROM events WHERE stream_id = ${`run-${runId}`} AND type = 'CreditsSettled'`
    assert.strictEqual(settlements!.n, 1, "settled exactly once")
    const reserved = Number(run!.reserved)
    const captured = Number(run!.captured)
    const released = Number(run!.released)
    assert.strictEqual(captured + released, reserved, "reserved = captured + released")
    const holds = yield* sql`SELECT 1 FROM credit_holds WHERE run_id = ${runId}`
    assert.strictEqual(holds.length, 0, "no credit of the run is held")
    const [account] = yield* sql<{ held: string }>`
      SELECT held::text FROM credit_accounts WHERE workspace_id = ${run!.workspace_id}`
    assert.strictEqual(Number(account!.held), 0, "the workspace holds nothing")
    const items = yield* sql<RunEnd["items"][number]>`
      SELECT i.ordinal, i.lead_id, i.status, i.error, i.result
      FROM run_items i
      WHERE i.run_id = ${runId} ORDER BY i.ordinal`
    for (const item of items) assert.include(["completed", "failed", "skipped"], item.status, "every item is terminal")
    return { status: run!.status, reserved, captured, released, items } satisfies RunEnd
  })
