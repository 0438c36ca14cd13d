/** The console: the login form until a key is kept, then the screens by the URL's fragment (route.ts). */
import { useEffect, useState } from "preact/hooks"
import { whenUnauthorized } from "./api.ts"
import { useRoute } from "./route.ts"
import { Catalog } from "./screens/Catalog.tsx"
import { Credits } from "./screens/Credits.tsx"
import { Login } from "./screens/Login.tsx"
import { RunDetail } from "./screens/RunDetail.tsx"
import { Runs } from "./screens/Runs.tsx"
import { forgetKey, readKey } from "./session.ts"

export const App = () => {
  const [loggedIn, setLoggedIn] = useState(readKey() !== undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const route = useRoute()

  useEffect(() => {
    whenUnauthorized(() => {
      setNotice("The API refused the key (revoked or expired). Log in again.")
      setLoggedIn(false)
    })
  }, [])

  useEffect(() => {
    const names = { runs: "Runs", run: "Run", credits: "Credits", catalog: "Catalog" } as const
    document.title = loggedIn ? `${names[route.screen]} · enrich console` : "Log in · enrich console"
  }, [route, loggedIn])

  if (!loggedIn)
    return (
      <Login
        notice={notice}
        onLogin={() => {
          setNotice(undefined)
          setLoggedIn(true)
        }}
      />
    )

  const current = (screen: string) =>
    (route.screen === "run" ? "runs" : route.screen) === screen ? ("page" as const) : undefined

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
          <a href="#/credits" aria-current={current("credits")}>
            Credits
          </a>
          <a href="#/catalog" aria-current={current("catalog")}>
            Catalog
          </a>
        </nav>
        <button
          type="button"
          class="logout"
          onClick={() => {
            forgetKey()
            setLoggedIn(false)
          }}
        >
          Log out
        </button>
      </header>
      {route.screen === "runs" ? (
        <Runs />
      ) : route.screen === "run" ? (
        <RunDetail id={route.id} key={route.id} />
      ) : route.screen === "credits" ? (
        <Credits />
      ) : (
        <Catalog />
      )}
    </>
  )
}
