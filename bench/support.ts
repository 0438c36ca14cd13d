/**
 * What the benchmark scenarios share: the processes of the system under test
 * (started like the tests start them: the project's Node, real entry points),
 * a SQL client for set-up and baselines, COPY through psql, JSON over HTTP,
 * peak RSS and CPU from /proc and the statistics of repeated measurements.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { request } from "node:http"
import { fileURLToPath } from "node:url"
import { Effect, Layer, ManagedRuntime } from "effect"
import { SqlClient } from "effect/sql"
import { DatabaseUrl, PgLive } from "../packages/adapters/src/postgres/Database.ts"
import { freePort } from "../packages/adapters/src/postgres/EmbeddedPostgres.ts"

export { freePort }

export const root = fileURLToPath(new URL("..", import.meta.url))

export const sleep = (ms: number) => new Promise<void>((ok) => setTimeout(ok, ms))

// --- statistics -----------------------------------------------------------------

export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
  readonly values: ReadonlyArray<number>
}

export const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

export const summarize = (values: ReadonlyArray<number>): Summary => ({
  median: median(values),
  min: Math.min(...values),
  max: Math.max(...values),
  values
})

/** Percentile of sorted latencies (nearest rank). */
export const percentile = (sorted: ReadonlyArray<number>, q: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!

// --- processes ------------------------------------------------------------------

export interface Proc {
  readonly name: string
  readonly child: ChildProcess
  readonly output: () => string
}

/** Starts a TypeScript entry point on the project's Node (the one running this script). */
export const startProc = (name: string, entry: string, env: Record<string, string>): Proc => {
  // the bench's own pool size (makeSql) is not the system's: children get the product default
  const { ENRICH_DB_MAX_CONNECTIONS: _, ENRICH_DB_STATEMENT_TIMEOUT_MS: __, ...inherited } = process.env
  const child = spawn(process.execPath, [entry], {
    cwd: root,
    env: { ...inherited, ENRICH_LOG_FORMAT: "json", ENRICH_LOG_LEVEL: "Warn", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const keep = (d: Buffer) => {
    output = (output + d.toString("utf8")).slice(-20_000)
  }
  child.stdout?.on("data", keep)
  child.stderr?.on("data", keep)
  return { name, child, output: () => output }
}

export const stopProc = (p: Proc) =>
  new Promise<void>((ok) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return ok()
    const force = setTimeout(() => p.child.kill("SIGKILL"), 15_000)
    p.child.once("exit", () => {
      clearTimeout(force)
      ok()
    })
    p.child.kill("SIGTERM")
  })

/** Resident set size of a process in bytes (Linux /proc), 0 when unavailable. */
export const rssOf = async (pid: number | undefined) => {
  if (pid === undefined) return 0
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "")
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024
}

/** The unit of the times in /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const ticksPerSecond = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU seconds (user + system) a process has used (Linux); 0 when it is gone. */
export const cpuSecondsOf = async (pid: number | undefined) => {
  if (pid === undefined) return 0
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / ticksPerSecond
}

interface Stat {
  readonly pid: number
  readonly comm: string
  readonly ppid: number
  /** utime + stime: the process's own CPU, its threads included (ticks) */
  readonly own: number
  /** cutime + cstime: the CPU of its children that it has waited for (reaped), theirs included (ticks) */
  readonly reaped: number
}

const statOf = (pid: number): Stat | undefined => {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return undefined
  }
  const close = text.lastIndexOf(")")
  // fields from the 3rd (state) on: ppid is the 4th, utime/stime/cutime/cstime the 14th–17th
  const f = text.slice(close + 2).split(" ")
  return {
    pid,
    comm: text.slice(text.indexOf("(") + 1, close),
    ppid: Number(f[1]),
    own: Number(f[11]) + Number(f[12]),
    reaped: Number(f[13]) + Number(f[14])
  }
}

const allStats = () =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => statOf(Number(name)))
    .filter((s): s is Stat => s !== undefined)

/**
 * CPU µs (user + system) used so far by a process and all its descendants (Linux /proc), NaN when it is gone.
 * Exact for short-lived descendants too, without sampling: a process that ended and was reaped by its parent
 * is in that parent's cutime/cstime, so the sum over the live processes of the tree of (own + reaped) counts
 * every process that ever ran in it (PostgreSQL's postmaster reaps its backends). Read again when the root
 * reaped a child while the tree was read (the child then in both, or in neither).
 */
export const treeCpuUs = (pid: number): number => {
  for (let attempt = 0; ; attempt++) {
    const before = statOf(pid)
    if (before === undefined) return Number.NaN
    const stats = allStats()
    const after = statOf(pid)
    if (after === undefined) return Number.NaN
    if (after.reaped !== before.reaped && attempt < 5) continue
    const children = new Map<number, Array<Stat>>()
    for (const s of stats) {
      if (s.pid === pid) continue
      const list = children.get(s.ppid)
      if (list === undefined) children.set(s.ppid, [s])
      else list.push(s)
    }
    let ticks = after.own + after.reaped
    const todo = [...(children.get(pid) ?? [])]
    for (let s = todo.pop(); s !== undefined; s = todo.pop()) {
      ticks += s.own + s.reaped
      todo.push(...(children.get(s.pid) ?? []))
    }
    return (ticks * 1e6) / ticksPerSecond
  }
}

/** This process's own CPU µs and that of the children it has reaped (e.g. a finished psql). */
export const selfCpuUs = () => {
  const s = statOf(process.pid)
  const own = process.cpuUsage()
  return { own: own.user + own.system, reaped: s === undefined ? Number.NaN : (s.reaped * 1e6) / ticksPerSecond }
}

/**
 * The pid of the postmaster of the server `sql` is connected to, when that server runs on this machine and its
 * processes are visible in /proc: the first line of `<data_directory>/postmaster.pid` (readable by root or the
 * server's user), checked against the parent of this connection's backend (`pg_backend_pid()`), which is the
 * postmaster; that parent alone when the file cannot be read. Undefined for a server elsewhere.
 */
export const findPostmaster = async (sql: Sql): Promise<{ readonly pid: number; readonly how: string } | undefined> => {
  const [row] = await sql.query<{ backend: number }>("SELECT pg_backend_pid() AS backend")
  const isPostgres = (s: Stat | undefined) => s !== undefined && /^postgres|^postmaster/.test(s.comm)
  const backend = statOf(Number(row?.backend))
  const parent = backend === undefined ? undefined : statOf(backend.ppid)
  const fromParent = isPostgres(backend) && isPostgres(parent) ? parent!.pid : undefined
  let fromFile: number | undefined
  try {
    // data_directory: visible to superusers and pg_read_all_settings only
    const [dir] = await sql.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir")
    fromFile = Number(readFileSync(`${dir?.dir}/postmaster.pid`, "utf8").split("\n")[0])
  } catch {}
  if (fromFile !== undefined && fromFile === fromParent)
    return { pid: fromFile, how: "postmaster.pid = backend's parent" }
  if (fromParent !== undefined) return { pid: fromParent, how: "the parent of pg_backend_pid()" }
  return undefined
}

export const waitFor = async <A>(what: string, f: () => Promise<A | undefined>, ms: number, every = 100) => {
  const deadline = Date.now() + ms
  for (;;) {
    const a = await f().catch((e: unknown) => {
      if (e instanceof Error && e.message.includes("exited")) throw e
      return undefined
    })
    if (a !== undefined) return a
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(every)
  }
}

// --- HTTP -----------------------------------------------------------------------

export interface Reply {
  readonly status: number
  // biome-ignore lint/suspicious/noExplicitAny: JSON replies, read loosely by the scenarios
  readonly body: any
}

export const http = (
  base: string,
  method: string,
  path: string,
  options: { readonly key?: string; readonly body?: unknown; readonly headers?: Record<string, string> } = {}
) =>
  new Promise<Reply>((ok, fail) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
    const url = new URL(path, base)
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        headers: {
          ...(payload === undefined ? {} : { "content-type": "application/json" }),
          ...(options.key === undefined ? {} : { authorization: `Bearer ${options.key}` }),
          ...options.headers
        }
      },
      (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (d) => {
          text += d
        })
        res.on("end", () => {
          let body: unknown = text
          try {
            body = JSON.parse(text)
          } catch {}
          ok({ status: res.statusCode ?? 0, body })
        })
      }
    )
    req.on("error", fail)
    req.end(payload)
  })

// --- SQL --------------------------------------------------------------------------

export interface Sql {
  readonly url: string
  readonly query: <A extends object = Record<string, unknown>>(
    text: string,
    params?: ReadonlyArray<unknown>
  ) => Promise<ReadonlyArray<A>>
  readonly run: <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) => Promise<A>
  readonly close: () => Promise<void>
}

/** A SQL client (the project's PgClient layer) for set-up, baselines and the rebuild. */
export const makeSql = (url: string, maxConnections = 4): Sql => {
  process.env["ENRICH_DB_MAX_CONNECTIONS"] ??= String(maxConnections)
  // the bench's own statements (copies of millions of items with their results, the replay) may run for
  // minutes; the processes it starts keep the product's default (startProc)
  process.env["ENRICH_DB_STATEMENT_TIMEOUT_MS"] ??= "0"
  const runtime = ManagedRuntime.make(PgLive.pipe(Layer.provide(DatabaseUrl.make(url))))
  const run = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) => runtime.runPromise(effect)
  return {
    url,
    run,
    query: <A extends object>(text: string, params: ReadonlyArray<unknown> = []) =>
      run(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          return yield* sql.unsafe<A>(text, params)
        })
      ),
    close: () => runtime.dispose()
  }
}

/** Whether `psql` is on PATH: the COPY baselines stream Node-generated rows through it. */
export const hasPsql = () => spawnSync("psql", ["--version"], { stdio: "ignore" }).status === 0

/**
 * `COPY <table> FROM STDIN` (text format) with rows produced by `rows` in this
 * process, streamed through psql's stdin. Resolves when the COPY committed.
 */
export const copyFromNode = (url: string, table: string, rows: Iterable<string>) =>
  new Promise<void>((ok, fail) => {
    const psql = spawn("psql", [url, "-v", "ON_ERROR_STOP=1", "-q", "-c", `COPY ${table} FROM STDIN`], {
      stdio: ["pipe", "ignore", "pipe"]
    })
    let err = ""
    psql.stderr.on("data", (d) => {
      err += d
    })
    psql.once("error", fail)
    psql.once("exit", (code) => (code === 0 ? ok() : fail(new Error(`psql COPY failed (${code}): ${err}`))))
    const it = rows[Symbol.iterator]()
    const pump = () => {
      for (;;) {
        let chunk = ""
        for (let i = 0; i < 2_000; i++) {
          const next = it.next()
          if (next.done) {
            psql.stdin.end(chunk)
            return
          }
          chunk += next.value
        }
        if (!psql.stdin.write(chunk)) {
          psql.stdin.once("drain", pump)
          return
        }
      }
    }
    pump()
  })

/**
 * A baseline table of the same shape as `of`: its columns, constraints and indexes
 * (`LIKE … INCLUDING ALL`) and its storage parameters (`fillfactor`), which LIKE leaves out.
 */
export const createLike = async (sql: Sql, table: string, of: string) => {
  await sql.query(`CREATE TABLE IF NOT EXISTS ${table} (LIKE ${of} INCLUDING ALL)`)
  const [row] = await sql.query<{ options: string | null }>(
    "SELECT array_to_string(reloptions, ', ') AS options FROM pg_class WHERE oid = $1::regclass",
    [of]
  )
  if (row?.options) await sql.query(`ALTER TABLE ${table} SET (${row.options})`)
}
