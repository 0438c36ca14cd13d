import { describe, expect, it } from "vitest"
import { skipReason } from "../src/runs/WritePolicy.ts"

describe("Write policy (unit)", () => {
  it("a_deleted_lead_is_skipped_whatever_the_policy", () => {
    expect(skipReason({ leadExists: false, writePolicy: "overwrite", existing: undefined })).toBe("lead_deleted")
  })

  it("skip_existing_keeps_a_non_null_value_and_overwrite_replaces_it", () => {
    expect(skipReason({ leadExists: true, writePolicy: "skip_existing", existing: { v: 1 } })).toBe("attribute_exists")
    expect(skipReason({ leadExists: true, writePolicy: "skip_existing", existing: 0 })).toBe("attribute_exists")
    expect(skipReason({ leadExists: true, writePolicy: "skip_existing", existing: null })).toBeNull()
    expect(skipReason({ leadExists: true, writePolicy: "skip_existing", existing: undefined })).toBeNull()
    expect(skipReason({ leadExists: true, writePolicy: "overwrite", existing: "x" })).toBeNull()
  })
})
