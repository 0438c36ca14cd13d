/**
 * One call of the API as the OpenAPI-derived tests make it (tenant isolation, the scope matrix): a method, a
 * path, a JSON or CSV body, extra headers; sent with a key and a deadline (an event stream must not hang a test),
 * answered with the status, the headers and the body (parsed when it is JSON).
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { TestServer } from "./TestServer.ts"

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

export interface Call {
  readonly method: "GET" | "POST" | "PATCH" | "DELETE"
  readonly path: string
  readonly body?: unknown
  /** a CSV body (`text/csv`) instead of JSON */
  readonly csv?: string
  readonly headers?: Record<string, string>
}

export const send = (baseUrl: string, key: string, call: Call): Promise<Reply> =>
  fetch(`${baseUrl}${call.path}`, {
    method: call.method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(call.csv !== undefined
        ? { "content-type": "text/csv" }
        : call.body === undefined
          ? {}
          : { "content-type": "application/json" }),
      ...call.headers
    },
    ...(call.csv !== undefined
      ? { body: call.csv }
      : call.body === undefined
        ? {}
        : { body: JSON.stringify(call.body) }),
    signal: AbortSignal.timeout(10_000)
  }).then(async (response) => {
    const text = await response.text()
    let body: unknown = text
    try {
      body = text === "" ? null : JSON.parse(text)
    } catch {
      // not JSON (an event stream)
    }
    return { status: response.status, headers: response.headers, body }
  })

/** `call` with `key` against the test server. */
export const request = (key: string, call: Call) =>
  Effect.gen(function* () {
    const api = yield* TestServer
    return yield* Effect.promise(() => send(api.baseUrl, key, call))
  })

/** The body of a reply that has `status`. */
export const ok = (reply: Reply, status = 200) => {
  assert.strictEqual(reply.status, status, JSON.stringify(reply.body))
  return reply.body
}
