/** Time-ordered ids (UUIDv7), minted in the application so SQL stays PostgreSQL-15 compatible. */
import { randomFillSync } from "node:crypto"

let lastMs = 0
let sequence = 0

// random bytes drawn 4 KiB at a time: one call into the CSPRNG per 256 ids instead of one or two per id
const pool = Buffer.alloc(4096)
let offset = pool.length

const random = (n: number): Buffer => {
  if (offset + n > pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + n))
  offset += n
  return bytes
}

export const uuidv7 = (): string => {
  let ms = Date.now()
  if (ms <= lastMs) {
    sequence = (sequence + 1) & 0xfff
    if (sequence === 0) lastMs += 1
    ms = lastMs
  } else {
    lastMs = ms
    sequence = random(2).readUInt16BE(0) & 0x7ff
  }
  const bytes = random(16)
  bytes.writeUIntBE(ms, 0, 6)
  bytes[6] = 0x70 | ((sequence >> 8) & 0x0f)
  bytes[7] = sequence & 0xff
  bytes[8] = 0x80 | (bytes[8]! & 0x3f)
  const hex = bytes.toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
