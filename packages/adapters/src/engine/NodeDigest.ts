/**
 * The workflow engine names every execution and activity by a SHA-256 of its
 * key, through WebCrypto's `subtle.digest`: asynchronous, one round trip
 * through libuv's thread pool per hash — 6 % of the API process's CPU under
 * dispatch load (two per dispatch then: the hand-over and a wake). Here the same
 * digest comes from node:crypto, computed at once; every other WebCrypto call
 * goes to the platform's.
 */
import { createHash, webcrypto } from "node:crypto"
import { WebCrypto } from "effect/crypto/WebCrypto"
import { Effect } from "effect"

const platform: webcrypto.Crypto = webcrypto

const nodeAlgorithms: Record<string, string> = {
  "SHA-1": "sha1",
  "SHA-256": "sha256",
  "SHA-384": "sha384",
  "SHA-512": "sha512"
}

const bytesOf = (data: webcrypto.BufferSource): Uint8Array =>
  ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data as ArrayBuffer)

const digest = (algorithm: webcrypto.AlgorithmIdentifier, data: webcrypto.BufferSource): Promise<ArrayBuffer> => {
  const name = typeof algorithm === "string" ? algorithm : algorithm.name
  const node = nodeAlgorithms[name.toUpperCase()]
  if (node === undefined) return platform.subtle.digest(algorithm, data)
  const hash = createHash(node).update(bytesOf(data)).digest()
  return Promise.resolve(hash.buffer.slice(hash.byteOffset, hash.byteOffset + hash.byteLength) as ArrayBuffer)
}

const subtle = new Proxy(platform.subtle, {
  get: (target, property) => {
    if (property === "digest") return digest
    const value: unknown = Reflect.get(target, property, target)
    return typeof value === "function" ? value.bind(target) : value
  }
})

/** WebCrypto with node:crypto's synchronous digests. */
export const nodeDigestCrypto: webcrypto.Crypto = {
  getRandomValues: (array) => platform.getRandomValues(array),
  randomUUID: () => platform.randomUUID(),
  subtle
}

/** `effect` with the workflow engine's hashes computed by node:crypto. */
export const withNodeDigest = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, WebCrypto, nodeDigestCrypto)
