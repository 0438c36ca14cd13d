/**
 * Dispatch decodes a run's `input` with the configured entry's own Schema (the one its contract's
 * `inputSchema` is made from: catalog/test/http/HttpProviderConfig.test.ts): defaults applied, unknown
 * keys and out-of-range values refused with their paths.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { makeHttpEntry } from "@enrich/catalog/http/HttpProvider"
import { decodeHttpProviderConfig } from "@enrich/catalog/http/HttpProviderConfig"
import { decodeRunInput } from "@enrich/application/runs/DispatchRun"

const example = (name: string) =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`../../../../examples/catalog/${name}`, import.meta.url)), "utf8"))
    .enrichments as Array<Record<string, unknown>>

describe("Dispatch input (unit)", () => {
  it.effect("dispatch_accepts_what_the_entrys_input_schema_declares_and_refuses_the_rest_by_path", () =>
    Effect.gen(function* () {
      const config = yield* decodeHttpProviderConfig(example("people-data-labs.json")[0])
      const entry = yield* makeHttpEntry(config).pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { PDL_API_KEY: "secret" } })))
      )
      assert.deepStrictEqual(decodeRunInput(entry, {}), { min_likelihood: 6 })
      assert.deepStrictEqual(decodeRunInput(entry, { min_likelihood: 8, required: "emails" }), {
        min_likelihood: 8,
        required: "emails"
      })
      const refused = decodeRunInput(entry, { min_likelihood: 11, nope: true }) as any
      assert.strictEqual(refused.code, "INPUT_INVALID")
      assert.sameMembers(
        refused.details.issues.map((i: { path: string }) => i.path),
        ["input.min_likelihood", "input.nope"]
      )
      assert.match(refused.message, /^Invalid input for pdl_person: input\.\w+: /)
    })
  )
})
