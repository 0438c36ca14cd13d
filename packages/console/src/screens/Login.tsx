/** The login form: a workspace API key, checked against the API (`GET /api/credits`) before it is kept. */
import { useState } from "preact/hooks"
import { api, attempt } from "../api.ts"
import { ErrorNote } from "../components/Notes.tsx"
import { forgetKey, saveKey } from "../session.ts"

export const Login = (props: { readonly onLogin: () => void; readonly notice?: string | undefined }) => {
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
    </main>
  )
}
