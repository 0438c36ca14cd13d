/**
 * Prometheus metrics of an API process, kept by Effect's `Metric` in a registry of the process's own
 * and written by Effect's Prometheus exporter (DECISIONS.md 50). Every label has a bounded set of
 * values, whatever clients send:
 *
 * - `route` is the pattern of the API endpoint the path matches (`/api/enrichment/:id/items`), read
 *   from the HttpApi definition and matched by the router's own matcher (Routes.ts), so a new endpoint
 *   is labelled without a list kept by hand; any other path is `other`;
 * - `method` is one of the methods the API uses, or `other`; `status` is one the server answers.
 *
 * Runs and items are read from the unsettled runs only (a partial index), at most once per
 * RUNS_READ_TTL however often `/metrics` is scraped: never an aggregate over the whole history.
 */
import { Context, Effect, Layer, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { SqlClient } from "effect/sql"
import { ItemStatus, RunStatus } from "../api/Schemas.ts"
import { OTHER } from "./Routes.ts"

export { routeLabels, routeOf } from "./Routes.ts"

const methods = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
const methodOf = (method: string) => (methods.has(method) ? method : OTHER)

const requests = Metric.counter("enrich_http_requests_total", {
  description: "HTTP requests by method, route pattern and status.",
  incremental: true
})
const latency = Metric.histogram("enrich_http_request_duration_seconds", {
  description: "HTTP request latency by method and route pattern.",
  boundaries: Metric.boundariesFromIterable([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
})

/** One counter per value of one label, made once: `{ [value]: counter }`. */
export const countersBy = <const V extends string>(
  name: string,
  description: string,
  label: string,
  values: ReadonlyArray<V>
): Record<V, Metric.Counter<number>> =>
  Object.fromEntries(
    values.map((value) => [
      value,
      Metric.counter(name, { description, incremental: true, attributes: { [label]: value } })
    ])
  ) as Record<V, Metric.Counter<number>>

/** API key lookups in the database by result (`found`, `unknown`); a key remembered either way costs none. */
export const apiKeyLookups = countersBy(
  "enrich_api_key_lookups_total",
  "API key lookups in the database by result; keys remembered valid or unknown cost none.",
  "result",
  ["found", "unknown"]
)

/** Requests refused with 429 because their address failed to authenticate too often. */
export const unauthenticatedLimited = Metric.counter("enrich_http_unauthenticated_limited_total", {
  description: "Requests refused (429) before authentication: their address sent too many missing or wrong keys.",
  incremental: true
})

const runsUnsettled = Metric.gauge("enrich_runs_unsettled", {
  description: "Runs not yet settled, by status."
})
const itemsUnsettled = Metric.gauge("enrich_items_unsettled", {
  description: "Items of the runs not yet settled, by status."
})
const oldestUnsettled = Metric.gauge("enrich_runs_unsettled_oldest_age_seconds", {
  description: "Age of the oldest run not yet settled (0 when none)."
})

/** How long a read of the unsettled runs serves scrapes. */
const RUNS_READ_TTL = "5 seconds"

export class Metrics extends Context.Service<
  Metrics,
  {
    readonly recordRequest: (request: {
      readonly method: string
      readonly route: string
      readonly status: number
      readonly seconds: number
    }) => void
    /** Adds `amount` (default 1) to a counter of this registry. */
    readonly count: (counter: Metric.Counter<number>, amount?: number) => void
    /** Sets a gauge of this registry. */
    readonly gauge: (gauge: Metric.Gauge<number>, value: number) => void
    readonly render: Effect.Effect<string>
  }
>()("@enrich/http/Metrics") {
  static readonly layer = Layer.effect(
    Metrics,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      // this server's registry, not the default shared by the whole process (the cluster's own metrics)
      const context = Context.make(Metric.MetricRegistry, new Map())
      // one tagged metric per label set, made once: their number is bounded by the labels'
      const series = new Map<string, Metric.Metric<number, unknown>>()
      const tagged = (key: string, make: () => Metric.Metric<number, unknown>) => {
        let found = series.get(key)
        if (found === undefined) {
          found = make()
          series.set(key, found)
        }
        return found
      }
      // counters other parts of the server add to, present from the start
      for (const counter of [apiKeyLookups.found, apiKeyLookups.unknown, unauthenticatedLimited]) {
        counter.updateUnsafe(0, context)
      }

      const recordRequest: Metrics["Service"]["recordRequest"] = ({ method, route, seconds, status }) => {
        const m = methodOf(method)
        tagged(`c ${m} ${route} ${status}`, () =>
          Metric.withAttributes(requests, { method: m, route, status: String(status) })
        ).updateUnsafe(1, context)
        tagged(`h ${m} ${route}`, () => Metric.withAttributes(latency, { method: m, route })).updateUnsafe(
          seconds,
          context
        )
      }

      const readRuns = Effect.gen(function* () {
        const rows = yield* sql<{
          status: string
          runs: number
          pending: number
          running: number
          completed: number
          skipped: number
          failed: number
          oldest: number
        }>`SELECT status, count(*)::int AS runs,
            sum(count_pending)::float8 AS pending, sum(count_running)::float8 AS running,
            sum(count_completed)::float8 AS completed, sum(count_skipped)::float8 AS skipped,
            sum(count_failed)::float8 AS failed,
            extract(epoch FROM now() - min(created_at))::float8 AS oldest
          FROM enrichment_runs WHERE settled_at IS NULL GROUP BY status`
        for (const status of RunStatus.literals) {
          const runs = rows.find((r) => r.status === status)?.runs ?? 0
          Metric.withAttributes(runsUnsettled, { status }).updateUnsafe(runs, context)
        }
        for (const status of ItemStatus.literals) {
          const items = rows.reduce((sum, r) => sum + Number(r[status] ?? 0), 0)
          Metric.withAttributes(itemsUnsettled, { status }).updateUnsafe(items, context)
        }
        oldestUnsettled.updateUnsafe(Math.max(0, ...rows.map((r) => Math.round(Number(r.oldest)))), context)
      })
      const runsRead = yield* Effect.cachedWithTTL(readRuns, RUNS_READ_TTL)

      const render = Effect.gen(function* () {
        yield* runsRead
        return PrometheusMetrics.formatUnsafe(context)
      }).pipe(Effect.orDie)

      return Metrics.of({
        recordRequest,
        count: (counter, amount = 1) => counter.updateUnsafe(amount, context),
        gauge: (gauge, value) => gauge.updateUnsafe(value, context),
        render
      })
    })
  )
}
