/** Raw HTTP/1.1 requests over node:http for the hostile-client tests: one connection each, or an agent's. */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { readFile } from "node:fs/promises"
import http from "node:http"
import type { ApiProcess } from "./ApiProcess.ts"
import { ADMIN_TOKEN } from "./TestServer.ts"

export interface Answer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** One request over node:http (an agent of the caller's, or a connection of its own), from `localAddress`. */
export const send = (
  api: ApiProcess,
  method: string,
  path: string,
  options: {
    readonly key?: string
    readonly agent?: http.Agent
    readonly localAddress?: string
    readonly body?: unknown
  } = {}
) =>
  new Promise<Answer>((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
    const request = http.request(
      {
        host: "127.0.0.1",
        port: api.port,
        method,
        path,
        agent: options.agent ?? false,
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
        headers: {
          ...(options.key === undefined ? {} : { authorization: `Bearer ${options.key}` }),
          ...(payload === undefined ? {} : { "content-type": "application/json" })
        }
      },
      (response) => {
        let body = ""
        response.setEncoding("utf8")
        response.on("data", (chunk) => {
          body += chunk
        })
        response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }))
      }
    )
    request.on("error", reject)
    request.end(payload)
  })

/** Runs `count` calls of `f(i)`, `concurrency` at a time; `every(i)` after each. */
export const inParallel = async (
  count: number,
  concurrency: number,
  f: (i: number) => Promise<void>,
  every: (done: number) => Promise<void> = async () => {}
) => {
  let next = 0
  let done = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        await f(next++)
        await every(++done)
      }
    })
  )
}

export const rss = async (api: ApiProcess) => {
  const status = await readFile(`/proc/${api.child.pid}/status`, "utf8")
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024
}

export const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10

export const metricsOf = (api: ApiProcess) =>
  Effect.promise(() => send(api, "GET", "/metrics")).pipe(Effect.map((r) => r.body))

export const counter = (text: string, series: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1))
}

export const workspaceKey = (api: ApiProcess, localAddress?: string) =>
  Effect.promise(async () => {
    const created = await send(api, "POST", "/admin/workspaces", {
      key: ADMIN_TOKEN,
      body: { name: "Hostile", credits: 0 },
      ...(localAddress === undefined ? {} : { localAddress })
    })
    assert.strictEqual(created.status, 201, created.body)
    return JSON.parse(created.body).apiKey as string
  })
