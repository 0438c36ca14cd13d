/**
 * A real local DNS server for the MX-lookup tests (node:dgram, no mock of
 * node:dns): it answers A, AAAA, MX and SOA questions over UDP from a table,
 * as an authoritative server would — a name in the table without the asked type
 * is NOERROR with no answer (NODATA), a name not in the table is NXDOMAIN — and
 * counts every question it receives. `mode: "silent"` reads questions and never
 * answers (a resolver that times out). `null` in `MX` is a null MX (`0 .`, RFC 7505).
 */
import { Effect } from "effect"
import { createSocket } from "node:dgram"
import { isIPv6 } from "node:net"

export interface DnsRecords {
  readonly A?: ReadonlyArray<string>
  readonly AAAA?: ReadonlyArray<string>
  /** `exchange: null` is the root: a null MX */
  readonly MX?: ReadonlyArray<{ readonly priority: number; readonly exchange: string | null }>
  /** the name is a zone (a top-level domain): its SOA is answered */
  readonly SOA?: true
}

/** lower-case names without the trailing dot → their records */
export type DnsZone = Readonly<Record<string, DnsRecords>>

export interface DnsQuestion {
  readonly name: string
  readonly type: "A" | "AAAA" | "MX" | "SOA" | string
}

export interface DnsServer {
  /** `127.0.0.1:port`, as ENRICH_DNS_SERVERS takes it */
  readonly address: string
  /** every question received, in order */
  readonly questions: ReadonlyArray<DnsQuestion>
  /** how many questions named `name` (of `type`, when given) */
  readonly count: (name: string, type?: string) => number
  readonly close: () => Promise<void>
}

const TYPES: Readonly<Record<number, string>> = { 1: "A", 2: "NS", 6: "SOA", 15: "MX", 28: "AAAA" }

/** `a.b.` as DNS labels, ending with the root label. */
const encodeName = (name: string): Buffer =>
  Buffer.concat([
    ...name
      .split(".")
      .filter((label) => label !== "")
      .map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, "ascii")])),
    Buffer.from([0])
  ])

const ipv6Bytes = (address: string): Buffer => {
  if (!isIPv6(address)) throw new Error(`not an IPv6 address: ${address}`)
  const [head, tail] = address.includes("::") ? address.split("::") : [address, undefined]
  const left = head === "" ? [] : head!.split(":")
  const right = tail === undefined || tail === "" ? [] : tail.split(":")
  const groups = [...left, ...Array(8 - left.length - right.length).fill("0"), ...right]
  const bytes = Buffer.alloc(16)
  for (const [i, group] of groups.entries()) bytes.writeUInt16BE(Number.parseInt(group, 16), i * 2)
  return bytes
}

const u16 = (n: number) => {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}
const u32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}

/** One answer record owned by the question's name (a pointer to offset 12). */
const record = (type: number, rdata: Buffer): Buffer =>
  Buffer.concat([Buffer.from([0xc0, 0x0c]), u16(type), u16(1), u32(300), u16(rdata.length), rdata])

const soaData = (zone: string): Buffer =>
  Buffer.concat([
    encodeName(`ns.${zone}`),
    encodeName(`hostmaster.${zone}`),
    u32(1),
    u32(3600),
    u32(600),
    u32(86400),
    u32(300)
  ])

const answersFor = (records: DnsRecords, type: string): ReadonlyArray<Buffer> => {
  switch (type) {
    case "A":
      return (records.A ?? []).map((ip) => record(1, Buffer.from(ip.split(".").map(Number))))
    case "AAAA":
      return (records.AAAA ?? []).map((ip) => record(28, ipv6Bytes(ip)))
    case "MX":
      return (records.MX ?? []).map((mx) =>
        record(15, Buffer.concat([u16(mx.priority), encodeName(mx.exchange ?? "")]))
      )
    default:
      return []
  }
}

/** Reads the question of a query: its name (lower case), type and where the question section ends. */
const readQuestion = (message: Buffer): { name: string; type: number; end: number } | undefined => {
  let offset = 12
  const labels: Array<string> = []
  while (offset < message.length) {
    const length = message[offset]!
    offset += 1
    if (length === 0) break
    labels.push(message.subarray(offset, offset + length).toString("ascii"))
    offset += length
  }
  if (offset + 4 > message.length) return undefined
  return { name: labels.join(".").toLowerCase(), type: message.readUInt16BE(offset), end: offset + 4 }
}

/** Starts the server on a free UDP port of 127.0.0.1. */
export const startDnsServer = async (
  zone: DnsZone,
  options: { readonly mode?: "answer" | "silent" } = {}
): Promise<DnsServer> => {
  const socket = createSocket("udp4")
  const questions: Array<DnsQuestion> = []
  socket.on("message", (message, peer) => {
    if (message.length < 12) return
    const question = readQuestion(message)
    if (question === undefined) return
    const type = TYPES[question.type] ?? String(question.type)
    questions.push({ name: question.name, type })
    if (options.mode === "silent") return
    const records = zone[question.name]
    const answers =
      records === undefined
        ? []
        : type === "SOA" && records.SOA
          ? [record(6, soaData(question.name))]
          : answersFor(records, type)
    const rcode = records === undefined ? 3 : 0
    // QR, the query's opcode and RD, AA, RA; rcode
    const flags = 0x8000 | (message.readUInt16BE(2) & 0x7900) | 0x0400 | 0x0080 | rcode
    const header = Buffer.concat([message.subarray(0, 2), u16(flags), u16(1), u16(answers.length), u16(0), u16(0)])
    const reply = Buffer.concat([header, message.subarray(12, question.end), ...answers])
    socket.send(reply, peer.port, peer.address)
  })
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject)
    socket.bind(0, "127.0.0.1", () => resolve())
  })
  const { port } = socket.address()
  return {
    address: `127.0.0.1:${port}`,
    questions,
    count: (name, type) => questions.filter((q) => q.name === name && (type === undefined || q.type === type)).length,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve()))
  }
}

/** The server for the scope of a test: closed when the scope ends. */
export const dnsServer = (zone: DnsZone, options: { readonly mode?: "answer" | "silent" } = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startDnsServer(zone, options)),
    (server) => Effect.promise(() => server.close())
  )
