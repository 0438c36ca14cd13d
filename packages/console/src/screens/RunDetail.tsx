/**
 * Run detail: live progress over the run's SSE stream (polling every 2 s if the stream drops), the counts
 * over time as a chart, timing, credits, Cancel, Retry failed, Export, and the items table — paged by
 * cursor, filtered by status, a failed item's error opened in place. Lead data (the items' Lead snapshots,
 * results and errors) is attacker-controlled: it is shown as text only.
 */
import { useEffect, useMemo, useState } from "preact/hooks"
import { api, attempt, type Item, type ItemStatus, type Run } from "../api.ts"
import { TimeChart } from "../components/Chart.tsx"
import { Scrollable } from "../components/Scrollable.tsx"
import { Empty, ErrorNote, Loading, Status } from "../components/Notes.tsx"
import { Progress } from "../components/Progress.tsx"
import { allItems, download, toCsv, toJsonl } from "../export.ts"
import { count, duration, isActive, time } from "../format.ts"
import { followRun } from "../live.ts"
import { runHref } from "../route.ts"
import { Pager, useCursorPages } from "../components/Pager.tsx"

const ITEM_STATUSES: ReadonlyArray<NonNullable<ItemStatus>> = ["pending", "running", "completed", "skipped", "failed"]

interface Point {
  readonly at: number
  readonly done: number
  readonly failed: number
  readonly waiting: number
}

const pointOf = (run: Run): Point => {
  const c = run.scope.counts
  return { at: Date.now() / 1000, done: c.completed + c.skipped, failed: c.failed, waiting: c.pending + c.running }
}

/**
 * Text of a Lead snapshot's usual fields. A snapshot is keyed by the Lead paths the enrichment reads
 * (`email`, `name.full`, `company.name`, …); a nested shape is read too.
 */
const leadFields = (snapshot: unknown) => {
  const s = (typeof snapshot === "object" && snapshot !== null ? snapshot : {}) as Record<string, unknown>
  const text = (v: unknown) => (typeof v === "string" ? v : "")
  const nested = (key: string, field: string) => {
    const v = s[key]
    return typeof v === "object" && v !== null ? text((v as Record<string, unknown>)[field]) : ""
  }
  const first = (...values: ReadonlyArray<string>) => values.find((v) => v !== "") ?? ""
  return {
    email: text(s["email"]),
    name: first(
      text(s["name.full"]),
      nested("name", "full"),
      [text(s["name.first"]), text(s["name.last"])].join(" ").trim(),
      text(s["name"])
    ),
    company: first(
      text(s["company.name"]),
      nested("company", "name"),
      text(s["company"]),
      text(s["company.domain"]),
      text(s["domain"])
    )
  }
}

const shown = (value: unknown) => (value === null || value === undefined ? "" : JSON.stringify(value, null, 2))

export const RunDetail = ({ id }: { readonly id: string }) => {
  const [run, setRun] = useState<Run | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [live, setLive] = useState<"stream" | "polling" | "over">("stream")
  const [points, setPoints] = useState<ReadonlyArray<Point>>([])
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)

  const seen = (next: Run) => {
    setRun(next)
    setPoints((all) => [...all.slice(-599), pointOf(next)])
  }

  useEffect(() => {
    setRun(undefined)
    setPoints([])
    setError(undefined)
    const controller = new AbortController()
    let timer: ReturnType<typeof setTimeout> | undefined
    const poll = async () => {
      const answer = await attempt(() => api.GET("/api/enrichment/{id}", { params: { path: { id } } }))
      if (controller.signal.aborted) return
      if ("error" in answer) setError(answer.error)
      else {
        setError(undefined)
        seen(answer.data.run)
        if (!isActive(answer.data.run)) {
          setLive("over")
          return
        }
      }
      timer = setTimeout(poll, 2000)
    }
    const start = async () => {
      const first = await attempt(() => api.GET("/api/enrichment/{id}", { params: { path: { id } } }))
      if (controller.signal.aborted) return
      if ("error" in first) {
        setError(first.error)
        return
      }
      seen(first.data.run)
      if (!isActive(first.data.run)) {
        setLive("over")
        return
      }
      setLive("stream")
      const followed = await followRun(id, seen, controller.signal)
      if (controller.signal.aborted) return
      if (followed.ended === "settled") setLive("over")
      else {
        setLive("polling")
        poll()
      }
    }
    start()
    return () => {
      controller.abort()
      clearTimeout(timer)
    }
  }, [id])

  const chart = useMemo(
    () => ({
      times: points.map((p) => p.at),
      series: [
        { label: "done", color: "#1a7f37", values: points.map((p) => p.done) },
        { label: "failed", color: "#b42318", values: points.map((p) => p.failed) },
        { label: "waiting", color: "#475467", values: points.map((p) => p.waiting) }
      ]
    }),
    [points]
  )

  if (run === undefined) {
    return (
      <main id="main">
        <h1>Run</h1>
        {error === undefined ? (
          <Loading />
        ) : (
          <ErrorNote>
            {error} <a href="#/runs">Back to the runs</a>.
          </ErrorNote>
        )}
      </main>
    )
  }

  const cancel = async () => {
    setBusy(true)
    const answer = await attempt(() => api.POST("/api/enrichment/{id}/cancel", { params: { path: { id } } }))
    setBusy(false)
    setNotice("error" in answer ? answer.error : "Cancelled: running items finish, pending ones are skipped.")
  }

  const retry = async () => {
    setBusy(true)
    const answer = await attempt(() =>
      api.POST("/api/enrichment/{id}/retry", {
        params: { path: { id }, header: { "idempotency-key": `console-retry-${id}` } },
        body: {}
      })
    )
    setBusy(false)
    if ("error" in answer) setNotice(answer.error)
    else if ("runId" in answer.data) location.hash = runHref(answer.data.runId)
  }

  const exportAs = async (format: "jsonl" | "csv") => {
    setBusy(true)
    const answer = await allItems(id)
    setBusy(false)
    if ("error" in answer) {
      setNotice(answer.error)
      return
    }
    if (format === "jsonl") download(`run-${id}.jsonl`, "application/x-ndjson", toJsonl(answer.items))
    else download(`run-${id}.csv`, "text/csv", toCsv(answer.items))
    setNotice(`Exported ${count(answer.items.length)} items as ${format.toUpperCase()}.`)
  }

  const c = run.scope.counts
  const t = run.timing
  const active = isActive(run)
  const cancellable = run.status === "pending" || run.status === "running"
  const end = t.completedAt ?? t.cancelledAt ?? t.settledAt
  const last = points.at(-1)

  return (
    <main id="main">
      <p>
        <a href="#/runs">← Runs</a>
      </p>
      <h1>
        Run <span class="mono">{run.id}</span>
      </h1>
      <div class="run-head">
        <Status status={run.status} />
        <Progress run={run} />
        <span class="help" aria-live="polite" data-live={live}>
          {live === "stream" ? "Live (event stream)" : live === "polling" ? "Live (polling every 2 s)" : "Settled"}
        </span>
      </div>
      {run.error === null ? null : <ErrorNote>Run failed: {run.error.message}</ErrorNote>}
      {error === undefined ? null : <ErrorNote>{error}</ErrorNote>}
      <div class="actions">
        <button type="button" onClick={cancel} disabled={!cancellable || busy}>
          Cancel run
        </button>
        <button type="button" onClick={retry} disabled={active || c.failed === 0 || busy}>
          Retry failed ({count(c.failed)})
        </button>
        <button type="button" onClick={() => exportAs("csv")} disabled={busy}>
          Export CSV
        </button>
        <button type="button" onClick={() => exportAs("jsonl")} disabled={busy}>
          Export JSONL
        </button>
      </div>
      {notice === undefined ? null : (
        <p class="note" role="status">
          {notice}
        </p>
      )}
      {run.retryOf === null ? null : (
        <p>
          A retry of <a href={runHref(run.retryOf)}>run {run.retryOf.slice(0, 8)}…</a>
        </p>
      )}
      {run.retries.length === 0 ? null : (
        <p>
          Retried as{" "}
          {run.retries.map((r) => (
            <a key={r} href={runHref(r)} class="mono">
              {r.slice(0, 8)}…{" "}
            </a>
          ))}
        </p>
      )}
      <div class="cards">
        <section class="card" aria-labelledby="counts-h">
          <h2 id="counts-h">Items</h2>
          <dl>
            <dt>Enrichment</dt>
            <dd>
              {run.enrichment.slug} v{run.enrichment.version}
            </dd>
            <dt>Pending</dt>
            <dd>{count(c.pending)}</dd>
            <dt>Running</dt>
            <dd>{count(c.running)}</dd>
            <dt>Completed</dt>
            <dd>{count(c.completed)}</dd>
            <dt>Skipped</dt>
            <dd>{count(c.skipped)}</dd>
            <dt>Failed</dt>
            <dd>{count(c.failed)}</dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="timing-h">
          <h2 id="timing-h">Timing</h2>
          <dl>
            <dt>Created</dt>
            <dd>{time(t.createdAt)}</dd>
            <dt>Started</dt>
            <dd>{time(t.startedAt)}</dd>
            <dt>{t.cancelledAt === null ? "Completed" : "Cancelled"}</dt>
            <dd>{time(t.cancelledAt ?? t.completedAt)}</dd>
            <dt>Settled</dt>
            <dd>{time(t.settledAt)}</dd>
            <dt>Took</dt>
            <dd>
              {t.startedAt === null
                ? "—"
                : duration((end === null ? Date.now() : Date.parse(end)) - Date.parse(t.startedAt))}
            </dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="credits-h">
          <h2 id="credits-h">Credits</h2>
          <dl>
            <dt>Reserved</dt>
            <dd>{count(run.cost.actual.reserved)}</dd>
            <dt>Captured</dt>
            <dd>{count(run.cost.actual.captured)}</dd>
            <dt>Released</dt>
            <dd>{count(run.cost.actual.released)}</dd>
          </dl>
        </section>
      </div>
      <TimeChart
        title="Items over time (while this page is open)"
        times={chart.times}
        series={chart.series}
        summary={
          last === undefined
            ? "no data yet"
            : `${count(last.done)} done, ${count(last.failed)} failed, ${count(last.waiting)} waiting`
        }
      />
      <Items id={id} run={run} />
    </main>
  )
}

const Items = ({ id, run }: { readonly id: string; readonly run: Run }) => {
  const [status, setStatus] = useState<ItemStatus | "">("")
  const pages = useCursorPages()
  const [items, setItems] = useState<ReadonlyArray<Item> | undefined>(undefined)
  const [next, setNext] = useState<string | null>(null)
  const [error, setError] = useState<string | undefined>(undefined)
  const cursor = pages.cursor
  // reloaded as the run moves (its counts change), at most every snapshot
  const moved = JSON.stringify(run.scope.counts)

  useEffect(() => {
    const controller = new AbortController()
    attempt(() =>
      api.GET("/api/enrichment/{id}/items", {
        params: {
          path: { id },
          query: {
            limit: "25",
            ...(status === "" || status === undefined ? {} : { status }),
            ...(cursor === undefined ? {} : { cursor })
          }
        },
        signal: controller.signal
      })
    )
      .then((answer) => {
        if (controller.signal.aborted) return
        if ("error" in answer) setError(answer.error)
        else {
          setError(undefined)
          setItems(answer.data.items)
          setNext(answer.data.page.hasMore ? answer.data.page.nextCursor : null)
        }
      })
      .catch(() => {})
    return () => controller.abort()
  }, [id, status, cursor, moved])

  return (
    <section aria-labelledby="items-h">
      <h2 id="items-h">Items</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Item status
          <select
            value={status ?? ""}
            onChange={(e) => {
              setStatus((e.target as HTMLSelectElement).value as ItemStatus | "")
              pages.reset()
              // no stale rows of the other filter while the new page loads
              setItems(undefined)
            }}
          >
            <option value="">any</option>
            {ITEM_STATUSES.map((s) => (
              <option value={s} key={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </form>
      {error === undefined ? null : <ErrorNote>{error}</ErrorNote>}
      {items === undefined ? (
        error === undefined ? (
          <Loading />
        ) : null
      ) : items.length === 0 ? (
        <Empty>
          {status === "" ? "This run has no items." : `No ${status} items. Choose “any” to see every item.`}
        </Empty>
      ) : (
        <Scrollable class="table-wrap" label="Items">
          <table class="items">
            <thead>
              <tr>
                <th scope="col">Lead</th>
                <th scope="col">Email</th>
                <th scope="col">Name</th>
                <th scope="col">Company</th>
                <th scope="col">Status</th>
                <th scope="col">Result or error</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => {
                const lead = leadFields(item.metadata.leadSnapshot)
                return (
                  <tr key={item.id} data-item={item.id} data-status={item.status}>
                    <td class="mono">{item.leadId.slice(0, 8)}…</td>
                    <td>{lead.email}</td>
                    <td>{lead.name}</td>
                    <td>{lead.company}</td>
                    <td>
                      <Status status={item.status} />
                    </td>
                    <td>
                      {item.error !== null ? (
                        <details class="item-error">
                          <summary>Error: {item.error.message.slice(0, 80)}</summary>
                          <p>{item.error.message}</p>
                          <Scrollable class="scroll-pre" label="Error details">
                            <pre>{shown(item.error.details)}</pre>
                          </Scrollable>
                        </details>
                      ) : item.skippedReason !== null ? (
                        <span>skipped: {item.skippedReason}</span>
                      ) : item.result === null || item.result === undefined ? (
                        <span class="help">—</span>
                      ) : (
                        <details>
                          <summary>Result</summary>
                          <Scrollable class="scroll-pre" label="Result">
                            <pre>{shown(item.result)}</pre>
                          </Scrollable>
                        </details>
                      )}
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </Scrollable>
      )}
      <Pager label="Items pages" pages={pages} next={next} />
    </section>
  )
}
