/**
 * Runs the real `enrich` binary (bin/enrich.js) in a child process on this Node, with only
 * the environment a test gives it (plus PATH and HOME), and collects its output; or starts
 * one that keeps running (`startCli`), and reads a process's memory from /proc.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process"
import type { Readable } from "node:stream"
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const bin = fileURLToPath(new URL("../../bin/enrich.js", import.meta.url))

export interface CliResult extends Finished {
  /** stdout parsed as JSON (undefined when it is not JSON) */
  readonly json: any
  /** the last line of stderr parsed as JSON (the error body), when it is JSON */
  readonly error: any
}

const parse = (text: string) => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** A finished process: its exit code and everything it wrote. */
export interface Finished {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Waits for a child spawned with piped stdout and stderr to end, collecting what it wrote. */
export const finished = (child: ChildProcessByStdio<null, Readable, Readable>) =>
  new Promise<Finished>((resolve, reject) => {
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d
    })
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d
    })
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

export const runCli = async (args: ReadonlyArray<string>, env: Record<string, string | undefined> = {}) => {
  const { code, stderr, stdout } = await finished(
    spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env["PATH"], HOME: process.env["HOME"], ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
  )
  const lines = stderr.trim().split("\n")
  return { code, stdout, stderr, json: parse(stdout), error: parse(lines[lines.length - 1] ?? "") } satisfies CliResult
}

/** A CLI bound to one server and one set of credentials. */
export const cliFor =
  (env: Record<string, string | undefined>) =>
  (args: ReadonlyArray<string>, more: Record<string, string | undefined> = {}) =>
    runCli(args, { ...env, ...more })

/** A CLI process left running (`events tail --follow`): its output so far, a wait for a line, and its end. */
export interface RunningCli {
  readonly pid: number
  readonly stdout: () => string
  readonly stderr: () => string
  /** resolves with stdout once `predicate` holds for it (checked on every chunk); rejects after `timeoutMs` */
  readonly waitFor: (predicate: (stdout: string) => boolean, timeoutMs: number) => Promise<string>
  readonly signal: (signal: NodeJS.Signals) => void
  readonly exited: Promise<number | null>
}

/**
 * The CLI as it is installed: the bundle built into a temporary directory next to a copy of
 * bin/enrich.js (no sources beside it, so it runs dist/enrich.js). Built once per test file.
 */
let installed: Promise<string> | undefined
export const installedBin = (): Promise<string> => {
  installed ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "enrich-cli-"))
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }))
    mkdirSync(join(dir, "bin"))
    copyFileSync(bin, join(dir, "bin", "enrich.js"))
    const script = fileURLToPath(new URL("../../scripts/build.ts", import.meta.url))
    const built = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [script, "--outdir", join(dir, "dist")], { stdio: "ignore" })
      child.on("error", reject)
      child.on("close", resolve)
    })
    if (built !== 0) throw new Error(`building the CLI bundle exited with ${built}`)
    return join(dir, "bin", "enrich.js")
  })()
  return installed
}

export const startCli = (
  args: ReadonlyArray<string>,
  env: Record<string, string | undefined> = {},
  options: { readonly bin?: string } = {}
): RunningCli => {
  const child = spawn(process.execPath, [options.bin ?? bin, ...args], {
    env: { PATH: process.env["PATH"], HOME: process.env["HOME"], ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  const waiters = new Set<() => void>()
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d
    for (const w of waiters) w()
  })
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d
  })
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
  return {
    pid: child.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    signal: (signal) => void child.kill(signal),
    exited,
    waitFor: (predicate, timeoutMs) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          if (!predicate(stdout)) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve(stdout)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`timed out; stdout so far:\n${stdout.slice(-2000)}\nstderr:\n${stderr.slice(-2000)}`))
        }, timeoutMs)
        waiters.add(check)
        void exited.then(() => {
          if (waiters.has(check)) {
            waiters.delete(check)
            clearTimeout(timer)
            if (predicate(stdout)) resolve(stdout)
            else reject(new Error(`the CLI exited; stdout:\n${stdout.slice(-2000)}\nstderr:\n${stderr.slice(-2000)}`))
          }
        })
        check()
      })
  }
}

/** The resident set of a process now (VmRSS in /proc, Linux), in MiB; undefined once it has exited. */
export const rssMiB = (pid: number): number | undefined => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
    return kb === undefined ? undefined : Number(kb) / 1024
  } catch {
    return undefined
  }
}
