/**
 * A real HTTP server on a free loopback port, on a fresh database, for tests.
 * `engine` decides who executes runs: a client-only engine (runs are
 * dispatched and stay pending: enough to test the HTTP surface) or a full
 * composition provided by the caller.
 */
import { assert } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { freePort } from "@enrich/adapters/postgres/EmbeddedPostgres"
import { DatabaseLive } from "@enrich/adapters/postgres/Database"
import { ClientOnlyClusterLive, WorkflowDispatcherLive } from "@enrich/adapters/engine/RunWorkflow"
import { ServicesLive } from "@enrich/adapters/testing/Services"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { serveApi } from "../../src/server/HttpLive.ts"
import { makeClient, type Reply, type TestClient } from "./HttpTestClient.ts"

export const ADMIN_TOKEN = "test-admin-token"

export class TestServer extends Context.Service<TestServer, TestClient>()("@enrich/http/test/TestServer") {}

/** Test configuration: the admin token, and no rate limit (per key or per address) unless a test asks for one. */
export const testConfig = (env: Record<string, string> = {}) =>
  Layer.provide(
    ConfigProvider.layer(
      ConfigProvider.fromEnv({
        env: {
          ...process.env,
          ENRICH_ADMIN_TOKEN: ADMIN_TOKEN,
          ENRICH_RATE_LIMIT: "0",
          ENRICH_UNAUTHENTICATED_RATE_LIMIT: "0",
          ...env
        } as Record<string, string>
      })
    )
  )

export const withTestConfig = testConfig()

/** `serve(port)` builds the process under test; the layer also exposes the database (SqlClient). */
export const testServer = <A, E, R>(serve: (port: number) => Layer.Layer<A, E, R>) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      return Layer.merge(serve(port), Layer.succeed(TestServer, makeClient(`http://127.0.0.1:${port}`)))
    })
  )

/** API only, dispatching to a cluster without runners (runs stay pending), with `env` over the test configuration. */
export const apiOnlyTestServer = (env: Record<string, string> = {}) =>
  testServer((port) =>
    serveApi({ port }).pipe(
      Layer.provide(ServicesLive.pipe(Layer.provide(WorkflowDispatcherLive), Layer.provideMerge(ClientOnlyClusterLive)))
    )
  ).pipe(Layer.provideMerge(DatabaseLive), Layer.provideMerge(TestDatabaseUrl), testConfig(env))

export const ApiOnlyTestServer = apiOnlyTestServer()

export const tableCounts = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<Record<string, number>>`SELECT
    (SELECT count(*)::int FROM workspaces) AS workspaces,
    (SELECT count(*)::int FROM leads) AS leads,
    (SELECT count(*)::int FROM lists) AS lists,
    (SELECT count(*)::int FROM list_memberships) AS memberships,
    (SELECT count(*)::int FROM lead_identities) AS lead_identities,
    (SELECT count(*)::int FROM run_items WHERE recorded_at IS NOT NULL) AS item_results,
    (SELECT count(*)::int FROM events) AS events,
    (SELECT count(*)::int FROM enrichment_runs) AS runs,
    (SELECT count(*)::int FROM run_items) AS items,
    (SELECT count(*)::int FROM idempotency_keys) AS idempotency_keys,
    (SELECT coalesce(sum(held), 0)::int FROM credit_accounts) AS held`
  return rows[0]!
})

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`

/**
 * Row counts of every table of the `public` schema, read from `information_schema` at each call:
 * ours, the migrations' and the cluster/workflow engine's (and any table a request creates), so
 * "writes nothing" means nothing at all. Keyed by table name.
 */
export const allTableCounts = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const tables = yield* sql<{ name: string }>`SELECT table_name::text AS name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`
  if (tables.length === 0) return {} as Record<string, number>
  const counts = tables.map(
    ({ name }) => `(SELECT count(*)::int FROM public.${quoteIdent(name)}) AS ${quoteIdent(name)}`
  )
  const rows = yield* sql.unsafe<Record<string, number>>(`SELECT ${counts.join(", ")}`)
  return rows[0]!
})

/** `f` with the server's client, as an effect. */
export const use = <A>(f: (api: TestClient) => Promise<A>) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    return yield* Effect.promise(() => f(api))
  })

/** An error answer in the API's envelope: this status and code, `error` the same as `message`. */
export const expectError = (reply: Reply, status: number, code: string) => {
  assert.strictEqual(reply.status, status, JSON.stringify(reply.body))
  assert.strictEqual(reply.body.code, code)
  assert.strictEqual(reply.body.error, reply.body.message)
}

/** Runs `attempt` and checks that `counts` (our tables by default; `allTableCounts`: every table) did not move. */
export const writesNothing = <A, E, R>(
  attempt: Effect.Effect<A, E, R>,
  counts: Effect.Effect<Record<string, number>, unknown, SqlClient.SqlClient> = tableCounts
) =>
  Effect.gen(function* () {
    const before = yield* counts
    const result = yield* attempt
    assert.deepStrictEqual(yield* counts, before)
    return result
  })
