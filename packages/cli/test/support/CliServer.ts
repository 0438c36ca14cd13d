/** What the CLI's tests against a real API server share: the timeout, the server's addresses, a workspace made through the CLI. */
import { assert } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { DatabaseUrl } from "@enrich/adapters/postgres/Database"
import { ADMIN_TOKEN, TestServer } from "@enrich/http/testing/TestServer"
import { cliFor, runCli } from "./Cli.ts"

/** each CLI call is a new Node process: generous, as a loaded CI machine starts them slowly */
export const testTimeout = 240_000

export const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

/** The API's base URL and the database's URL of the test server. */
export const context = Effect.gen(function* () {
  const { baseUrl } = yield* TestServer
  const { url } = yield* DatabaseUrl
  return { baseUrl, databaseUrl: Redacted.value(url) }
})

/** A workspace made through the CLI (`workspace create`, the admin token); its key drives the workspace commands. */
export const workspaceThroughCli = (baseUrl: string, name: string, credits?: number) =>
  promise(async () => {
    const made = await runCli(
      ["workspace", "create", "--name", name, ...(credits === undefined ? [] : ["--credits", String(credits)])],
      { ENRICH_API_URL: baseUrl, ENRICH_ADMIN_TOKEN: ADMIN_TOKEN }
    )
    assert.strictEqual(made.code, 0, made.stderr)
    return {
      workspaceId: made.json.workspace.id as string,
      apiKey: made.json.apiKey as string,
      cli: cliFor({ ENRICH_API_URL: baseUrl, ENRICH_API_KEY: made.json.apiKey })
    }
  })
