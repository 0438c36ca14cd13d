/**
 * The operator's workspace picker (after logging in with the admin token): the workspaces, 50 a page
 * (`GET /admin/workspaces`); picking one makes a workspace key for it that expires in 4 hours
 * (`POST /admin/workspaces/{id}/api-keys` with `expiresAt`), with which the screens then call `/api`. The key is
 * revoked when the operator switches workspace or logs out (App.tsx). Workspace names are client text: shown as
 * text.
 */
import { useEffect, useState } from "preact/hooks"
import { api, attempt, type WorkspaceSummary } from "../api.ts"
import { Empty, ErrorNote, Loading } from "../components/Notes.tsx"
import { Scrollable } from "../components/Scrollable.tsx"
import { time } from "../format.ts"
import { saveKey, savePicked } from "../session.ts"
import { Pager, useCursorPages } from "../components/Pager.tsx"

/** How long the key made for a picked workspace lives. */
export const PICKED_KEY_HOURS = 4

export const WorkspacePicker = (props: {
  readonly onPicked: () => void
  readonly onLogout: () => void
  readonly notice?: string | undefined
}) => {
  const pages = useCursorPages()
  const [workspaces, setWorkspaces] = useState<ReadonlyArray<WorkspaceSummary> | undefined>(undefined)
  const [next, setNext] = useState<string | null>(null)
  const [error, setError] = useState<string | undefined>(props.notice)
  const [busy, setBusy] = useState(false)
  const cursor = pages.cursor

  useEffect(() => {
    document.title = "Pick a workspace · enrich console"
    const controller = new AbortController()
    attempt(() =>
      api.GET("/admin/workspaces", {
        params: { query: { limit: "50", ...(cursor === undefined ? {} : { cursor }) } },
        signal: controller.signal
      })
    )
      .then((answer) => {
        if (controller.signal.aborted) return
        if ("error" in answer) setError(answer.error)
        else {
          setWorkspaces(answer.data.workspaces)
          setNext(answer.data.hasMore ? answer.data.nextCursor : null)
        }
      })
      .catch(() => {})
    return () => controller.abort()
  }, [cursor])

  const pick = async (workspace: WorkspaceSummary) => {
    setBusy(true)
    const expiresAt = new Date(Date.now() + PICKED_KEY_HOURS * 3_600_000).toISOString()
    const answer = await attempt(() =>
      api.POST("/admin/workspaces/{id}/api-keys", { params: { path: { id: workspace.id } }, body: { expiresAt } })
    )
    setBusy(false)
    if ("error" in answer) {
      setError(answer.error)
      return
    }
    saveKey(answer.data.apiKey)
    savePicked({ workspaceId: workspace.id, name: workspace.name, keyId: answer.data.id })
    props.onPicked()
  }

  return (
    <main id="main">
      <div class="picker-head">
        <h1>Pick a workspace</h1>
        <button type="button" onClick={props.onLogout}>
          Log out
        </button>
      </div>
      <p>
        Logged in as the operator. Opening a workspace makes an API key for it that expires in {PICKED_KEY_HOURS} hours
        and is revoked when you switch or log out.
      </p>
      {error === undefined ? null : <ErrorNote>{error}</ErrorNote>}
      {workspaces === undefined ? (
        error === undefined ? (
          <Loading />
        ) : null
      ) : workspaces.length === 0 ? (
        <Empty>No workspace yet. Create one with `enrich workspace create` or POST /admin/workspaces.</Empty>
      ) : (
        <Scrollable class="table-wrap" label="Workspaces">
          <table>
            <thead>
              <tr>
                <th scope="col">Workspace</th>
                <th scope="col">Id</th>
                <th scope="col">Created</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {workspaces.map((w) => (
                <tr key={w.id} data-workspace={w.id}>
                  <td>{w.name}</td>
                  <td class="mono">{w.id}</td>
                  <td>{time(w.createdAt)}</td>
                  <td>
                    <button type="button" disabled={busy} onClick={() => pick(w)} aria-label={`Open ${w.name}`}>
                      Open
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scrollable>
      )}
      <Pager label="Workspaces pages" pages={pages} next={next} />
    </main>
  )
}
