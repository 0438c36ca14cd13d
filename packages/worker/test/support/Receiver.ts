/**
 * A real webhook receiver on a loopback port, for tests: it verifies every request with the `standardwebhooks`
 * package (against each secret it is given) and keeps what it got; `answer` decides each reply by the request's
 * number (from 1): a status, or "hang" (never answers).
 */
import { Effect } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Webhook } from "standardwebhooks"

export interface Received {
  readonly id: string
  readonly timestamp: string
  readonly signature: string
  readonly raw: string
  readonly body: any
  /** for each secret the receiver knows, in order: whether the request verified with it */
  readonly verified: ReadonlyArray<boolean>
}

export interface Receiver {
  readonly url: string
  readonly received: Array<Received>
  /** the secrets requests are verified with (set after the webhook is created) */
  secrets: Array<string>
  answer: (n: number) => number | "hang"
}

const verifies = (secret: string, raw: string, headers: IncomingMessage["headers"]) => {
  try {
    new Webhook(secret).verify(raw, {
      "webhook-id": String(headers["webhook-id"]),
      "webhook-timestamp": String(headers["webhook-timestamp"]),
      "webhook-signature": String(headers["webhook-signature"])
    })
    return true
  } catch {
    return false
  }
}

/** A receiver on 127.0.0.1, closed with the scope (hanging requests too). */
export const startReceiver = (answer: (n: number) => number | "hang" = () => 200) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<Receiver & { readonly close: () => Promise<void> }>((resolve) => {
          const hanging = new Set<ServerResponse>()
          const state = {
            url: "",
            received: [] as Array<Received>,
            secrets: [] as Array<string>,
            answer,
            close: () =>
              new Promise<void>((done) => {
                for (const response of hanging) response.destroy()
                server.closeAllConnections()
                server.close(() => done())
              })
          }
          const server = createServer((request, response) => {
            const chunks: Array<Buffer> = []
            request.on("data", (chunk: Buffer) => chunks.push(chunk))
            request.on("end", () => {
              const raw = Buffer.concat(chunks).toString("utf8")
              let body: unknown = raw
              try {
                body = JSON.parse(raw)
              } catch {
                // kept as text
              }
              state.received.push({
                id: String(request.headers["webhook-id"]),
                timestamp: String(request.headers["webhook-timestamp"]),
                signature: String(request.headers["webhook-signature"]),
                raw,
                body,
                verified: state.secrets.map((secret) => verifies(secret, raw, request.headers))
              })
              const reply = state.answer(state.received.length)
              if (reply === "hang") {
                hanging.add(response)
                return
              }
              response.writeHead(reply, { "content-type": "text/plain" }).end("ok")
            })
          })
          server.listen(0, "127.0.0.1", () => {
            state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`
            resolve(state)
          })
        })
    ),
    (receiver) => Effect.promise(() => receiver.close())
  )

/**
 * A plain receiver for the delivery loop's tests: it answers `status` after `holdMs`, and keeps each request's
 * `webhook-id`, when it came, and the most requests open at once.
 */
export const countingReceiver = (options: { readonly status?: number; readonly holdMs?: number } = {}) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{
          readonly url: string
          readonly ids: Array<string>
          readonly times: Array<number>
          readonly maxOpen: () => number
          readonly close: () => void
        }>((resolve) => {
          const ids: Array<string> = []
          const times: Array<number> = []
          let open = 0
          let maxOpen = 0
          const server = createServer((request, response) => {
            ids.push(String(request.headers["webhook-id"]))
            times.push(performance.now())
            open += 1
            maxOpen = Math.max(maxOpen, open)
            request.resume()
            setTimeout(() => {
              open -= 1
              response.writeHead(options.status ?? 204).end()
            }, options.holdMs ?? 0)
          })
          server.listen(0, "127.0.0.1", () =>
            resolve({
              url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
              ids,
              times,
              maxOpen: () => maxOpen,
              close: () => {
                server.closeAllConnections()
                server.close()
              }
            })
          )
        })
    ),
    (r) => Effect.sync(r.close)
  )
