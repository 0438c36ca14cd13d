/**
 * Runs the real `enrich` binary (bin/enrich.js) in a child process on this Node, with only
 * the environment a test gives it (plus PATH and HOME), and collects its output.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const bin = fileURLToPath(new URL("../../bin/enrich.js", import.meta.url))

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
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

export const runCli = (args: ReadonlyArray<string>, env: Record<string, string | undefined> = {}) =>
  new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env["PATH"], HOME: process.env["HOME"], ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d
    })
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d
    })
    child.on("error", reject)
    child.on("close", (code) => {
      const lines = stderr.trim().split("\n")
      resolve({ code, stdout, stderr, json: parse(stdout), error: parse(lines[lines.length - 1] ?? "") })
    })
  })

/** A CLI bound to one server and one set of credentials. */
export const cliFor =
  (env: Record<string, string | undefined>) =>
  (args: ReadonlyArray<string>, more: Record<string, string | undefined> = {}) =>
    runCli(args, { ...env, ...more })
