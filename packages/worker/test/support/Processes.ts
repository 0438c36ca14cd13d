/** The project's entry points as real child processes, for tests of processes apart, crashes and restarts. */
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../../..", import.meta.url))

export interface RunningProcess {
  readonly child: ChildProcess
  readonly output: () => string
}

const spawnEntry = (entry: string, env: Record<string, string>): RunningProcess => {
  const child = spawn(process.execPath, [entry], {
    cwd: root,
    env: { ...process.env, ENRICH_LOG_FORMAT: "json", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout?.on("data", (d) => {
    output += d
  })
  child.stderr?.on("data", (d) => {
    output += d
  })
  return { child, output: () => output }
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
  })

/**
 * Stops a process: SIGTERM (graceful) or SIGKILL (a crash), and waits for it
 * to be gone; a process that ignores SIGTERM for 15 s is killed.
 */
export const stopProcess = (process: RunningProcess, signal: "SIGTERM" | "SIGKILL" = "SIGTERM") =>
  Effect.promise(() => {
    const gone = exited(process.child)
    process.child.kill(signal)
    const force = setTimeout(() => process.child.kill("SIGKILL"), 15_000)
    return gone.finally(() => clearTimeout(force))
  })

/** Starts a package entry point (e.g. `packages/worker/src/bin/worker.ts`) on the project's Node, stopped with the scope. */
export const startProcess = (entry: string, env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => spawnEntry(entry, env)),
    (p) => stopProcess(p, "SIGTERM")
  )
