/**
 * Leads: the workspace's Leads, searched (`q`: a name, an email, a domain, a company, a title) and filtered by
 * type, 50 a page by cursor. Lead data is shown as text only (components/LeadTable.tsx).
 */
import { useEffect, useState } from "preact/hooks"
import { api, attempt, type Lead } from "../api.ts"
import { LeadTable } from "../components/LeadTable.tsx"
import { Empty, ErrorNote, Loading } from "../components/Notes.tsx"
import { Pager, useCursorPages } from "../components/Pager.tsx"

type LeadType = "person" | "company"

export const Leads = () => {
  const [typed, setTyped] = useState("")
  const [q, setQ] = useState("")
  const [type, setType] = useState<LeadType | "">("")
  const pages = useCursorPages()
  const [leads, setLeads] = useState<ReadonlyArray<Lead> | undefined>(undefined)
  const [next, setNext] = useState<string | null>(null)
  const [error, setError] = useState<string | undefined>(undefined)
  const cursor = pages.cursor

  useEffect(() => {
    const controller = new AbortController()
    setLeads(undefined)
    attempt(() =>
      api.GET("/api/leads", {
        params: {
          query: {
            limit: "50",
            ...(q === "" ? {} : { q }),
            ...(type === "" ? {} : { type }),
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
          setLeads(answer.data.leads)
          setNext(answer.data.hasMore ? answer.data.nextCursor : null)
        }
      })
      .catch(() => {})
    return () => controller.abort()
  }, [q, type, cursor])

  return (
    <main id="main">
      <h1>Leads</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault()
          setQ(typed.trim())
          pages.reset()
        }}
      >
        <label>
          Search
          <input
            type="search"
            name="q"
            value={typed}
            maxLength={200}
            placeholder="name, email, domain, company, title"
            onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          Type
          <select
            value={type}
            onChange={(e) => {
              setType((e.target as HTMLSelectElement).value as LeadType | "")
              pages.reset()
            }}
          >
            <option value="">any</option>
            <option value="person">person</option>
            <option value="company">company</option>
          </select>
        </label>
        <button type="submit">Search</button>
        <a href="#/import">Import a CSV</a>
      </form>
      {error === undefined ? null : <ErrorNote>{error}</ErrorNote>}
      {leads === undefined ? (
        error === undefined ? (
          <Loading />
        ) : null
      ) : leads.length === 0 ? (
        <Empty>
          {q === "" && type === "" ? (
            <>
              No Leads yet. <a href="#/import">Import a CSV</a>, or send them with POST /api/lists/import (see /docs).
            </>
          ) : (
            "No Lead matches. Search for part of a name, an email, a domain, a company or a title, or clear the search."
          )}
        </Empty>
      ) : (
        <LeadTable label="Leads" leads={leads.map((lead) => ({ ...lead, key: lead.id }))} />
      )}
      <Pager label="Leads pages" pages={pages} next={next} />
    </main>
  )
}
