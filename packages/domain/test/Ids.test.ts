import { assert, describe, it } from "@effect/vitest"
import { uuidv7 } from "../src/Ids.ts"

describe("uuidv7 (unit)", () => {
  it("ids_are_version_7_variant_1_distinct_and_sort_in_the_order_they_were_minted", () => {
    // more than one pool of random bytes (4 KiB = 256 ids), several milliseconds
    const ids = Array.from({ length: 20_000 }, () => uuidv7())
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    assert.strictEqual(new Set(ids).size, ids.length)
    assert.deepStrictEqual([...ids].sort(), ids)
    const ms = Number.parseInt(ids[0]!.replace(/-/g, "").slice(0, 12), 16)
    assert.isAtMost(Math.abs(ms - Date.now()), 60_000, "the first 48 bits are the time in ms")
  })
})
