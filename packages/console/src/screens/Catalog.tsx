/** Catalog: each enrichment the workspace may run — subject, cost model, input schema, output. */
import { useEffect, useState } from "preact/hooks"
import { api, attempt, type Enrichment } from "../api.ts"
import { Scrollable } from "../components/Scrollable.tsx"
import { Empty, ErrorNote, Loading } from "../components/Notes.tsx"

const schema = (value: unknown) =>
  value === null || value === undefined || (typeof value === "object" && Object.keys(value).length === 0)
    ? "none"
    : JSON.stringify(value, null, 2)

export const Catalog = () => {
  const [enrichments, setEnrichments] = useState<ReadonlyArray<Enrichment> | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)

  useEffect(() => {
    attempt(() => api.GET("/api/enrichments")).then((answer) => {
      if ("error" in answer) setError(answer.error)
      else setEnrichments(answer.data.enrichments)
    })
  }, [])

  return (
    <main id="main">
      <h1>Catalog</h1>
      {error === undefined ? null : <ErrorNote>{error}</ErrorNote>}
      {enrichments === undefined ? (
        error === undefined ? (
          <Loading />
        ) : null
      ) : enrichments.length === 0 ? (
        <Empty>No enrichment is offered. An operator adds some with ENRICH_CATALOG_FILES (docs/PROVIDERS.md).</Empty>
      ) : (
        <div class="catalog">
          {enrichments.map((e) => (
            <article class="card" key={e.id} aria-labelledby={`enrichment-${e.id}`}>
              <h2 id={`enrichment-${e.id}`}>
                {e.name} <span class="mono help">{e.slug}</span>
              </h2>
              <p>{e.description}</p>
              <dl>
                <dt>Subject</dt>
                <dd>{e.subject}</dd>
                <dt>Cost</dt>
                <dd>
                  {e.costModel.unitCost} credit{e.costModel.unitCost === 1 ? "" : "s"} per Lead, charged on{" "}
                  {e.costModel.chargeOn} ({e.costModel.creditAction})
                </dd>
                <dt>Reads</dt>
                <dd>{e.reads.length === 0 ? "—" : e.reads.join(", ")}</dd>
                <dt>Output</dt>
                <dd>
                  {e.defaultOutput.target} <span class="mono">{e.defaultOutput.attributeKey}</span>
                </dd>
                <dt>Runs on</dt>
                <dd>
                  {e.toolBinding.type}
                  {e.enabled ? "" : " (disabled)"}
                </dd>
              </dl>
              <details>
                <summary>Input schema</summary>
                <Scrollable class="scroll-pre" label={`${e.name} input schema`}>
                  <pre>{schema(e.inputSchema)}</pre>
                </Scrollable>
              </details>
              <details>
                <summary>Output schema</summary>
                <Scrollable class="scroll-pre" label={`${e.name} output schema`}>
                  <pre>{schema(e.outputSchema)}</pre>
                </Scrollable>
              </details>
            </article>
          ))}
        </div>
      )}
    </main>
  )
}
