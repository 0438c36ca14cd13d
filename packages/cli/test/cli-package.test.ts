/**
 * The CLI as a user installs it: `pnpm pack` of packages/cli (its `prepack` builds the bundle,
 * dist/enrich.js), `npm install -g --offline --prefix DIR` of the tarball (no dependencies to
 * fetch: everything is bundled), then the installed `enrich` — `--version`, API commands
 * against a real server with their exit codes, an audit command on the database — and the
 * Node-version check of bin/enrich.js on an old Node (the host's, when it is older than 22.19).
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { DatabaseUrl } from "@enrich/adapters/postgres/Database"
import { ADMIN_TOKEN, ApiOnlyTestServer, TestServer } from "@enrich/http/testing/TestServer"
import { finished } from "./support/Cli.ts"

const cliDir = fileURLToPath(new URL("..", import.meta.url))
/** Node 24 (the project's, running this test) first on PATH, as for a user who installed it */
const path = `${dirname(process.execPath)}${delimiter}${process.env["PATH"] ?? ""}`
const oldNode = "/usr/bin/node"

const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: { cwd?: string; env?: Record<string, string>; tools?: boolean } = {}
) =>
  finished(
    spawn(command, args, {
      cwd: options.cwd ?? tmpdir(),
      // the package tools get this process's environment (CA certificates, npm settings); enrich only PATH and HOME
      env: {
        ...(options.tools === true ? process.env : {}),
        PATH: path,
        HOME: process.env["HOME"] ?? tmpdir(),
        ...options.env
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
  )

const lastJson = (text: string) => JSON.parse(text.trim().split("\n").pop() ?? "null")

layer(ApiOnlyTestServer, { timeout: 300_000, excludeTestServices: true })("enrich CLI, packed and installed", (it) => {
  it.effect(
    "the_packed_cli_installs_offline_and_runs_against_a_real_server_and_database_and_an_old_node_is_told_what_to_do",
    () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServer
        const databaseUrl = Redacted.value((yield* DatabaseUrl).url)
        yield* Effect.promise(async () => {
          const work = mkdtempSync(join(tmpdir(), "enrich-packed-"))
          try {
            // pack: prepack builds dist/ with this Node 24
            const packed = await run("npx", ["-y", "pnpm@12.4.2", "pack", "--pack-destination", work], {
              cwd: cliDir,
              tools: true
            })
            assert.strictEqual(packed.code, 0, packed.stdout + packed.stderr)
            assert.match(packed.stdout + packed.stderr, /built \S*dist\/enrich\.js/)
            const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"))
            assert.isDefined(tarball, packed.stdout)

            // install globally into a prefix, offline: the tarball needs nothing from a registry
            const prefix = join(work, "global")
            const installed = await run(
              "npm",
              ["install", "-g", "--offline", "--no-audit", "--no-fund", "--prefix", prefix, join(work, tarball!)],
              { tools: true }
            )
            assert.strictEqual(installed.code, 0, installed.stdout + installed.stderr)
            const home = join(prefix, "lib", "node_modules", "@enrich", "cli")
            const manifest = JSON.parse(readFileSync(join(home, "package.json"), "utf8"))
            assert.isUndefined(manifest.dependencies, "everything is bundled")
            assert.isFalse(existsSync(join(home, "src")), "no TypeScript sources are shipped")
            assert.isTrue(existsSync(join(home, "dist", "enrich.js")))
            const enrich = join(prefix, "bin", "enrich")

            const version = await run(enrich, ["--version"])
            assert.deepStrictEqual([version.code, version.stdout.trim()], [0, "enrich v0.1.0"], version.stderr)

            // API commands against the real server, happy and error paths
            const made = await run(enrich, ["workspace", "create", "--name", "Packed", "--credits", "5"], {
              env: { ENRICH_API_URL: baseUrl, ENRICH_ADMIN_TOKEN: ADMIN_TOKEN }
            })
            assert.strictEqual(made.code, 0, made.stderr)
            const { apiKey, workspace } = JSON.parse(made.stdout)
            const [balance, wrongKey, help] = await Promise.all([
              run(enrich, ["credit", "balance"], { env: { ENRICH_API_URL: baseUrl, ENRICH_API_KEY: apiKey } }),
              run(enrich, ["credit", "balance"], { env: { ENRICH_API_URL: baseUrl, ENRICH_API_KEY: "nope" } }),
              run(enrich, ["audit", "--help"])
            ])
            assert.deepStrictEqual([balance.code, JSON.parse(balance.stdout).balance], [0, 5], balance.stderr)
            assert.deepStrictEqual([wrongKey.code, lastJson(wrongKey.stderr).code], [6, "UNAUTHORIZED"])
            assert.strictEqual(help.code, 0, help.stderr)
            assert.include(help.stdout, "credits")

            // the CSV reader (csv-parse) is in the bundle: a `;`-separated file with a BOM, dry run
            const csv = join(work, "people.csv")
            writeFileSync(csv, '\uFEFFFirst Name;E-mail;Job Title\nAda;ada@x.example;"CTO; founder"\n')
            const dry = await run(enrich, ["lead", "import", csv, "--dry-run"])
            assert.strictEqual(dry.code, 0, dry.stderr)
            assert.include(dry.stderr, 'delimiter ";"')
            assert.deepStrictEqual(JSON.parse(dry.stdout).leads[0].lead, {
              type: "person",
              name: { first: "Ada" },
              email: "ada@x.example",
              title: "CTO; founder"
            })

            // the database side of the bundle (pg, the event store, the lazy audit chunk)
            const [audit, unknown] = await Promise.all([
              run(enrich, ["audit", "credits", workspace.id], { env: { DATABASE_URL: databaseUrl } }),
              run(enrich, ["audit", "credits", "no-such-workspace"], { env: { DATABASE_URL: databaseUrl } })
            ])
            assert.strictEqual(audit.code, 0, audit.stderr)
            assert.deepStrictEqual(
              JSON.parse(audit.stdout).lines.map((l: any) => [l.type, l.amount]),
              [["grant", 5]]
            )
            assert.deepStrictEqual([unknown.code, lastJson(unknown.stderr).code], [3, "NOT_FOUND"])

            // an old Node gets the friendly message and exit 2, installed or in the checkout
            const old = await run(oldNode, ["--version"]).catch(() => undefined)
            const [major, minor] = (old?.stdout.trim().replace(/^v/, "") ?? "99.0").split(".").map(Number)
            if (old !== undefined && (major! < 22 || (major === 22 && minor! < 19))) {
              const [installedOld, checkoutOld] = await Promise.all([
                run(oldNode, [join(home, "bin", "enrich.js"), "--version"]),
                run(oldNode, [join(cliDir, "bin", "enrich.js"), "--version"])
              ])
              assert.strictEqual(installedOld.code, 2, installedOld.stderr)
              assert.include(installedOld.stderr, "enrich needs Node.js 22.19 or newer")
              assert.include(installedOld.stderr, "Install Node.js 24")
              assert.strictEqual(checkoutOld.code, 2, checkoutOld.stderr)
              assert.include(checkoutOld.stderr, "npx -y pnpm@12.4.2 enrich <command>")
            }
          } finally {
            rmSync(work, { recursive: true, force: true })
          }
        })
      }),
    240_000
  )
})
