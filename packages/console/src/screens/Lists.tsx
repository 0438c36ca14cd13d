/**
 * Lists: the workspace's Lists (`all`, every Lead, first), a new List, and a List's members (`#/lists/ID`), 50 a
 * page by cursor. List names and descriptions are client text and Lead data is attacker-controlled: text only.
 */
import { useEffect, useState } from "preact/hooks"
import { api, attempt, type List, type Member } from "../api.ts"
import { LeadTable } from "../components/LeadTable.tsx"
import { Empty, ErrorNote, Loading } from "../components/Notes.tsx"
import { Scrollable } from "../components/Scrollable.tsx"
import { count, time } from "../format.ts"
import { listHref } from "../route.ts"
import { Pager, useCursorPages } from "../components/Pager.tsx"

export const Lists = () => {
  const pages = useCursorPages()
  const [lists, setLists] = useState<ReadonlyArray<List> | undefined>(undefined)
  const [next, setNext] = useState<string | null>(null)
  const [error, setError] = useState<string | undefined>(undefined)
  const [reload, setReload] = useState(0)
  const cursor = pages.cursor

  useEffect(() => {
    const controller = new AbortController()
    attempt(() =>
      api.GET("/api/lists", {
        params: { query: { limit: "50", ...(cursor === undefined ? {} : { cursor }) } },
        signal: controller.signal
      })
    )
      .then((answer) => {
        if (controller.signal.aborted) return
        if ("error" in answer) setError(answer.error)
        else {
          setError(undefined)
          setLists(answer.data.lists)
          setNext(answer.data.hasMore ? answer.data.nextCursor : null)
        }
      })
      .catch(() => {})
    return () => controller.abort()
  }, [cursor, reload])

  return (
    <main id="main">
      <h1>Lists</h1>
      <p>
        <a href="#/import">Import a CSV into a List</a>
      </p>
      {error === undefined ? null : <ErrorNote>{error}</ErrorNote>}
      {lists === undefined ? (
        error === undefined ? (
          <Loading />
        ) : null
      ) : (
        <Scrollable class="table-wrap" label="Lists">
          <table>
            <thead>
              <tr>
                <th scope="col">List</th>
                <th scope="col">Type</th>
                <th scope="col">Leads</th>
                <th scope="col">Description</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {lists.map((list) => (
                <tr key={list.id} data-list={list.id}>
                  <td>
                    <a href={listHref(list.id)}>{list.name}</a>
                  </td>
                  <td>{list.leadType}</td>
                  <td class="num">{count(list.leadCount)}</td>
                  <td>{list.description ?? ""}</td>
                  <td>{list.protected ? "—" : time(list.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scrollable>
      )}
      <Pager label="Lists pages" pages={pages} next={next} />
      <NewList onCreated={() => setReload((n) => n + 1)} />
    </main>
  )
}

const NewList = ({ onCreated }: { readonly onCreated: () => void }) => {
  const [name, setName] = useState("")
  const [leadType, setLeadType] = useState<"person" | "company" | "mixed">("person")
  const [notice, setNotice] = useState<{ readonly text: string; readonly bad: boolean } | undefined>(undefined)
  const [busy, setBusy] = useState(false)

  const submit = async (event: Event) => {
    event.preventDefault()
    if (name.trim() === "") {
      setNotice({ text: "Give the List a name.", bad: true })
      return
    }
    setBusy(true)
    const answer = await attempt(() => api.POST("/api/lists", { body: { name: name.trim(), leadType } }))
    setBusy(false)
    if ("error" in answer) setNotice({ text: answer.error, bad: true })
    else {
      setNotice({ text: `List “${answer.data.list.name}” created.`, bad: false })
      setName("")
      onCreated()
    }
  }

  return (
    <section class="card" aria-labelledby="new-list-h">
      <h2 id="new-list-h">New List</h2>
      <form class="filters" onSubmit={submit}>
        <label>
          Name
          <input
            name="list-name"
            value={name}
            maxLength={200}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Lead type
          <select
            value={leadType}
            onChange={(e) => setLeadType((e.target as HTMLSelectElement).value as "person" | "company" | "mixed")}
          >
            <option value="person">person</option>
            <option value="company">company</option>
            <option value="mixed">mixed</option>
          </select>
        </label>
        <button type="submit" disabled={busy}>
          Create List
        </button>
      </form>
      {notice === undefined ? null : notice.bad ? (
        <ErrorNote>{notice.text}</ErrorNote>
      ) : (
        <p class="note" role="status">
          {notice.text}
        </p>
      )}
    </section>
  )
}

export const ListDetail = ({ id }: { readonly id: string }) => {
  const [list, setList] = useState<List | undefined>(undefined)
  const pages = useCursorPages()
  const [members, setMembers] = useState<ReadonlyArray<Member> | undefined>(undefined)
  const [total, setTotal] = useState(0)
  const [next, setNext] = useState<string | null>(null)
  const [error, setError] = useState<string | undefined>(undefined)
  const cursor = pages.cursor

  useEffect(() => {
    // the List's name and type: from the Lists' pages (there is no GET of one List)
    const controller = new AbortController()
    const find = async (after: string | undefined): Promise<void> => {
      const answer = await attempt(() =>
        api.GET("/api/lists", {
          params: { query: { limit: "500", ...(after === undefined ? {} : { cursor: after }) } },
          signal: controller.signal
        })
      )
      if (controller.signal.aborted || "error" in answer) return
      const found = answer.data.lists.find((l) => l.id === id)
      if (found !== undefined) setList(found)
      else if (answer.data.hasMore && answer.data.nextCursor !== null) return find(answer.data.nextCursor)
    }
    find(undefined).catch(() => {})
    return () => controller.abort()
  }, [id])

  useEffect(() => {
    const controller = new AbortController()
    setMembers(undefined)
    attempt(() =>
      api.GET("/api/lists/{id}/leads", {
        params: { path: { id }, query: { limit: "50", ...(cursor === undefined ? {} : { cursor }) } },
        signal: controller.signal
      })
    )
      .then((answer) => {
        if (controller.signal.aborted) return
        if ("error" in answer) setError(answer.error)
        else {
          setError(undefined)
          setMembers(answer.data.leads)
          setTotal(answer.data.total)
          setNext(answer.data.hasMore ? answer.data.nextCursor : null)
        }
      })
      .catch(() => {})
    return () => controller.abort()
  }, [id, cursor])

  return (
    <main id="main">
      <p>
        <a href="#/lists">← Lists</a>
      </p>
      <h1>List {list?.name ?? ""}</h1>
      {list === undefined ? null : (
        <p class="help">
          {list.leadType} Leads · {count(total)} member{total === 1 ? "" : "s"}
          {list.description === null ? "" : ` · ${list.description}`}
        </p>
      )}
      {error === undefined ? null : (
        <ErrorNote>
          {error} <a href="#/lists">Back to the Lists</a>.
        </ErrorNote>
      )}
      {members === undefined ? (
        error === undefined ? (
          <Loading />
        ) : null
      ) : members.length === 0 ? (
        <Empty>
          This List has no Leads yet. <a href="#/import">Import a CSV</a> into it.
        </Empty>
      ) : (
        <LeadTable label="Members" leads={members.map((lead) => ({ ...lead, key: lead.id }))} />
      )}
      <Pager label="Members pages" pages={pages} next={next} />
    </main>
  )
}
