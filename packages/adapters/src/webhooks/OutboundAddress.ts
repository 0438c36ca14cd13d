/**
 * Where a webhook may go (the outbound-safety rules of WebhookTransportHttp.ts): an absolute http(s) URL
 * without userinfo, at most 2048 characters, and — unless private targets are allowed — https to a host
 * every address of which is public unicast (no loopback, private, link-local and cloud metadata, unique
 * local, CGNAT, reserved, multicast, 6to4/Teredo…), `localhost` names refused without asking DNS. The
 * addresses checked are returned so the connection can be pinned to them (no DNS rebinding in between).
 */
import { promises as dns, type LookupAddress } from "node:dns"
import { isIP } from "node:net"
import ipaddr from "ipaddr.js"
import { Result } from "effect"

export const maxUrlLength = 2048

/** How long resolving a webhook's host may take before it counts as not resolving. */
const resolveTimeoutMs = 5_000

/** The ipaddr.js range of an IP address (IPv4-mapped IPv6 taken as its IPv4), undefined when not an IP. */
export const addressRange = (ip: string): string | undefined => {
  try {
    return ipaddr.process(ip).range()
  } catch {
    return undefined
  }
}

/** Whether a webhook may be sent to `ip`: public unicast only. */
export const isPublicAddress = (ip: string): boolean => addressRange(ip) === "unicast"

/** `localhost` and any `*.localhost` name (RFC 6761), a trailing dot or not. */
export const isLocalhostName = (host: string): boolean => {
  const name = host.toLowerCase().replace(/\.$/, "")
  return name === "localhost" || name.endsWith(".localhost")
}

/** Why an address may not receive webhooks, undefined when it may. */
export const addressRefusal = (ip: string): string | undefined =>
  isPublicAddress(ip) ? undefined : `address ${ip} is not allowed (${addressRange(ip) ?? "not an IP address"})`

/** The host of a URL as a connection takes it: an IPv6 literal without its brackets. */
export const bareHost = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, "$1")

/** The checks of the URL's text alone: parses, scheme, userinfo, length. */
export const parseOutboundUrl = (raw: string, allowPrivate: boolean): Result.Result<URL, string> => {
  if (raw.length > maxUrlLength) return Result.fail(`the URL is longer than ${maxUrlLength} characters`)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return Result.fail("not a valid absolute URL")
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return Result.fail("the URL must be https")
  if (url.protocol === "http:" && !allowPrivate) return Result.fail("the URL must be https (http is not allowed)")
  if (url.username !== "" || url.password !== "")
    return Result.fail("the URL must not contain credentials (user:pass@)")
  if (url.hostname === "") return Result.fail("the URL has no host")
  return Result.succeed(url)
}

/** A URL allowed to receive webhooks, with the addresses to connect to (none to pin: private targets allowed). */
export interface OutboundTarget {
  readonly url: URL
  readonly host: string
  readonly addresses: ReadonlyArray<LookupAddress> | undefined
}

const lookupAll = (host: string): Promise<Result.Result<ReadonlyArray<LookupAddress>, string>> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve(Result.fail(`${host} does not resolve (timed out)`)), resolveTimeoutMs)
    timer.unref()
    dns.lookup(host, { all: true, verbatim: true }).then(
      (addresses) => {
        clearTimeout(timer)
        resolve(addresses.length === 0 ? Result.fail(`${host} does not resolve`) : Result.succeed(addresses))
      },
      (error: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        resolve(Result.fail(`${host} does not resolve${typeof error.code === "string" ? ` (${error.code})` : ""}`))
      }
    )
  })

/**
 * Every check of a webhook URL, DNS included (the reason as the failure; never rejects). With `allowPrivate`
 * only the URL's text is checked and nothing is resolved.
 */
export const resolveOutbound = async (
  raw: string,
  allowPrivate: boolean
): Promise<Result.Result<OutboundTarget, string>> => {
  const parsed = parseOutboundUrl(raw, allowPrivate)
  if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
  const url = parsed.success
  const host = bareHost(url)
  if (allowPrivate) return Result.succeed({ url, host, addresses: undefined })
  const family = isIP(host)
  if (family !== 0) {
    const refusal = addressRefusal(host)
    return refusal === undefined
      ? Result.succeed({ url, host, addresses: [{ address: host, family }] })
      : Result.fail(refusal)
  }
  if (isLocalhostName(host)) return Result.fail(`${host} is a local name`)
  const resolved = await lookupAll(host)
  if (Result.isFailure(resolved)) return Result.fail(resolved.failure)
  for (const { address } of resolved.success) {
    const refusal = addressRefusal(address)
    if (refusal !== undefined) return Result.fail(`${host} resolves to a forbidden address: ${refusal}`)
  }
  return Result.succeed({ url, host, addresses: resolved.success })
}
