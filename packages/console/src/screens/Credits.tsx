/** Credits: balance, held and captured; the ledger (newest first, its lines linked to their runs); spend over time. */
import { useEffect, useMemo, useState } from "preact/hooks"
import { api, attempt, type Balance, type LedgerEntry } from "../api.ts"
import { TimeChart } from "../components/Chart.tsx"
import { Scrollable } from "../components/Scrollable.tsx"
import { Empty, ErrorNote, Loading } from "../components/Notes.tsx"
import { count, time } from "../format.ts"
import { runHref } from "../route.ts"

export const Credits = () => {
  const [balance, setBalance] = useState<Balance | undefined>(undefined)
  const [entries, setEntries] = useState<ReadonlyArray<LedgerEntry> | undefined>(undefined)
  const [next, setNext] = useState<string | null>(null)
  const [error, setError] = useState<string | undefined>(undefined)

  const page = async (cursor: string | undefined) => {
    const answer = await attempt(() =>
      api.GET("/api/credits/ledger", {
        params: { query: { limit: "100", ...(cursor === undefined ? {} : { cursor }) } }
      })
    )
    if ("error" in answer) {
      setError(answer.error)
      return
    }
    setEntries((before) => [...(cursor === undefined ? [] : (before ?? [])), ...answer.data.entries])
    setNext(answer.data.hasMore ? answer.data.nextCursor : null)
  }

  useEffect(() => {
    attempt(() => api.GET("/api/credits")).then((answer) => {
      if ("error" in answer) setError(answer.error)
      else setBalance(answer.data)
    })
    page(undefined)
  }, [])

  // captured credits summed over time, oldest first (the ledger is newest first)
  const spend = useMemo(() => {
    const captures = [...(entries ?? [])].filter((e) => e.type === "capture" || e.type === "debit").reverse()
    let total = 0
    const times: Array<number> = []
    const values: Array<number> = []
    for (const e of captures) {
      total += e.amount
      times.push(Date.parse(e.createdAt) / 1000)
      values.push(total)
    }
    return { times, values, total }
  }, [entries])

  return (
    <main id="main">
      <h1>Credits</h1>
      {error === undefined ? null : <ErrorNote>{error}</ErrorNote>}
      {balance === undefined ? (
        error === undefined ? (
          <Loading />
        ) : null
      ) : (
        <div class="cards">
          <section class="card stat">
            <h2>Balance</h2>
            <p class="big" data-balance={balance.balance}>
              {count(balance.balance)}
            </p>
            <p class="help">available to new runs</p>
          </section>
          <section class="card stat">
            <h2>Held</h2>
            <p class="big">{count(balance.held)}</p>
            <p class="help">reserved by runs still going</p>
          </section>
          <section class="card stat">
            <h2>Captured</h2>
            <p class="big">{count(balance.captured)}</p>
            <p class="help">spent, of {count(balance.granted)} granted</p>
          </section>
        </div>
      )}
      <TimeChart
        title="Credits spent over time"
        times={spend.times}
        series={[{ label: "spent", color: "#b54708", values: spend.values }]}
        summary={`${count(spend.total)} spent in the ledger lines shown`}
      />
      <h2>Ledger</h2>
      {entries === undefined ? null : entries.length === 0 ? (
        <Empty>No credit movements yet. An operator grants credits with `enrich credit grant`.</Empty>
      ) : (
        <Scrollable class="table-wrap" label="Ledger">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Type</th>
                <th scope="col">Amount</th>
                <th scope="col">Run</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id} data-ledger={e.type} data-run={e.runId ?? ""}>
                  <td>{time(e.createdAt)}</td>
                  <td>{e.type}</td>
                  <td class="num">{count(e.amount)}</td>
                  <td>
                    {e.runId === null ? (
                      "—"
                    ) : (
                      <a href={runHref(e.runId)} class="mono">
                        {e.runId.slice(0, 8)}…{e.runId.slice(-4)}
                      </a>
                    )}
                  </td>
                  <td>{e.reason ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scrollable>
      )}
      {next === null ? null : (
        <button type="button" onClick={() => page(next)}>
          Older lines
        </button>
      )}
    </main>
  )
}
