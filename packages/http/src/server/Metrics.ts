/**
 * Prometheus metrics of an API process: request counts and latencies per
 * route (the route pattern, never the raw path, so ids do not explode the
 * label set), and run and item counters read from the run projection when
 * scraped.
 */
import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"

const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** The route pattern of a path: ids and other variable segments become `:id`. */
export const routeOf = (path: string): string => {
  const clean = path.split("?")[0] ?? path
  const known: ReadonlyArray<readonly [RegExp, string]> = [
    [/^\/api\/enrichment\/[^/]+\/(items|events|cancel)$/, "/api/enrichment/:id/$1"],
    [/^\/api\/enrichment\/[^/]+$/, "/api/enrichment/:id"],
    [/^\/api\/lists\/[^/]+\/leads$/, "/api/lists/:id/leads"],
    [/^\/admin\/workspaces\/[^/]+\/(api-keys|credits)$/, "/admin/workspaces/:id/$1"],
    [/^\/admin\/api-keys\/[^/]+\/revoke$/, "/admin/api-keys/:id/revoke"],
    [/^\/admin\/runs\/[^/]+\/fail$/, "/admin/runs/:id/fail"]
  ]
  for (const [pattern, route] of known) if (pattern.test(clean)) return clean.replace(pattern, route)
  return /^\/(api|admin)\/[\w/-]*$|^\/(healthz|readyz|metrics|openapi\.json|docs)$/.test(clean) ? clean : "other"
}

interface Series {
  count: number
  sum: number
  readonly buckets: Array<number>
}

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")

export class Metrics extends Context.Service<
  Metrics,
  {
    readonly recordRequest: (request: {
      readonly method: string
      readonly route: string
      readonly status: number
      readonly seconds: number
    }) => void
    readonly render: Effect.Effect<string>
  }
>()("@enrich/http/Metrics") {
  static readonly layer = Layer.effect(
    Metrics,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const requests = new Map<string, number>()
      const latencies = new Map<string, Series>()

      const recordRequest: Metrics["Service"]["recordRequest"] = ({ method, route, seconds, status }) => {
        const counter = `method="${method}",route="${escapeLabel(route)}",status="${status}"`
        requests.set(counter, (requests.get(counter) ?? 0) + 1)
        const key = `method="${method}",route="${escapeLabel(route)}"`
        const series = latencies.get(key) ?? { count: 0, sum: 0, buckets: buckets.map(() => 0) }
        series.count++
        series.sum += seconds
        buckets.forEach((bound, i) => {
          if (seconds <= bound) series.buckets[i]!++
        })
        latencies.set(key, series)
      }

      const render = Effect.gen(function* () {
        const lines: Array<string> = [
          "# HELP enrich_http_requests_total HTTP requests by route and status.",
          "# TYPE enrich_http_requests_total counter"
        ]
        for (const [labels, n] of requests) lines.push(`enrich_http_requests_total{${labels}} ${n}`)
        lines.push(
          "# HELP enrich_http_request_duration_seconds HTTP request latency by route.",
          "# TYPE enrich_http_request_duration_seconds histogram"
        )
        for (const [labels, series] of latencies) {
          buckets.forEach((bound, i) => {
            lines.push(`enrich_http_request_duration_seconds_bucket{${labels},le="${bound}"} ${series.buckets[i]}`)
          })
          lines.push(`enrich_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${series.count}`)
          lines.push(`enrich_http_request_duration_seconds_sum{${labels}} ${series.sum}`)
          lines.push(`enrich_http_request_duration_seconds_count{${labels}} ${series.count}`)
        }
        const runs = yield* sql<{ status: string; n: number }>`
          SELECT status, count(*)::int AS n FROM enrichment_runs GROUP BY status ORDER BY status`
        lines.push("# HELP enrich_runs Enrichment runs by status.", "# TYPE enrich_runs gauge")
        for (const r of runs) lines.push(`enrich_runs{status="${escapeLabel(r.status)}"} ${r.n}`)
        const [items] = yield* sql<Record<string, number>>`SELECT
          coalesce(sum(count_pending), 0)::bigint::text AS pending, coalesce(sum(count_running), 0)::bigint::text AS running,
          coalesce(sum(count_completed), 0)::bigint::text AS completed, coalesce(sum(count_skipped), 0)::bigint::text AS skipped,
          coalesce(sum(count_failed), 0)::bigint::text AS failed
          FROM enrichment_runs`
        lines.push("# HELP enrich_items Run items by status, over all runs.", "# TYPE enrich_items gauge")
        for (const [status, n] of Object.entries(items ?? {})) lines.push(`enrich_items{status="${status}"} ${n}`)
        return `${lines.join("\n")}\n`
      }).pipe(Effect.orDie)

      return Metrics.of({ recordRequest, render })
    })
  )
}
