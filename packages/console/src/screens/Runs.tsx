/** Runs: the workspace's runs, newest first, filtered by status and enrichment, refreshed every 2 seconds. */
import { useEffect, useState } from "preact/hooks"
import { api, attempt, type Enrichment, type Run, type RunStatus } from "../api.ts"
import { Scrollable } from "../components/Scrollable.tsx"
import { Empty, ErrorNote, Loading, Status } from "../components/Notes.tsx"
import { Progress } from "../components/Progress.tsx"
import { age, count } from "../format.ts"
import { runHref } from "../route.ts"
import { Pager, useCursorPages } from "../components/Pager.tsx"

const STATUSES: ReadonlyArray<RunStatus> = ["pending", "running", "completed", "failed", "cancelled"]
const REFRESH_MS = 2000

export const Runs = () => {
  const [status, setStatus] = useState<RunStatus | "">("")
  const [enrichmentId, setEnrichmentId] = useState("")
  const pages = useCursorPages()
  const [runs, setRuns] = useState<ReadonlyArray<Run> | undefined>(undefined)
  const [next, setNext] = useState<string | null>(null)
  const [error, setError] = useState<string | undefined>(undefined)
  const [catalog, setCatalog] = useState<ReadonlyArray<Enrichment>>([])
  const [now, setNow] = useState(Date.now())
  const cursor = pages.cursor

  useEffect(() => {
    attempt(() => api.GET("/api/enrichments")).then((answer) => {
      if ("data" in answer) setCatalog(answer.data.enrichments)
    })
  }, [])

  useEffect(() => {
    const controller = new AbortController()
    let timer: ReturnType<typeof setTimeout> | undefined
    const load = async () => {
      const answer = await attempt(() =>
        api.GET("/api/enrichment", {
          params: {
            query: {
              limit: "25",
              ...(status === "" ? {} : { status }),
              ...(enrichmentId === "" ? {} : { enrichmentId }),
              ...(cursor === undefined ? {} : { cursor })
            }
          },
          signal: controller.signal
        })
      ).catch(() => undefined)
      if (controller.signal.aborted || answer === undefined) return
      if ("error" in answer) setError(answer.error)
      else {
        setError(undefined)
        setRuns(answer.data.runs)
        setNext(answer.data.hasMore ? answer.data.nextCursor : null)
      }
      setNow(Date.now())
      timer = setTimeout(load, REFRESH_MS)
    }
    load()
    return () => {
      controller.abort()
      clearTimeout(timer)
    }
  }, [status, enrichmentId, cursor])

  return (
    <main id="main">
      <h1>Runs</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select
            value={status}
            onChange={(e) => {
              setStatus((e.target as HTMLSelectElement).value as RunStatus | "")
              pages.reset()
            }}
          >
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option value={s} key={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Enrichment
          <select
            value={enrichmentId}
            onChange={(e) => {
              setEnrichmentId((e.target as HTMLSelectElement).value)
              pages.reset()
            }}
          >
            <option value="">any</option>
            {catalog.map((e) => (
              <option value={e.slug} key={e.id}>
                {e.name}
              </option>
            ))}
          </select>
        </label>
        <span class="help" aria-live="off">
          Refreshed every 2 s
        </span>
      </form>
      {error === undefined ? null : <ErrorNote>{error}</ErrorNote>}
      {runs === undefined ? (
        error === undefined ? (
          <Loading />
        ) : null
      ) : runs.length === 0 ? (
        <Empty>
          {status === "" && enrichmentId === ""
            ? "No runs yet. Dispatch one with POST /api/enrichment (see /docs) or `enrich enrichment create`; it shows here at once."
            : "No run matches these filters. Choose “any” to see every run."}
        </Empty>
      ) : (
        <Scrollable class="table-wrap" label="Runs">
          <table>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Enrichment</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Failed</th>
                <th scope="col">Credits</th>
                <th scope="col">Age</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => (
                <tr key={run.id} data-run={run.id}>
                  <td>
                    <a href={runHref(run.id)} class="mono">
                      {run.id.slice(0, 8)}…{run.id.slice(-4)}
                    </a>
                  </td>
                  <td>{run.enrichment.slug}</td>
                  <td>
                    <Status status={run.status} />
                  </td>
                  <td>
                    <Progress run={run} />
                  </td>
                  <td>{count(run.scope.counts.failed)}</td>
                  <td title="captured / reserved">
                    {count(run.cost.actual.captured)} / {count(run.cost.actual.reserved)}
                  </td>
                  <td>{age(run.timing.createdAt, now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scrollable>
      )}
      <Pager label="Runs pages" pages={pages} next={next} back="previous" backText="Newer" nextText="Older" />
    </main>
  )
}
