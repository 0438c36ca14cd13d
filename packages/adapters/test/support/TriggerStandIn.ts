/**
 * A local stand-in for the part of Trigger.dev's API the SDK calls to trigger
 * a task (/work/shared/research/trigger-sdk-notes.md, "Fake-server contract"):
 * `POST /api/v1/tasks/{taskId}/trigger` → `{ id, isCached }` with an
 * `x-trigger-jwt` header. A real HTTP server on a free loopback port; every
 * request is recorded, and a test decides how the next triggers are answered.
 * Like Trigger.dev, it answers a trigger whose idempotency key it has seen
 * with the same run (`isCached: true`).
 */
import { Context, Effect, Layer } from "effect"
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: any
}

export type Answer =
  | { readonly _tag: "Accept"; readonly delayMs?: number }
  | { readonly _tag: "Refuse"; readonly status: number; readonly error: string }
  | { readonly _tag: "Hang" }

export interface StandInPayload {
  readonly runId: string
  readonly workspaceId: string
}

export class TriggerStandIn extends Context.Service<
  TriggerStandIn,
  {
    readonly url: string
    /** Every request received, oldest first. */
    readonly requests: () => ReadonlyArray<RecordedRequest>
    /** The runs it created, oldest first: their id and payload. */
    readonly accepted: () => ReadonlyArray<{ readonly id: string; readonly payload: StandInPayload }>
    /** How triggers are answered from now on (initially Accept). */
    readonly answer: (answer: Answer) => void
    /** Called with each accepted trigger's payload before the answer is sent (a task starting at once). */
    readonly onAccept: (hook: ((payload: StandInPayload) => void) | undefined) => void
  }
>()("@enrich/adapters/test/TriggerStandIn") {
  static readonly layer = Layer.effect(
    TriggerStandIn,
    Effect.gen(function* () {
      const requests: Array<RecordedRequest> = []
      const runsByKey = new Map<string, string>()
      const accepted: Array<{ readonly id: string; readonly payload: StandInPayload }> = []
      const hung: Array<ServerResponse> = []
      let answer: Answer = { _tag: "Accept" }
      let hook: ((payload: StandInPayload) => void) | undefined
      let next = 0

      const server = createServer(async (req, res) => {
        let raw = ""
        for await (const chunk of req) raw += chunk
        const path = new URL(req.url ?? "/", "http://stand-in").pathname
        const body = raw === "" ? null : JSON.parse(raw)
        requests.push({ method: req.method ?? "", path, headers: req.headers, body })
        const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
          res.writeHead(status, { "content-type": "application/json", ...headers })
          res.end(JSON.stringify(payload))
        }
        if (req.method !== "POST" || !/^\/api\/v1\/tasks\/[^/]+\/trigger$/.test(path)) {
          return send(404, { error: "no route" })
        }
        const current = answer
        if (current._tag === "Hang") return void hung.push(res)
        if (current._tag === "Refuse") return send(current.status, { error: current.error })
        const key: string | undefined = body?.options?.idempotencyKey
        const cached = key === undefined ? undefined : runsByKey.get(key)
        const id = cached ?? `run_standin${++next}`
        if (key !== undefined) runsByKey.set(key, id)
        if (cached === undefined) {
          const payload: StandInPayload = JSON.parse(body.payload).json
          accepted.push({ id, payload })
          hook?.(payload)
        }
        if (current.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, current.delayMs))
        send(200, { id, isCached: cached !== undefined }, { "x-trigger-jwt": `stand-in.${id}` })
      })

      yield* Effect.acquireRelease(
        Effect.callback<void>((resume) => {
          server.listen(0, "127.0.0.1", () => resume(Effect.void))
        }),
        () =>
          Effect.callback<void>((resume) => {
            for (const res of hung) res.destroy()
            server.closeAllConnections()
            server.close(() => resume(Effect.void))
          })
      )
      const { port } = server.address() as AddressInfo

      return TriggerStandIn.of({
        url: `http://127.0.0.1:${port}`,
        requests: () => [...requests],
        accepted: () => [...accepted],
        answer: (next) => {
          answer = next
        },
        onAccept: (next) => {
          hook = next
        }
      })
    })
  )
}

/** The data of a trigger's payload (the SDK sends it superjson-wrapped, as a string). */
export const triggerPayload = (request: RecordedRequest): unknown => JSON.parse(request.body.payload).json

/** The trigger requests among the recorded ones. */
export const triggers = (requests: ReadonlyArray<RecordedRequest>) =>
  requests.filter((r) => r.method === "POST" && r.path.endsWith("/trigger"))
