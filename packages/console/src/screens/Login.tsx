/**
 * The login form: a workspace API key, checked against the API (`GET /api/credits`) before it is kept; or, for
 * an operator, the admin token, checked with `GET /admin/workspaces` and kept to pick a workspace.
 */
import { useState } from "preact/hooks"
import { api, attempt, problem } from "../api.ts"
import { ErrorNote } from "../components/Notes.tsx"
import { forgetAdminToken, forgetKey, saveAdminToken, saveKey } from "../session.ts"

export const Login = (props: {
  readonly onLogin: () => void
  readonly onOperator: () => void
  readonly notice?: string | undefined
}) => {
  const [key, setKey] = useState("")
  const [error, setError] = useState<string | undefined>(props.notice)
  const [busy, setBusy] = useState(false)

  const submit = async (event: Event) => {
    event.preventDefault()
    const given = key.trim()
    if (given === "") {
      setError("Enter a workspace API key (an operator creates one with `enrich workspace create`).")
      return
    }
    setBusy(true)
    saveKey(given)
    const checked = await attempt(() => api.GET("/api/credits"))
    setBusy(false)
    if ("error" in checked) {
      forgetKey()
      setError(checked.error)
      return
    }
    setKey("")
    props.onLogin()
  }

  return (
    <main id="main" class="login">
      <h1>enrich console</h1>
      <p>Runs, credits and failures at a glance. Log in with a workspace API key.</p>
      <form onSubmit={submit} class="card">
        <label for="api-key">Workspace API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          aria-describedby="api-key-help"
          required
        />
        <p id="api-key-help" class="help">
          Kept in this tab only (sessionStorage) and sent as a Bearer token; it never appears in a URL.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? "Checking…" : "Log in"}
        </button>
        {error === undefined ? null : <ErrorNote>{error}</ErrorNote>}
      </form>
      <OperatorLogin onOperator={props.onOperator} />
    </main>
  )
}

/** An operator's login: the admin token (ENRICH_ADMIN_TOKEN), then the workspace picker. */
const OperatorLogin = ({ onOperator }: { readonly onOperator: () => void }) => {
  const [token, setToken] = useState("")
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)

  const submit = async (event: Event) => {
    event.preventDefault()
    const given = token.trim()
    if (given === "") {
      setError("Enter the admin token (ENRICH_ADMIN_TOKEN of the service).")
      return
    }
    setBusy(true)
    saveAdminToken(given)
    const refused = await api
      .GET("/admin/workspaces", { params: { query: { limit: "1" } } })
      .then(({ error, response }) =>
        response.ok
          ? undefined
          : response.status === 401
            ? "The admin token was refused. Use the service's ENRICH_ADMIN_TOKEN."
            : response.status === 404
              ? "This service has no admin token set (ENRICH_ADMIN_TOKEN): operators cannot log in."
              : problem(error, response)
      )
      .catch(() => problem(undefined, undefined))
    setBusy(false)
    if (refused !== undefined) {
      forgetAdminToken()
      setError(refused)
      return
    }
    setToken("")
    onOperator()
  }

  return (
    <details class="card operator">
      <summary>Operator? Log in with the admin token</summary>
      <form onSubmit={submit} class="stack">
        <label for="admin-token">Admin token</label>
        <input
          id="admin-token"
          name="admin-token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          aria-describedby="admin-token-help"
        />
        <p id="admin-token-help" class="help">
          Kept in this tab only. You then pick a workspace; the console makes a key for it that expires in 4 hours.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? "Checking…" : "Log in as operator"}
        </button>
        {error === undefined ? null : <ErrorNote>{error}</ErrorNote>}
      </form>
    </details>
  )
}
