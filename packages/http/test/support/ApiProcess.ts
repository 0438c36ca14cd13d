/**
 * The API entry point (`packages/http/src/bin/http.ts`) as a child process on the test database, for tests that
 * measure a process (its memory, its limits) or talk to it over raw sockets. Ready (`/readyz` 200) when
 * returned; stopped with the scope (SIGTERM, SIGKILL after 15 s).
 */
import { Effect, Redacted } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { DatabaseUrl } from "@enrich/adapters/postgres/Database"
import { freePort } from "@enrich/adapters/postgres/EmbeddedPostgres"
import { eventually, makeClient, type TestClient } from "./HttpTestClient.ts"
import { ADMIN_TOKEN } from "./TestServer.ts"

const root = fileURLToPath(new URL("../../../..", import.meta.url))

export interface ApiProcess {
  readonly child: ChildProcess
  readonly port: number
  readonly client: TestClient
  readonly output: () => string
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const force = setTimeout(() => child.kill("SIGKILL"), 15_000)
    child.once("exit", () => {
      clearTimeout(force)
      resolve()
    })
    child.kill("SIGTERM")
  })

/** Starts the API process with `env` over the test's (the admin token, JSON logs at Warn). */
export const startApiProcess = (env: Record<string, string> = {}) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const { url } = yield* DatabaseUrl
      const port = yield* Effect.promise(freePort)
      const child = spawn(process.execPath, ["packages/http/src/bin/http.ts"], {
        cwd: root,
        env: {
          ...process.env,
          DATABASE_URL: Redacted.value(url),
          PORT: String(port),
          ENRICH_ADMIN_TOKEN: ADMIN_TOKEN,
          ENRICH_LOG_FORMAT: "json",
          ENRICH_LOG_LEVEL: "Warn",
          ...env
        },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      const collect = (d: unknown) => {
        output += String(d)
      }
      child.stdout?.on("data", collect)
      child.stderr?.on("data", collect)
      const client = makeClient(`http://127.0.0.1:${port}`)
      yield* Effect.promise(() =>
        eventually(async () => {
          if (child.exitCode !== null) throw new Error(`the API process exited (${child.exitCode}): ${output}`)
          return (await client.get("/readyz").catch(() => undefined))?.status === 200 ? true : undefined
        }, 60_000)
      ).pipe(Effect.tapCause(() => Effect.sync(() => console.log(output))))
      return { child, port, client, output: () => output } satisfies ApiProcess
    }),
    (api) => Effect.promise(() => stop(api.child))
  )
