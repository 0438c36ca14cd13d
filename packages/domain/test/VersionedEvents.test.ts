import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { versionedEvents } from "../src/events/VersionedEvents.ts"

// A made-up event at its third version: v1 had `name`, v2 split it into `first`/`last`, v3 added `tier`.
const Signed = Schema.TaggedStruct("Signed", { first: Schema.String, last: Schema.String, tier: Schema.String })
const Other = Schema.TaggedStruct("Other", { n: Schema.Int })
const events = versionedEvents({
  schema: Schema.Union([Signed, Other]),
  versions: { Signed: 3, Other: 1 },
  upcasters: {
    "Signed@1": ({ name, ...rest }) => {
      const [first = "", ...last] = String(name).split(" ")
      return { ...rest, first, last: last.join(" ") }
    },
    "Signed@2": (data) => ({ ...data, tier: "standard" })
  }
})

const decode = (type: string, version: number, data: unknown) =>
  Effect.runPromise(Effect.result(events.decode(type, version, data)))

describe("Versioned events (unit)", () => {
  it("old_versions_are_upcast_one_step_at_a_time_to_the_current_one", async () => {
    const v1 = await decode("Signed", 1, { name: "Ada King Lovelace" })
    expect(v1).toMatchObject({
      _tag: "Success",
      success: { _tag: "Signed", first: "Ada", last: "King Lovelace", tier: "standard" }
    })
    const v2 = await decode("Signed", 2, { first: "Ada", last: "Lovelace" })
    expect(v2).toMatchObject({ _tag: "Success", success: { first: "Ada", last: "Lovelace", tier: "standard" } })
    const v3 = await decode("Signed", 3, { first: "Ada", last: "Lovelace", tier: "gold" })
    expect(v3).toMatchObject({ _tag: "Success", success: { tier: "gold" } })
  })

  it("encode_writes_the_current_version_without_the_tag", () => {
    expect(events.encode({ _tag: "Signed", first: "A", last: "B", tier: "t" })).toEqual({
      type: "Signed",
      version: 3,
      data: { first: "A", last: "B", tier: "t" }
    })
  })

  it("unknown_types_versions_from_the_future_and_malformed_data_are_typed_errors", async () => {
    for (const [type, version] of [
      ["Nope", 1],
      ["Signed", 4],
      ["Signed", 0],
      ["Other", 1.5]
    ] as const) {
      const result = await decode(type, version, {})
      expect(result).toMatchObject({ _tag: "Failure", failure: { _tag: "UnknownEventVersion" } })
    }
    const malformed = await decode("Other", 1, { n: "not a number" })
    expect(malformed).toMatchObject({ _tag: "Failure", failure: { _tag: "SchemaError" } })
  })
})
