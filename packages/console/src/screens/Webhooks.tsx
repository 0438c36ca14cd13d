/**
 * Webhooks: the workspace's endpoints; a new one (its signing secret shown once, with a copy button and a
 * warning); Rotate secret (the new one shown once too); Delete (asked twice, in the page: no browser dialog);
 * and an endpoint's delivery log (`#/webhooks/ID`): status, attempts, last status code or error, next attempt,
 * Redeliver, refreshed every 2 s.
 */
import { useEffect, useState } from "preact/hooks"
import { api, attempt, type Delivery, type Webhook, type WebhookEvent, type WebhookWithSecret } from "../api.ts"
import { Empty, ErrorNote, Loading, Status } from "../components/Notes.tsx"
import { Scrollable } from "../components/Scrollable.tsx"
import { time } from "../format.ts"
import { runHref, webhookHref } from "../route.ts"
import { Pager, useCursorPages } from "../components/Pager.tsx"

const EVENTS: ReadonlyArray<WebhookEvent> = ["run.completed", "run.failed", "run.cancelled"]

/** A secret shown this once: a read-only field, a copy button and the warning that it is not shown again. */
const OnceSecret = (props: {
  readonly webhook: WebhookWithSecret
  readonly rotated: boolean
  readonly onDone: () => void
}) => {
  const [copied, setCopied] = useState<string | undefined>(undefined)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.webhook.secret)
      setCopied("Copied to the clipboard.")
    } catch {
      const field = document.getElementById("webhook-secret") as HTMLInputElement | null
      field?.select()
      setCopied("The browser refused the clipboard: the secret is selected, copy it with Ctrl+C.")
    }
  }
  return (
    <section class="card secret" aria-labelledby="secret-h" data-secret-for={props.webhook.id}>
      <h2 id="secret-h">{props.rotated ? "New signing secret" : "Signing secret"}</h2>
      <p class="warning" role="alert">
        Copy this secret now: it is shown only this once.
        {props.rotated ? " The previous secret still signs for 24 hours; move your receiver to this one." : ""}
      </p>
      <label for="webhook-secret">Secret of {props.webhook.url}</label>
      <div class="secret-row">
        <input id="webhook-secret" class="mono" readOnly value={props.webhook.secret} spellcheck={false} />
        <button type="button" onClick={copy}>
          Copy
        </button>
      </div>
      {copied === undefined ? null : (
        <p class="help" role="status">
          {copied}
        </p>
      )}
      <button type="button" onClick={props.onDone}>
        I have kept it
      </button>
    </section>
  )
}

export const Webhooks = () => {
  const [webhooks, setWebhooks] = useState<ReadonlyArray<Webhook> | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [secret, setSecret] = useState<{ readonly webhook: WebhookWithSecret; readonly rotated: boolean } | undefined>(
    undefined
  )
  const [confirming, setConfirming] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const [reload, setReload] = useState(0)

  useEffect(() => {
    attempt(() => api.GET("/api/webhooks")).then((answer) => {
      if ("error" in answer) setError(answer.error)
      else {
        setError(undefined)
        setWebhooks(answer.data.webhooks)
      }
    })
  }, [reload])

  const rotate = async (id: string) => {
    const answer = await attempt(() => api.POST("/api/webhooks/{id}/rotate-secret", { params: { path: { id } } }))
    if ("error" in answer) setNotice(answer.error)
    else setSecret({ webhook: answer.data.webhook, rotated: true })
  }

  const remove = async (id: string) => {
    setConfirming(undefined)
    const answer = await attempt(() => api.DELETE("/api/webhooks/{id}", { params: { path: { id } } }))
    setNotice("error" in answer ? answer.error : "Deleted: nothing more is sent to it, and its delivery log is gone.")
    setReload((n) => n + 1)
  }

  return (
    <main id="main">
      <h1>Webhooks</h1>
      <p>
        Endpoints told when a run ends (<span class="mono">run.completed</span>, <span class="mono">run.failed</span>,{" "}
        <span class="mono">run.cancelled</span>), signed by the Standard Webhooks scheme and retried for about 21 hours.
      </p>
      {secret === undefined ? null : (
        <OnceSecret webhook={secret.webhook} rotated={secret.rotated} onDone={() => setSecret(undefined)} />
      )}
      {error === undefined ? null : <ErrorNote>{error}</ErrorNote>}
      {notice === undefined ? null : (
        <p class="note" role="status">
          {notice}
        </p>
      )}
      {webhooks === undefined ? (
        error === undefined ? (
          <Loading />
        ) : null
      ) : webhooks.length === 0 ? (
        <Empty>No endpoint yet. Add one below: an https URL that answers 2xx.</Empty>
      ) : (
        <Scrollable class="table-wrap" label="Endpoints">
          <table class="webhooks">
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Events</th>
                <th scope="col">Description</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {webhooks.map((w) => (
                <tr key={w.id} data-webhook={w.id}>
                  <td>
                    <a href={webhookHref(w.id)} class="mono">
                      {w.url}
                    </a>
                  </td>
                  <td>{w.events.join(", ")}</td>
                  <td>{w.description ?? ""}</td>
                  <td>{w.disabledAt === null ? "active" : `disabled (410 Gone) ${time(w.disabledAt)}`}</td>
                  <td>{time(w.createdAt)}</td>
                  <td>
                    <div class="row-actions">
                      <a href={webhookHref(w.id)}>Deliveries</a>
                      <button type="button" onClick={() => rotate(w.id)}>
                        Rotate secret
                      </button>
                      {confirming === w.id ? (
                        <>
                          <button type="button" class="danger" onClick={() => remove(w.id)}>
                            Confirm delete
                          </button>
                          <button type="button" onClick={() => setConfirming(undefined)}>
                            Keep it
                          </button>
                        </>
                      ) : (
                        <button type="button" onClick={() => setConfirming(w.id)}>
                          Delete
                        </button>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scrollable>
      )}
      <NewWebhook
        onCreated={(webhook) => {
          setSecret({ webhook, rotated: false })
          setNotice(undefined)
          setReload((n) => n + 1)
        }}
      />
    </main>
  )
}

const NewWebhook = ({ onCreated }: { readonly onCreated: (webhook: WebhookWithSecret) => void }) => {
  const [url, setUrl] = useState("")
  const [events, setEvents] = useState<ReadonlyArray<WebhookEvent>>(EVENTS)
  const [description, setDescription] = useState("")
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)

  const submit = async (event: Event) => {
    event.preventDefault()
    if (url.trim() === "" || events.length === 0) {
      setError("Give the endpoint's URL and at least one event.")
      return
    }
    setBusy(true)
    const answer = await attempt(() =>
      api.POST("/api/webhooks", {
        body: {
          url: url.trim(),
          events: [...events],
          ...(description.trim() === "" ? {} : { description: description.trim() })
        }
      })
    )
    setBusy(false)
    if ("error" in answer) {
      setError(answer.error)
      return
    }
    setError(undefined)
    setUrl("")
    setDescription("")
    onCreated(answer.data.webhook)
  }

  return (
    <section class="card" aria-labelledby="new-webhook-h">
      <h2 id="new-webhook-h">New endpoint</h2>
      <form class="stack" onSubmit={submit}>
        <label for="webhook-url">URL</label>
        <input
          id="webhook-url"
          type="url"
          value={url}
          maxLength={2048}
          placeholder="https://example.com/enrich-webhook"
          onInput={(e) => setUrl((e.target as HTMLInputElement).value)}
        />
        <fieldset>
          <legend>Events</legend>
          {EVENTS.map((e) => (
            <label key={e} class="check">
              <input
                type="checkbox"
                checked={events.includes(e)}
                onChange={(change) =>
                  setEvents((all) =>
                    (change.target as HTMLInputElement).checked ? [...all, e] : all.filter((x) => x !== e)
                  )
                }
              />{" "}
              {e}
            </label>
          ))}
        </fieldset>
        <label for="webhook-description">Description (optional)</label>
        <input
          id="webhook-description"
          value={description}
          maxLength={500}
          onInput={(e) => setDescription((e.target as HTMLInputElement).value)}
        />
        <div class="actions">
          <button type="submit" disabled={busy}>
            Add endpoint
          </button>
        </div>
        {error === undefined ? null : <ErrorNote>{error}</ErrorNote>}
      </form>
    </section>
  )
}

export const WebhookDetail = ({ id }: { readonly id: string }) => {
  const [webhook, setWebhook] = useState<Webhook | undefined>(undefined)
  const pages = useCursorPages()
  const [deliveries, setDeliveries] = useState<ReadonlyArray<Delivery> | undefined>(undefined)
  const [next, setNext] = useState<string | null>(null)
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const [reload, setReload] = useState(0)
  const [now, setNow] = useState(Date.now())
  const cursor = pages.cursor

  useEffect(() => {
    attempt(() => api.GET("/api/webhooks")).then((answer) => {
      if ("data" in answer) setWebhook(answer.data.webhooks.find((w) => w.id === id))
    })
  }, [id])

  useEffect(() => {
    const controller = new AbortController()
    let timer: ReturnType<typeof setTimeout> | undefined
    const load = async () => {
      const answer = await attempt(() =>
        api.GET("/api/webhooks/{id}/deliveries", {
          params: { path: { id }, query: { limit: "25", ...(cursor === undefined ? {} : { cursor }) } },
          signal: controller.signal
        })
      ).catch(() => undefined)
      if (controller.signal.aborted || answer === undefined) return
      if ("error" in answer) setError(answer.error)
      else {
        setError(undefined)
        setDeliveries(answer.data.deliveries)
        setNext(answer.data.hasMore ? answer.data.nextCursor : null)
        timer = setTimeout(load, 2000)
      }
      setNow(Date.now())
    }
    load()
    return () => {
      controller.abort()
      clearTimeout(timer)
    }
  }, [id, cursor, reload])

  const redeliver = async (deliveryId: string) => {
    const answer = await attempt(() =>
      api.POST("/api/webhooks/{id}/deliveries/{deliveryId}/redeliver", { params: { path: { id, deliveryId } } })
    )
    setNotice("error" in answer ? answer.error : "Redelivery due now: the log shows its attempt in a moment.")
    setReload((n) => n + 1)
  }

  const due = (iso: string | null) => {
    if (iso === null) return "—"
    const ms = Date.parse(iso) - now
    return ms <= 0 ? "due now" : `${time(iso)} (in ${Math.ceil(ms / 1000)} s)`
  }

  return (
    <main id="main">
      <p>
        <a href="#/webhooks">← Webhooks</a>
      </p>
      <h1>Deliveries</h1>
      <p class="mono">{webhook?.url ?? id}</p>
      {webhook?.disabledAt === null || webhook === undefined ? null : (
        <ErrorNote>
          This endpoint answered 410 Gone on {time(webhook.disabledAt)}: nothing more is sent to it. Register it again
          to resume.
        </ErrorNote>
      )}
      {error === undefined ? null : (
        <ErrorNote>
          {error} <a href="#/webhooks">Back to the webhooks</a>.
        </ErrorNote>
      )}
      {notice === undefined ? null : (
        <p class="note" role="status">
          {notice}
        </p>
      )}
      {deliveries === undefined ? (
        error === undefined ? (
          <Loading />
        ) : null
      ) : deliveries.length === 0 ? (
        <Empty>No delivery yet: one is made when a run of this workspace ends (settled) with an event it takes.</Empty>
      ) : (
        <Scrollable class="table-wrap" label="Delivery log">
          <table>
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Event</th>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last answer</th>
                <th scope="col">Next attempt</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((d) => (
                <tr key={d.id} data-delivery={d.id} data-status={d.status}>
                  <td>{time(d.createdAt)}</td>
                  <td class="mono">{d.eventType}</td>
                  <td>
                    <a href={runHref(d.runId)} class="mono">
                      {d.runId.slice(0, 8)}…{d.runId.slice(-4)}
                    </a>
                  </td>
                  <td>
                    <Status status={d.status} />
                  </td>
                  <td class="num" data-attempts={d.attempts}>
                    {d.attempts}
                  </td>
                  <td class="last-answer">
                    {d.lastStatusCode === null ? "" : `HTTP ${d.lastStatusCode}`}
                    {d.lastStatusCode !== null && d.lastError !== null ? " · " : ""}
                    {d.lastError ?? ""}
                    {d.lastStatusCode === null && d.lastError === null ? "—" : ""}
                  </td>
                  <td>{d.status === "pending" ? due(d.nextAttemptAt) : "—"}</td>
                  <td>
                    <button
                      type="button"
                      onClick={() => redeliver(d.id)}
                      disabled={webhook !== undefined && webhook.disabledAt !== null}
                      aria-label={`Redeliver ${d.eventType} of run ${d.runId}`}
                    >
                      Redeliver
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scrollable>
      )}
      <Pager label="Deliveries pages" pages={pages} next={next} backText="Newest" nextText="Older" />
    </main>
  )
}
