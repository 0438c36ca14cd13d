/**
 * Import a CSV by upload: a file, the List it goes into and the import's options; first a preview
 * (`POST /api/lists/import?preview=true`, `Content-Type: text/csv`: how each column maps to a Lead field, the
 * first rows as the Leads they would import, the rows that are not Leads), then the import itself, whose result
 * links to the List. The mapping is the server's (the same code as `enrich lead import`): the console maps
 * nothing itself. The file's content is attacker-controlled: shown as text only.
 */
import { useEffect, useState } from "preact/hooks"
import { api, attempt, type ImportPreview, type ImportQuery, type ImportResult, type List } from "../api.ts"
import { LeadTable } from "../components/LeadTable.tsx"
import { ErrorNote } from "../components/Notes.tsx"
import { Scrollable } from "../components/Scrollable.tsx"
import { count } from "../format.ts"
import { listHref } from "../route.ts"

/** The API's limit for one request (1 MiB); a larger file is refused before it is sent. */
const MAX_BYTES = 1024 * 1024

const REASONS = {
  unknown: "not imported: no Lead field of that name",
  duplicate: "not imported: a column before it fills the same field",
  skipped: "not imported (skipped)",
  empty: "not imported: the column has no name"
} as const

type Report = Pick<ImportPreview, "mapping" | "rejected" | "rows" | "unmapped">

const Rejected = ({ report }: { readonly report: Report }) =>
  (report.rejected ?? []).length === 0 ? null : (
    <section aria-labelledby="rejected-h">
      <h3 id="rejected-h">Rows that are not Leads ({count(report.rejected!.length)})</h3>
      <Scrollable class="table-wrap" label="Rejected rows">
        <table>
          <thead>
            <tr>
              <th scope="col">Row</th>
              <th scope="col">Field</th>
              <th scope="col">Problem</th>
            </tr>
          </thead>
          <tbody>
            {report.rejected!.slice(0, 100).flatMap((r) =>
              r.reasons.map((reason, i) => (
                <tr key={`${r.row}-${i}`} data-rejected={r.row}>
                  <td class="num">{r.row}</td>
                  <td class="mono">{reason.path}</td>
                  <td>{reason.message}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </Scrollable>
    </section>
  )

export const Import = () => {
  const [lists, setLists] = useState<ReadonlyArray<List>>([])
  const [file, setFile] = useState<File | undefined>(undefined)
  const [listId, setListId] = useState("all")
  const [type, setType] = useState<NonNullable<ImportQuery["type"]> | "">("")
  const [delimiter, setDelimiter] = useState<NonNullable<ImportQuery["delimiter"]> | "">("")
  const [preview, setPreview] = useState<ImportPreview | undefined>(undefined)
  const [result, setResult] = useState<ImportResult | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)

  useEffect(() => {
    attempt(() => api.GET("/api/lists", { params: { query: { limit: "500" } } })).then((answer) => {
      if ("data" in answer) setLists(answer.data.lists)
    })
  }, [])

  // any change of the file or the options asks for a new preview
  const changed = () => {
    setPreview(undefined)
    setResult(undefined)
    setError(undefined)
  }

  const send = async (asPreview: boolean) => {
    if (file === undefined) {
      setError("Choose a CSV file first.")
      return
    }
    if (file.size > MAX_BYTES) {
      setError(
        `The file is ${count(file.size)} bytes; an import takes at most 1 MiB (and 5,000 rows). Split it, or use \`enrich lead import\`, which does.`
      )
      return
    }
    setBusy(true)
    setError(undefined)
    const csv = await file.text()
    const answer = await attempt(() =>
      api.POST("/api/lists/import", {
        params: {
          query: {
            ...(listId === "all" ? {} : { listId }),
            ...(type === "" ? {} : { type }),
            ...(delimiter === "" ? {} : { delimiter }),
            ...(asPreview ? { preview: "true" as const } : {})
          }
        },
        body: csv,
        bodySerializer: (body: unknown) => body as string,
        headers: { "Content-Type": "text/csv" }
      })
    )
    setBusy(false)
    if ("error" in answer) {
      setError(answer.error)
      return
    }
    if ("preview" in answer.data) setPreview(answer.data)
    else {
      setPreview(undefined)
      setResult(answer.data)
    }
  }

  const target = lists.find((l) => l.id === listId)

  return (
    <main id="main">
      <h1>Import a CSV</h1>
      <p>
        A header row, then one Lead per row (an export of Apollo, HubSpot, Salesforce, Sales Navigator, Clay or a
        spreadsheet). Columns map to Lead fields by name or alias; the preview shows how before anything is written.
      </p>
      <form
        class="card import-form"
        onSubmit={(e) => {
          e.preventDefault()
          send(true)
        }}
      >
        <label for="csv-file">CSV file (at most 1 MiB and 5,000 rows)</label>
        <input
          id="csv-file"
          type="file"
          accept=".csv,text/csv"
          onChange={(e) => {
            setFile((e.target as HTMLInputElement).files?.[0])
            changed()
          }}
        />
        <div class="filters">
          <label>
            Into the List
            <select
              value={listId}
              onChange={(e) => {
                setListId((e.target as HTMLSelectElement).value)
                changed()
              }}
            >
              {lists.length === 0 ? <option value="all">All Leads</option> : null}
              {lists.map((l) => (
                <option value={l.id} key={l.id}>
                  {l.name} ({l.leadType})
                </option>
              ))}
            </select>
          </label>
          <label>
            Lead type
            <select
              value={type}
              onChange={(e) => {
                setType((e.target as HTMLSelectElement).value as NonNullable<ImportQuery["type"]> | "")
                changed()
              }}
            >
              <option value="">inferred per row</option>
              <option value="person">person</option>
              <option value="company">company</option>
            </select>
          </label>
          <label>
            Delimiter
            <select
              value={delimiter}
              onChange={(e) => {
                setDelimiter((e.target as HTMLSelectElement).value as NonNullable<ImportQuery["delimiter"]> | "")
                changed()
              }}
            >
              <option value="">detected</option>
              <option value=",">comma</option>
              <option value=";">semicolon</option>
              <option value="tab">tab</option>
            </select>
          </label>
        </div>
        <p class="help">
          No List yet? <a href="#/lists">Create one</a>; “All Leads” imports without adding to a List.
        </p>
        <div class="actions">
          <button type="submit" disabled={busy || file === undefined}>
            {busy && preview === undefined ? "Reading…" : "Preview"}
          </button>
        </div>
      </form>
      {error === undefined ? null : <ErrorNote>{error}</ErrorNote>}
      {preview === undefined ? null : (
        <section class="import-preview" aria-labelledby="preview-h">
          <h2 id="preview-h">Preview: nothing is written yet</h2>
          <p role="status" class="note">
            {count(preview.rows ?? 0)} row{preview.rows === 1 ? "" : "s"} read: {count(preview.preview.leadCount)} Lead
            {preview.preview.leadCount === 1 ? "" : "s"} ({count(preview.preview.personCount)} people,{" "}
            {count(preview.preview.companyCount)} companies)
            {(preview.rejected ?? []).length === 0
              ? ""
              : `, ${count(preview.rejected!.length)} row${preview.rejected!.length === 1 ? "" : "s"} not Leads`}
            .
          </p>
          <h3>Columns</h3>
          <Scrollable class="table-wrap" label="Column mapping">
            <table>
              <thead>
                <tr>
                  <th scope="col">Column</th>
                  <th scope="col">Lead field</th>
                </tr>
              </thead>
              <tbody>
                {(preview.mapping ?? []).map((m, i) => (
                  <tr key={`${i}`} data-column={m.column} data-field={m.field ?? ""}>
                    <td>{m.column}</td>
                    <td class={m.field === null ? "help" : "mono"}>{m.field ?? REASONS[m.reason ?? "unknown"]}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scrollable>
          <h3>First rows as Leads</h3>
          <LeadTable
            label="First rows as Leads"
            rows
            leads={(preview.sample ?? []).map((s) => ({ ...s.lead, key: String(s.row), row: s.row }))}
          />
          <Rejected report={preview} />
          <div class="actions">
            <button type="button" class="primary" disabled={busy} onClick={() => send(false)}>
              Import {count(preview.preview.leadCount)} Lead{preview.preview.leadCount === 1 ? "" : "s"} into{" "}
              {target?.name ?? "All Leads"}
            </button>
          </div>
        </section>
      )}
      {result === undefined ? null : (
        <section class="card" aria-labelledby="result-h">
          <h2 id="result-h">Imported</h2>
          <p role="status" data-created={result.created} data-matched={result.matched}>
            {count(result.created)} new Lead{result.created === 1 ? "" : "s"}, {count(result.matched)} matched existing
            Leads (empty fields filled, nothing overwritten)
            {(result.rejected ?? []).length === 0
              ? ""
              : `; ${count(result.rejected!.length)} row${result.rejected!.length === 1 ? " was" : "s were"} not Leads`}
            .
          </p>
          <Rejected report={result} />
          <p>
            {listId === "all" ? (
              <a href="#/leads">See the Leads</a>
            ) : (
              <a href={listHref(listId)}>See the List {target?.name ?? ""}</a>
            )}
          </p>
        </section>
      )}
    </main>
  )
}
