/**
 * The way out of webhooks (the `WebhookTransport` port) over node:http / node:https: the outbound-safety
 * check of an endpoint's URL (./OutboundAddress.ts) and one signed attempt.
 *
 * - Signed per Standard Webhooks (`standardwebhooks`): `webhook-id`, `webhook-timestamp` (now, in seconds),
 *   `webhook-signature` = one `v1,…` per secret, the newest first, separated by a space.
 * - The host is resolved and checked again at each attempt, and the connection pinned to the addresses checked
 *   (a `lookup` hook; TLS still verifies the hostname): a name that turns private between the check and the
 *   attempt (DNS rebinding) gets nothing.
 * - One POST, no redirect followed (a 3xx is an answer like any other), the whole attempt (DNS, connection,
 *   request, answer) within `timeoutMs`; at most ENRICH_WEBHOOK_MAX_RESPONSE_BYTES of the answer is read and
 *   thrown away (only its status counts). A connection whose answer ended within the cap is kept alive for
 *   the endpoint's next attempt (no new TCP and TLS handshake per webhook); any other is closed. A kept
 *   connection goes to the address checked when it was opened.
 * - Never fails: what happened is the `AttemptResult`; its error text never holds a secret nor a header.
 *
 * ENRICH_WEBHOOK_ALLOW_PRIVATE=1 lifts the address rules (http, loopback, private hosts allowed): for
 * development and tests only.
 */
import type { LookupAddress, LookupOptions } from "node:dns"
import * as http from "node:http"
import * as https from "node:https"
import { isIP } from "node:net"
import { Clock, Config, Effect, Layer, Result, Schema } from "effect"
import type { ConfigError } from "effect/Config"
import { Webhook } from "standardwebhooks"
import { WebhookTransport, WebhookUrlRefused } from "@enrich/application/ports/Webhooks"
import type { AttemptResult } from "@enrich/domain/webhooks/Webhooks"
import { type OutboundTarget, resolveOutbound } from "./OutboundAddress.ts"

export const defaultMaxResponseBytes = 65_536

const notAnswered = (error: string): AttemptResult => ({ _tag: "NotAnswered", error })

/** A short, secret-free description of a connection error: its message (which carries its code), bounded. */
const describe = (error: unknown): string => {
  if (!(error instanceof Error)) return "request failed"
  const code = (error as NodeJS.ErrnoException).code
  const text = typeof code === "string" && !error.message.includes(code) ? `${code}: ${error.message}` : error.message
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}

/** The Standard Webhooks headers of a body: one signature per secret (throws on a malformed secret). */
export const signatureHeaders = (
  id: string,
  body: string,
  secrets: ReadonlyArray<string>,
  nowMs: number
): Record<string, string> => {
  const date = new Date(Math.floor(nowMs / 1000) * 1000)
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(nowMs / 1000)),
    "webhook-signature": secrets.map((secret) => new Webhook(secret).sign(id, date, body)).join(" ")
  }
}

/**
 * A `lookup` that answers with the addresses already checked, whatever the name: the connection goes where
 * the check looked (Node asks for `all` when it tries several addresses, Happy Eyeballs).
 */
export const pinnedLookup =
  (addresses: ReadonlyArray<LookupAddress>) =>
  (
    _hostname: string,
    options: LookupOptions,
    callback: (error: Error | null, address: string | Array<LookupAddress>, family?: number) => void
  ) => {
    const wanted = options.family === 4 || options.family === 6 ? options.family : undefined
    const usable = addresses.filter((a) => wanted === undefined || a.family === wanted)
    if (usable.length === 0) {
      callback(Object.assign(new Error("no checked address of that family"), { code: "ENOTFOUND" }), "", 0)
    } else if (options.all === true) {
      callback(null, [...usable])
    } else {
      callback(null, usable[0]!.address, usable[0]!.family)
    }
  }

/** Connections kept alive between attempts, per endpoint (host and port), a few each, closed after 5 s idle. */
const agentOptions = { keepAlive: true, keepAliveMsecs: 1000, maxSockets: 16, maxFreeSockets: 4, timeout: 5_000 }
const agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) }

interface Attempt {
  readonly raw: string
  readonly allowPrivate: boolean
  readonly headers: Record<string, string>
  readonly body: string
  readonly timeoutMs: number
  readonly maxResponseBytes: number
}

/** One POST, the whole of it within `timeoutMs`; interrupting it aborts the request. */
const post = (attempt: Attempt): Effect.Effect<AttemptResult> =>
  Effect.callback<AttemptResult>((resume) => {
    let settled = false
    let request: http.ClientRequest | undefined
    /** `reusable`: the answer was read to its end, its connection may serve the next attempt. */
    const finish = (result: AttemptResult, reusable = false) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (!reusable) request?.destroy()
      resume(Effect.succeed(result))
    }
    const timer = setTimeout(() => finish(notAnswered(`timed out after ${attempt.timeoutMs} ms`)), attempt.timeoutMs)

    const connect = (target: OutboundTarget) => {
      if (settled) return
      const { url, host, addresses } = target
      const secure = url.protocol === "https:"
      const options: https.RequestOptions = {
        method: "POST",
        protocol: url.protocol,
        hostname: host,
        port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
        path: `${url.pathname}${url.search}`,
        headers: {
          ...attempt.headers,
          "content-type": "application/json",
          "user-agent": "enrich-webhooks/1",
          "content-length": String(Buffer.byteLength(attempt.body))
        },
        // a fresh connection per attempt, closed after it: nothing pooled, nothing leaked
        agent: secure ? agents.https : agents.http,
        ...(addresses === undefined ? {} : { lookup: pinnedLookup(addresses) }),
        ...(secure && isIP(host) === 0 ? { servername: host } : {})
      }
      const req = (secure ? https : http).request(options, (response) => {
        const answered: AttemptResult = { _tag: "Answered", statusCode: response.statusCode ?? 0 }
        let read = 0
        if (attempt.maxResponseBytes <= 0) return finish(answered)
        response.on("data", (chunk: Buffer) => {
          read += chunk.length
          if (read >= attempt.maxResponseBytes) finish(answered)
        })
        response.on("end", () => finish(answered, true))
        // the status arrived: a body cut short does not change the answer
        response.on("error", () => finish(answered))
        response.on("close", () => finish(answered))
      })
      request = req
      req.on("error", (error) => finish(notAnswered(describe(error))))
      req.end(attempt.body)
    }

    resolveOutbound(attempt.raw, attempt.allowPrivate).then(
      (target) => (Result.isSuccess(target) ? connect(target.success) : finish(notAnswered(target.failure))),
      (error) => finish(notAnswered(describe(error)))
    )
    return Effect.sync(() => {
      settled = true
      clearTimeout(timer)
      request?.destroy()
    })
  })

/** The transport, its settings given. */
export const makeWebhookTransportHttp = (settings: {
  readonly allowPrivate: boolean
  readonly maxResponseBytes: number
}): WebhookTransport["Service"] => ({
  check: (url) =>
    Effect.promise(() => resolveOutbound(url, settings.allowPrivate)).pipe(
      Effect.flatMap((target) =>
        Result.isSuccess(target) ? Effect.void : Effect.fail(new WebhookUrlRefused({ reason: target.failure }))
      )
    ),
  send: (request) =>
    Effect.gen(function* () {
      if (request.secrets.length === 0) return notAnswered("no secret to sign with")
      const now = yield* Clock.currentTimeMillis
      let headers: Record<string, string>
      try {
        headers = signatureHeaders(request.id, request.body, request.secrets, now)
      } catch {
        return notAnswered("cannot sign: a secret is not a Standard Webhooks secret")
      }
      return yield* post({
        raw: request.url,
        allowPrivate: settings.allowPrivate,
        headers,
        body: request.body,
        timeoutMs: request.timeoutMs,
        maxResponseBytes: settings.maxResponseBytes
      })
    }).pipe(Effect.catchDefect(() => Effect.succeed(notAnswered("request failed"))))
})

/**
 * The transport from configuration: ENRICH_WEBHOOK_ALLOW_PRIVATE (default false; `1`/`true` allows http and
 * private addresses) and ENRICH_WEBHOOK_MAX_RESPONSE_BYTES (default 65536).
 */
export const WebhookTransportHttpLive: Layer.Layer<WebhookTransport, ConfigError> = Layer.effect(
  WebhookTransport,
  Effect.gen(function* () {
    const allowPrivate = yield* Config.Boolean("ENRICH_WEBHOOK_ALLOW_PRIVATE").pipe(Config.withDefault(false))
    const maxResponseBytes = yield* Config.schema(
      Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
      "ENRICH_WEBHOOK_MAX_RESPONSE_BYTES"
    ).pipe(Config.withDefault(defaultMaxResponseBytes))
    return makeWebhookTransportHttp({ allowPrivate, maxResponseBytes })
  })
)
