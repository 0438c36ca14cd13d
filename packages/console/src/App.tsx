/** The console: the login form until a key is kept, then the screens by the URL's fragment (route.ts). */
import { useEffect, useState } from "preact/hooks"
import { api, whenUnauthorized } from "./api.ts"
import { useRoute } from "./route.ts"
import { Catalog } from "./screens/Catalog.tsx"
import { Credits } from "./screens/Credits.tsx"
import { Import } from "./screens/Import.tsx"
import { Leads } from "./screens/Leads.tsx"
import { ListDetail, Lists } from "./screens/Lists.tsx"
import { Login } from "./screens/Login.tsx"
import { RunDetail } from "./screens/RunDetail.tsx"
import { Runs } from "./screens/Runs.tsx"
import { WebhookDetail, Webhooks } from "./screens/Webhooks.tsx"
import { WorkspacePicker } from "./screens/Workspaces.tsx"
import { forgetAdminToken, forgetKey, readAdminToken, readKey, readPicked } from "./session.ts"

/** An operator leaving a workspace: the key the console made for it is revoked (best effort), then forgotten. */
const leaveWorkspace = async () => {
  const picked = readPicked()
  forgetKey()
  if (picked !== undefined && readAdminToken() !== undefined) {
    await api.POST("/admin/api-keys/{id}/revoke", { params: { path: { id: picked.keyId } } }).catch(() => undefined)
  }
}

export const App = () => {
  const [loggedIn, setLoggedIn] = useState(readKey() !== undefined)
  const [operator, setOperator] = useState(readAdminToken() !== undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const route = useRoute()

  useEffect(() => {
    whenUnauthorized((what) => {
      if (what === "admin") {
        setNotice("The API refused the admin token. Log in again.")
        setOperator(false)
      } else {
        setNotice(
          readAdminToken() === undefined
            ? "The API refused the key (revoked or expired). Log in again."
            : "The workspace's key expired or was revoked. Pick the workspace again."
        )
      }
      setLoggedIn(false)
    })
  }, [])

  const logOut = async () => {
    await leaveWorkspace()
    forgetAdminToken()
    setOperator(false)
    setNotice(undefined)
    setLoggedIn(false)
  }

  useEffect(() => {
    const names = {
      runs: "Runs",
      run: "Run",
      leads: "Leads",
      lists: "Lists",
      list: "List",
      import: "Import a CSV",
      credits: "Credits",
      catalog: "Catalog",
      webhooks: "Webhooks",
      webhook: "Deliveries"
    } as const
    document.title = loggedIn ? `${names[route.screen]} · enrich console` : "Log in · enrich console"
  }, [route, loggedIn])

  if (!loggedIn && operator)
    return (
      <WorkspacePicker
        notice={notice}
        onPicked={() => {
          setNotice(undefined)
          setLoggedIn(true)
        }}
        onLogout={logOut}
      />
    )

  if (!loggedIn)
    return (
      <Login
        notice={notice}
        onLogin={() => {
          setNotice(undefined)
          setLoggedIn(true)
        }}
        onOperator={() => {
          setNotice(undefined)
          setOperator(true)
        }}
      />
    )

  const picked = operator ? readPicked() : undefined

  const parent = { run: "runs", list: "lists", webhook: "webhooks" } as const
  const current = (screen: string) =>
    ((parent as Record<string, string>)[route.screen] ?? route.screen) === screen ? ("page" as const) : undefined

  return (
    <>
      <button
        type="button"
        class="skip"
        onClick={() => {
          const main = document.getElementById("main")
          main?.setAttribute("tabindex", "-1")
          main?.focus()
        }}
      >
        Skip to content
      </button>
      <header class="top">
        <span class="brand">enrich</span>
        <nav aria-label="Screens">
          <a href="#/runs" aria-current={current("runs")}>
            Runs
          </a>
          <a href="#/leads" aria-current={current("leads")}>
            Leads
          </a>
          <a href="#/lists" aria-current={current("lists")}>
            Lists
          </a>
          <a href="#/import" aria-current={current("import")}>
            Import
          </a>
          <a href="#/credits" aria-current={current("credits")}>
            Credits
          </a>
          <a href="#/catalog" aria-current={current("catalog")}>
            Catalog
          </a>
          <a href="#/webhooks" aria-current={current("webhooks")}>
            Webhooks
          </a>
        </nav>
        {picked === undefined ? null : (
          <span class="workspace" data-workspace={picked.workspaceId}>
            {picked.name}
          </span>
        )}
        <span class="top-actions">
          {operator ? (
            <button
              type="button"
              onClick={async () => {
                await leaveWorkspace()
                setLoggedIn(false)
              }}
            >
              Switch workspace
            </button>
          ) : null}
          <button type="button" onClick={logOut}>
            Log out
          </button>
        </span>
      </header>
      {route.screen === "runs" ? (
        <Runs />
      ) : route.screen === "run" ? (
        <RunDetail id={route.id} key={route.id} />
      ) : route.screen === "leads" ? (
        <Leads />
      ) : route.screen === "lists" ? (
        <Lists />
      ) : route.screen === "list" ? (
        <ListDetail id={route.id} key={route.id} />
      ) : route.screen === "import" ? (
        <Import />
      ) : route.screen === "webhooks" ? (
        <Webhooks />
      ) : route.screen === "webhook" ? (
        <WebhookDetail id={route.id} key={route.id} />
      ) : route.screen === "credits" ? (
        <Credits />
      ) : (
        <Catalog />
      )}
    </>
  )
}
