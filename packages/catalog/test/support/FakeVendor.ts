/**
 * A real local HTTP "data vendor" for provider tests (node:http, no mocks): each
 * test gives it a handler that answers a request with a status, headers, a
 * JSON body, raw text or bytes, or a body streamed in parts (huge, or
 * trickling forever), optionally after a delay; it records when each request
 * arrived and what it carried, what was written of each answer and whether the
 * client hung up first, and can tell the busiest window of a given length (what
 * a vendor's rate limiter would measure).
 */
import { Effect } from "effect"
import { createServer, type IncomingMessage, type Server } from "node:http"

export interface VendorRequest {
  /** arrival, epoch ms (Date.now) */
  readonly at: number
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingMessage["headers"]
  /** the JSON body, or undefined when there was none */
  readonly body: any
}

export interface VendorReply {
  readonly status?: number
  readonly headers?: Record<string, string>
  /** JSON-encoded unless `raw` is given */
  readonly json?: unknown
  /** sent as is (e.g. a malformed JSON document, or bytes that are not UTF-8) */
  readonly raw?: string | Buffer
  /** the body written part by part (each once the socket has drained): a huge body, or an endless one */
  readonly stream?: VendorStream
  /** wait this long before answering */
  readonly delayMs?: number
}

export interface VendorStream {
  /** the parts, in order (a generator can be endless: it is read only while the client listens) */
  readonly parts: Iterable<string | Buffer>
  /** sent as the Content-Length header (default: none, the body is chunked) */
  readonly contentLength?: number
  /** wait this long before each part after the first (a trickle; default: none) */
  readonly everyMs?: number
}

/** What was written of one answer, updated as it goes. */
export interface VendorSent {
  readonly request: VendorRequest
  readonly status: number
  /** body bytes handed to the socket so far */
  readonly bytes: number
  /** the whole answer was written */
  readonly finished: boolean
  /** when the answer closed (epoch ms): after it was finished, or when the client hung up first (not finished) */
  readonly closedAt: number | undefined
}

export type VendorHandler = (request: VendorRequest, count: number) => VendorReply | Promise<VendorReply>

export interface FakeVendor {
  readonly url: string
  readonly requests: Array<VendorRequest>
  /** when each reply was sent, in order, with its status */
  readonly replies: Array<{ readonly at: number; readonly status: number; readonly request: VendorRequest }>
  /** what was written of each answer, in the order they were started */
  readonly sent: Array<VendorSent>
  setHandler(handler: VendorHandler): void
  /** the most requests that arrived within any window of `ms` milliseconds */
  busiestWindow(ms: number): number
  reset(): void
  close(): Promise<void>
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((ok, fail) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => ok(Buffer.concat(chunks).toString("utf8")))
    req.on("error", fail)
  })

export const startFakeVendor = async (initial: VendorHandler): Promise<FakeVendor> => {
  let handler = initial
  const requests: Array<VendorRequest> = []
  const replies: FakeVendor["replies"] = []
  const sent: Array<{ -readonly [K in keyof VendorSent]: VendorSent[K] }> = []
  const server: Server = createServer(async (req, res) => {
    const at = Date.now()
    const text = await readBody(req)
    const url = new URL(req.url ?? "/", "http://vendor")
    let body: unknown
    try {
      body = text === "" ? undefined : JSON.parse(text)
    } catch {
      body = text
    }
    const request: VendorRequest = {
      at,
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body
    }
    requests.push(request)
    const reply = await handler(request, requests.length)
    const send = () => {
      if (res.destroyed) return
      const status = reply.status ?? 200
      replies.push({ at: Date.now(), status, request })
      const record = { request, status, bytes: 0, finished: false, closedAt: undefined as number | undefined }
      sent.push(record)
      res.on("finish", () => {
        record.finished = true
      })
      res.on("close", () => {
        record.closedAt = Date.now()
      })
      const stream = reply.stream
      if (stream === undefined) {
        const body = reply.raw ?? (reply.json === undefined ? "" : JSON.stringify(reply.json))
        res.writeHead(status, { "content-type": "application/json", ...reply.headers })
        record.bytes = Buffer.byteLength(body)
        res.end(body)
        return
      }
      res.writeHead(status, {
        "content-type": "application/json",
        ...(stream.contentLength === undefined ? {} : { "content-length": String(stream.contentLength) }),
        ...reply.headers
      })
      res.flushHeaders()
      const parts = stream.parts[Symbol.iterator]()
      let timer: ReturnType<typeof setTimeout> | undefined
      res.on("close", () => clearTimeout(timer))
      const write = (): void => {
        while (!res.destroyed) {
          const part = parts.next()
          if (part.done === true) {
            res.end()
            return
          }
          record.bytes += Buffer.byteLength(part.value)
          // a client that stops reading stops the writing: wait for the socket to drain
          const drained = res.write(part.value)
          const later = () => {
            timer = setTimeout(write, stream.everyMs)
          }
          if (stream.everyMs !== undefined) {
            if (drained) later()
            else res.once("drain", later)
            return
          }
          if (!drained) {
            res.once("drain", write)
            return
          }
        }
      }
      write()
    }
    if (reply.delayMs !== undefined && reply.delayMs > 0) setTimeout(send, reply.delayMs)
    else send()
  })
  // a client that gave up (a timeout) must not leave the server waiting on a socket
  server.keepAliveTimeout = 1_000
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    replies,
    sent,
    setHandler: (h) => {
      handler = h
    },
    busiestWindow: (ms) => {
      const times = requests.map((r) => r.at).sort((a, b) => a - b)
      let best = 0
      let start = 0
      for (let end = 0; end < times.length; end++) {
        while (times[end]! - times[start]! >= ms) start++
        best = Math.max(best, end - start + 1)
      }
      return best
    },
    reset: () => {
      requests.length = 0
      replies.length = 0
      sent.length = 0
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections()
        server.close(() => ok())
      })
  }
}

/** The vendor as a scoped resource: closed when the test's scope ends. */
export const fakeVendor = (handler: VendorHandler) =>
  Effect.acquireRelease(
    Effect.promise(() => startFakeVendor(handler)),
    (vendor) => Effect.promise(() => vendor.close())
  )

/** A deterministic pseudo-random number in [0, 1) from a text (FNV-1a), for reproducible fault injection. */
export const unitHash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  // murmur3's finaliser: FNV alone leaves the high bits of similar texts close together
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return (h >>> 0) / 2 ** 32
}
