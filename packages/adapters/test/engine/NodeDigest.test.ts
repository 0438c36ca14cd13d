import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { webcrypto } from "node:crypto"
import { nodeDigestCrypto, withNodeDigest } from "../../src/engine/NodeDigest.ts"
import { EnrichmentRunWorkflow } from "../../src/engine/RunWorkflow.ts"

describe("NodeDigest (unit)", () => {
  it.effect("execution_ids_are_the_ones_webcrypto_gives_so_stored_workflows_keep_their_names", () =>
    Effect.gen(function* () {
      for (const runId of ["r-1", "0192f0c4-0000-7000-8000-000000000000", "é ✓ ".repeat(100)]) {
        const payload = { runId, workspaceId: "w" }
        const platform = yield* EnrichmentRunWorkflow.executionId(payload)
        const node = yield* withNodeDigest(EnrichmentRunWorkflow.executionId(payload))
        assert.strictEqual(node, platform)
      }
    })
  )

  it.effect("digests_equal_the_platforms_for_every_sha_and_other_calls_pass_through", () =>
    Effect.promise(async () => {
      const data = new TextEncoder().encode("the quick brown fox")
      for (const algorithm of ["SHA-1", "SHA-256", { name: "SHA-384" }, "sha-512"]) {
        const ours = Buffer.from(await nodeDigestCrypto.subtle.digest(algorithm, data.subarray(4)))
        const theirs = Buffer.from(await webcrypto.subtle.digest(algorithm, data.subarray(4)))
        assert.strictEqual(ours.toString("hex"), theirs.toString("hex"))
      }
      const key = await nodeDigestCrypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, true, ["sign"])
      assert.strictEqual(key.type, "secret")
      assert.match(nodeDigestCrypto.randomUUID(), /^[0-9a-f-]{36}$/)
    })
  )
})
