/**
 * The operator's catalog configuration (ENRICH_CATALOG_FILES): valid files
 * load into the catalog with complete contracts, every kind of mistake stops
 * the load with a message naming the file and the path, and a waterfall's
 * execute walks its steps with the bounded retry per step.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Catalog, type CatalogEntry, type EnrichmentOutcome, ProviderError } from "@enrich/domain/ports/Catalog"
import type { LeadFields } from "@enrich/domain/leads/Lead"
import { builtinEntries } from "../src/Catalog.ts"
import { dnsServer } from "./support/DnsServer.ts"
import {
  type CatalogConfigError,
  ConfiguredCatalogLive,
  loadCatalogEntries,
  parseCatalogFiles
} from "../src/CatalogConfig.ts"

const dir = mkdtempSync(join(tmpdir(), "enrich-catalog-"))
let counter = 0
/** Writes a catalog file (an object is JSON-encoded, a string written as is) and returns its path. */
const file = (content: unknown): string => {
  const path = join(dir, `catalog-${++counter}.json`)
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content))
  return path
}

const lead = (fields: Partial<LeadFields>): LeadFields => ({
  type: "person",
  name: {},
  title: null,
  company: {},
  location: {},
  domain: null,
  linkedinUrl: null,
  industry: null,
  size: null,
  contacts: [],
  socials: [],
  attributes: {},
  ...fields
})

const waterfall = (slug: string, steps: ReadonlyArray<unknown>, extra: Record<string, unknown> = {}) => ({
  kind: "waterfall",
  slug,
  name: `Waterfall ${slug}`,
  steps,
  costModel: { creditAction: "WATERFALL", unitCost: 2, chargeOn: "found" },
  ...extra
})

/** A valid http entry (per-Lead GET) for a vendor at `url`. */
const httpEntry = (slug: string, url: string, extra: Record<string, unknown> = {}) => ({
  kind: "http",
  slug,
  name: `Vendor ${slug}`,
  description: "A person lookup by email.",
  subject: "person",
  version: 1,
  visibility: "hidden",
  reads: ["email"],
  defaultOutput: { target: "lead_attribute", attributeKey: slug },
  outputOverridePolicy: { targets: ["lead_attribute"], attributeKey: true },
  costModel: { creditAction: "VENDOR", unitCost: 1, chargeOn: "found" },
  mode: "per_lead",
  request: { method: "GET", url, query: { email: { $lead: "email" } } },
  response: { output: { workEmail: "/work_email" } },
  rateLimit: { requestsPerSecond: 100 },
  timeoutMs: 1000,
  ...extra
})

/** The load's error, or a failed assertion when it loaded. */
const loadError = (files: ReadonlyArray<string>, extraEntries: ReadonlyArray<CatalogEntry> = []) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(loadCatalogEntries(files, { extraEntries }))
    if (Exit.isSuccess(exit)) return assert.fail("the configuration loaded")
    const error = exit.cause.reasons.flatMap((r) => (r._tag === "Fail" ? [r.error as CatalogConfigError] : []))[0]
    assert.isDefined(error)
    return error!
  })

const run = (entry: CatalogEntry, snapshot: Record<string, unknown>) =>
  Effect.gen(function* () {
    const out = entry.execute(snapshot, {})
    return yield* Effect.isEffect(out) ? Effect.exit(out) : Effect.exit(Effect.succeed(out))
  })

/** A code-defined provider: answers from `answers` (per email, per call), counting its calls. */
const provider = (slug: string, answers: (email: string, call: number) => EnrichmentOutcome | ProviderError) => {
  const calls = new Map<string, number>()
  const entry: CatalogEntry = {
    contract: {
      ...builtinEntries[0]!.contract,
      id: slug,
      slug,
      name: slug,
      visibility: "hidden",
      reads: ["email"],
      toolBinding: { type: "http", taskId: slug }
    },
    snapshot: (l) => ({ email: l.contacts[0]?.value ?? null }),
    execute: (snapshot) =>
      Effect.suspend(() => {
        const email = String(snapshot["email"])
        const n = (calls.get(email) ?? 0) + 1
        calls.set(email, n)
        const answer = answers(email, n)
        return answer instanceof ProviderError ? Effect.fail(answer) : Effect.succeed(answer)
      })
  }
  return { entry, calls }
}
const hit = (provider: string, value: unknown): EnrichmentOutcome => ({
  result: { value, found: true },
  raw: { value },
  found: true,
  provider,
  providerSubmissionId: `${provider}-sub`
})
const nohit = (provider: string): EnrichmentOutcome => ({
  result: { value: null, found: false },
  raw: {},
  found: false,
  provider,
  providerSubmissionId: null
})

describe("Catalog configuration (ENRICH_CATALOG_FILES)", () => {
  it.live("no_files_is_the_built_in_catalog_and_the_variable_is_a_comma_separated_list", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(parseCatalogFiles(" a.json, ,b.json ,"), ["a.json", "b.json"])
      assert.deepStrictEqual(parseCatalogFiles(""), [])
      const entries = yield* loadCatalogEntries([])
      assert.deepStrictEqual(
        entries.map((e) => e.contract.slug),
        builtinEntries.map((e) => e.contract.slug)
      )
    })
  )

  it.live("a_valid_file_adds_a_waterfall_with_a_complete_contract_and_turns_builtins_off_or_hides_them", () =>
    Effect.gen(function* () {
      const path = file({
        enrichments: [
          { kind: "builtin", slug: "job_title_classification", enabled: false },
          { kind: "builtin", slug: "phone_normalization", visibility: "hidden" },
          waterfall("person_basics", ["phone_normalization", { enrichment: "email_validation" }], {
            description: "Phone first, then email.",
            defaultOutput: { target: "membership_attribute", attributeKey: "basics" }
          })
        ]
      })
      // the built-ins ask the DNS of ENRICH_DNS_SERVERS: a real local server that knows navy.mil
      const dns = yield* dnsServer({ "navy.mil": { MX: [{ priority: 10, exchange: "mx.navy.mil" }] } })
      const catalog = yield* Effect.provide(
        Effect.service(Catalog),
        ConfiguredCatalogLive.pipe(
          Layer.provide(
            ConfigProvider.layer(
              ConfigProvider.fromEnv({ env: { ENRICH_CATALOG_FILES: path, ENRICH_DNS_SERVERS: dns.address } })
            )
          )
        )
      )
      const slugs = catalog.list(undefined).map((c) => c.slug)
      assert.deepStrictEqual(slugs, ["email_validation", "company_domain", "name_parsing", "person_basics"])
      assert.isUndefined(catalog.find("job_title_classification"), "disabled")
      assert.isUndefined(catalog.find("phone_normalization"), "hidden: neither listed nor dispatchable")
      const entry = catalog.find("person_basics")!
      const phone = builtinEntries.find((e) => e.contract.slug === "phone_normalization")!.contract
      const email = builtinEntries.find((e) => e.contract.slug === "email_validation")!.contract
      assert.deepStrictEqual(entry.contract, {
        id: "person_basics",
        slug: "person_basics",
        name: "Waterfall person_basics",
        description: "Phone first, then email.",
        subject: "person",
        version: 1,
        enabled: true,
        visibility: "public",
        reads: ["phone", "location.country", "email"],
        inputSchema: { type: "object", properties: {}, additionalProperties: false },
        outputSchema: { anyOf: [phone.outputSchema, email.outputSchema] },
        defaultOutput: { target: "membership_attribute", attributeKey: "basics" },
        defaultOutputAttributeKey: "basics",
        outputOverridePolicy: { targets: ["lead_attribute", "membership_attribute"], attributeKey: true },
        costModel: { creditAction: "WATERFALL", unitCost: 2, chargeOn: "found" },
        toolBinding: { type: "waterfall", taskId: "waterfall.person_basics" }
      })
      // a Lead without a phone: the hidden phone step misses, email validation answers
      const snapshot = entry.snapshot(lead({ contacts: [{ type: "email", value: "Grace.Hopper@Navy.mil" }] }))
      assert.deepStrictEqual(snapshot, {
        phone_normalization: { phone: null, country: null },
        email_validation: { email: "Grace.Hopper@Navy.mil" }
      })
      const exit = yield* run(entry, snapshot)
      assert.isTrue(Exit.isSuccess(exit))
      if (!Exit.isSuccess(exit)) return
      assert.strictEqual(exit.value.provider, "email_validation")
      assert.isTrue(exit.value.found, "navy.mil takes mail (its MX record)")
      assert.deepInclude(exit.value.result as object, { email: "grace.hopper@navy.mil", verdict: "valid" })
      assert.strictEqual(dns.count("navy.mil", "MX"), 1)
      assert.deepStrictEqual((exit.value.raw as { steps: unknown }).steps, [
        { step: "phone_normalization", status: "not_found", attempts: 1 },
        { step: "email_validation", status: "found", attempts: 1 }
      ])
    })
  )

  it.live("unknown_keys_bad_values_and_unknown_kinds_are_refused_with_file_and_path", () =>
    Effect.gen(function* () {
      const path = file({
        enrichments: [
          waterfall("w1", ["email_validation"], { stesp: ["x"] }),
          waterfall("W-2", ["email_validation"], { costModel: { creditAction: "X", unitCost: -1, chargeOn: "found" } }),
          { kind: "graphql", slug: "x" },
          "not an object"
        ]
      })
      const error = yield* loadError([path])
      assert.deepStrictEqual(
        error.issues.map((i) => [i.file, i.path]),
        [
          [path, "enrichments[0].stesp"],
          [path, "enrichments[1].slug"],
          [path, "enrichments[1].costModel.unitCost"],
          [path, "enrichments[2].kind"],
          [path, "enrichments[3].kind"]
        ]
      )
      assert.match(error.issues[3]!.message, /expected one of "http", "waterfall", "builtin", got "graphql"/)
      assert.match(error.message, /^Invalid catalog configuration \(ENRICH_CATALOG_FILES\): 5 problems\n/)
      assert.include(error.message, `${path}: enrichments[0].stesp: `)
      // the top level is strict too
      const top = yield* loadError([file({ enrichments: [], extra: true })])
      assert.deepStrictEqual(
        top.issues.map((i) => i.path),
        ["extra"]
      )
      const noList = yield* loadError([file({})])
      assert.deepStrictEqual(
        noList.issues.map((i) => i.path),
        ["enrichments"]
      )
    })
  )

  it.live("http_entries_load_with_the_http_decoder_and_their_problems_are_placed_under_the_entry", () =>
    Effect.gen(function* () {
      const good = file({
        enrichments: [
          waterfall("lookup", ["vendor_a", "vendor_b"]),
          httpEntry("vendor_a", "http://127.0.0.1:9/a"),
          httpEntry("vendor_b", "http://127.0.0.1:9/b")
        ]
      })
      const entries = yield* loadCatalogEntries([good])
      const configured = entries.slice(builtinEntries.length)
      assert.deepStrictEqual(
        configured.map((e) => [e.contract.slug, e.contract.toolBinding.type]),
        [
          ["lookup", "waterfall"],
          ["vendor_a", "http"],
          ["vendor_b", "http"]
        ],
        "the files' order, a waterfall before the steps it names"
      )
      const lookup = configured[0]!.contract
      assert.strictEqual(lookup.subject, "person")
      assert.deepStrictEqual(lookup.reads, ["email"])
      assert.deepStrictEqual(lookup.outputSchema, configured[1]!.contract.outputSchema, "equal step schemas collapse")

      const bad = file({
        enrichments: [
          httpEntry("vendor_a", "http://127.0.0.1:9/a", { retries: 3 }),
          httpEntry("vendor_b", "http://127.0.0.1:9/b", {
            auth: { header: "X-Api-Key", secretEnv: "ENRICH_TEST_UNSET_KEY" }
          })
        ]
      })
      const error = yield* loadError([bad])
      assert.deepStrictEqual(
        error.issues.map((i) => [i.file, i.path]),
        [[bad, "enrichments[0].retries"]],
        "decoding problems stop the load before secrets are read"
      )
      const secret = file({
        enrichments: [
          httpEntry("vendor_b", "http://127.0.0.1:9/b", {
            auth: { header: "X-Api-Key", secretEnv: "ENRICH_TEST_UNSET_KEY" }
          })
        ]
      })
      assert.deepStrictEqual((yield* loadError([secret])).issues, [
        {
          file: secret,
          path: "enrichments[0].auth.secretEnv",
          message: "ENRICH_TEST_UNSET_KEY is not set in the environment"
        }
      ])
    })
  )

  it.live("the_example_files_load_together_a_waterfall_over_the_two_vendors", () =>
    Effect.gen(function* () {
      const examples = fileURLToPath(new URL("../../../examples/catalog/", import.meta.url))
      const files = ["people-data-labs.json", "apollo.json", "person-waterfall.json"].map((f) => join(examples, f))
      const entries = yield* loadCatalogEntries(files).pipe(
        Effect.provide(
          ConfigProvider.layer(
            ConfigProvider.fromEnv({ env: { PDL_API_KEY: "test-pdl", APOLLO_API_KEY: "test-apollo" } })
          )
        )
      )
      const waterfall = entries.find((e) => e.contract.slug === "person_waterfall")!
      const pdl = entries.find((e) => e.contract.slug === "pdl_person")!
      const apollo = entries.find((e) => e.contract.slug === "apollo_people_match")!
      assert.strictEqual(waterfall.contract.subject, "person")
      assert.deepStrictEqual(waterfall.contract.reads, [...new Set([...pdl.contract.reads, ...apollo.contract.reads])])
      assert.deepStrictEqual(
        (waterfall.contract.outputSchema as { anyOf: ReadonlyArray<unknown> }).anyOf.length,
        2,
        "the two vendors' results differ: either one"
      )
      assert.strictEqual(waterfall.concurrency, Math.max(pdl.concurrency ?? 0, apollo.concurrency ?? 0))
      // without the vendors' secrets the files do not load: each missing secret is reported, nothing else
      const error = yield* loadError(files)
      assert.deepStrictEqual(
        error.issues.map((i) => [i.file, i.path]),
        [
          [files[0], "enrichments[0].auth.secretEnv"],
          [files[1], "enrichments[0].auth.secretEnv"]
        ]
      )
    })
  )

  it.live("a_waterfall_step_naming_no_enrichment_is_refused", () =>
    Effect.gen(function* () {
      const path = file({ enrichments: [waterfall("w", ["email_validation", "people_data_labs"])] })
      const error = yield* loadError([path])
      assert.deepStrictEqual(error.issues, [
        { file: path, path: "enrichments[0].steps[1]", message: 'unknown enrichment "people_data_labs"' }
      ])
      // a disabled built-in is no step either
      const off = file({
        enrichments: [
          { kind: "builtin", slug: "name_parsing", enabled: false },
          waterfall("w", ["email_validation", "name_parsing"])
        ]
      })
      assert.deepStrictEqual((yield* loadError([off])).issues, [
        { file: off, path: "enrichments[1].steps[1]", message: 'enrichment "name_parsing" is disabled' }
      ])
      // nor a step of another subject
      const mixed = file({ enrichments: [waterfall("w", ["email_validation", "company_domain"])] })
      assert.deepStrictEqual((yield* loadError([mixed])).issues, [
        {
          file: mixed,
          path: "enrichments[0].steps[1]",
          message: 'step "company_domain" enriches company Leads, the waterfall person Leads'
        }
      ])
    })
  )

  it.live("a_slug_defined_twice_is_refused_against_builtins_across_files_and_for_overrides", () =>
    Effect.gen(function* () {
      const a = file({
        enrichments: [waterfall("email_validation", ["name_parsing"]), waterfall("w", ["name_parsing"])]
      })
      const b = file({
        enrichments: [
          waterfall("w", ["email_validation"]),
          { kind: "builtin", slug: "nope" },
          { kind: "builtin", slug: "name_parsing", visibility: "hidden" },
          { kind: "builtin", slug: "name_parsing", enabled: false }
        ]
      })
      const error = yield* loadError([a, b])
      assert.deepStrictEqual(error.issues, [
        {
          file: a,
          path: "enrichments[0].slug",
          message: 'slug "email_validation" is already defined by the built-in catalog'
        },
        { file: b, path: "enrichments[0].slug", message: `slug "w" is already defined by ${a} enrichments[1]` },
        { file: b, path: "enrichments[1].slug", message: 'no built-in enrichment "nope"' },
        {
          file: b,
          path: "enrichments[3].slug",
          message: `built-in "name_parsing" is already configured by ${b} enrichments[2]`
        }
      ])
    })
  )

  it.live("a_duplicate_is_reported_where_it_comes_second_whatever_the_kinds", () =>
    Effect.gen(function* () {
      const path = file({
        enrichments: [waterfall("dup", ["email_validation"]), httpEntry("dup", "http://127.0.0.1:9/x")]
      })
      assert.deepStrictEqual((yield* loadError([path])).issues, [
        { file: path, path: "enrichments[1].slug", message: `slug "dup" is already defined by ${path} enrichments[0]` }
      ])
    })
  )

  it.live("a_cycle_of_waterfalls_is_refused_with_its_path", () =>
    Effect.gen(function* () {
      const a = file({ enrichments: [waterfall("first", ["email_validation", "second"])] })
      const b = file({ enrichments: [waterfall("second", ["first"]), waterfall("uses_first", ["first"])] })
      const error = yield* loadError([a, b])
      assert.deepStrictEqual(error.issues, [
        { file: b, path: "enrichments[0].steps[0]", message: "cycle: first → second → first" },
        { file: b, path: "enrichments[1].steps[0]", message: 'waterfall "first" is itself invalid' }
      ])
      const self = file({ enrichments: [waterfall("me", ["me"])] })
      assert.deepStrictEqual((yield* loadError([self])).issues, [
        { file: self, path: "enrichments[0].steps[0]", message: "cycle: me → me" }
      ])
    })
  )

  it.live("a_missing_file_and_bad_json_are_refused_naming_the_file", () =>
    Effect.gen(function* () {
      const missing = join(dir, "does-not-exist.json")
      const bad = file('{"enrichments": [')
      const error = yield* loadError([missing, bad])
      assert.strictEqual(error.issues.length, 2)
      assert.strictEqual(error.issues[0]!.file, missing)
      assert.match(error.issues[0]!.message, /^cannot read the file: ENOENT/)
      assert.strictEqual(error.issues[1]!.file, bad)
      assert.match(error.issues[1]!.message, /^not valid JSON: /)
      // the layer fails too: a misconfigured process does not start
      const exit = yield* Effect.exit(
        Effect.provide(
          Effect.service(Catalog),
          ConfiguredCatalogLive.pipe(
            Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { ENRICH_CATALOG_FILES: missing } })))
          )
        )
      )
      assert.isTrue(Exit.isFailure(exit))
    })
  )

  it.live("a_step_input_is_checked_against_the_step", () =>
    Effect.gen(function* () {
      const path = file({ enrichments: [waterfall("w", [{ enrichment: "email_validation", input: { mode: "x" } }])] })
      assert.deepStrictEqual((yield* loadError([path])).issues, [
        {
          file: path,
          path: "enrichments[0].steps[0].input",
          message: 'enrichment "email_validation" takes no input; unexpected: mode'
        }
      ])
    })
  )

  it.live("waterfall_execution_retries_each_step_moves_on_after_a_failure_and_combines_failures", () =>
    Effect.gen(function* () {
      const flaky = provider("p1", (email, n) => {
        if (email.startsWith("flaky") && n <= 1)
          return new ProviderError({ message: "p1 answered 503", retryable: true })
        if (email.startsWith("down")) return new ProviderError({ message: "p1 answered 503", retryable: true })
        if (email.startsWith("p1")) return hit("p1", "from p1")
        return nohit("p1")
      })
      const second = provider("p2", (email) => {
        if (email.startsWith("down") || email.includes("p2")) return hit("p2", "from p2")
        if (email.startsWith("broken")) return new ProviderError({ message: "p2 answered 401", retryable: false })
        return nohit("p2")
      })
      const path = file({ enrichments: [waterfall("w", ["p1", "p2"])] })
      const entries = yield* loadCatalogEntries([path], {
        extraEntries: [flaky.entry, second.entry],
        retry: { maxAttempts: 3, backoffMs: 1 }
      })
      const w = entries.find((e) => e.contract.slug === "w")!
      const ask = (email: string) => run(w, w.snapshot(lead({ contacts: [{ type: "email", value: email }] })))

      // p1 finds: p2 is not asked
      const p1 = yield* ask("p1@x.test")
      assert.isTrue(Exit.isSuccess(p1) && p1.value.provider === "p1" && p1.value.found)
      assert.isUndefined(second.calls.get("p1@x.test"))
      // p1 fails once (retryable), then misses: p2 answers
      const flakyExit = yield* ask("flaky-p2@x.test")
      assert.strictEqual(flaky.calls.get("flaky-p2@x.test"), 2)
      assert.isTrue(Exit.isSuccess(flakyExit))
      if (Exit.isSuccess(flakyExit)) {
        assert.strictEqual(flakyExit.value.provider, "p2")
        assert.strictEqual(flakyExit.value.providerSubmissionId, "p2-sub")
        assert.deepStrictEqual(flakyExit.value.result, { value: "from p2", found: true })
      }
      // p1 down for good (3 attempts), p2 answers: found, and the failure is recorded in raw
      const down = yield* ask("down@x.test")
      assert.strictEqual(flaky.calls.get("down@x.test"), 3)
      assert.isTrue(Exit.isSuccess(down))
      if (Exit.isSuccess(down)) {
        assert.deepStrictEqual(down.value.raw, {
          waterfall: "w",
          answeredBy: "p2",
          steps: [
            { step: "p1", status: "failed", attempts: 3, error: "p1 answered 503" },
            { step: "p2", status: "found", attempts: 1, providerSubmissionId: "p2-sub" }
          ],
          raw: { value: "from p2" }
        })
      }
      // both miss: completed, not found
      const none = yield* ask("nobody@x.test")
      assert.isTrue(Exit.isSuccess(none))
      if (Exit.isSuccess(none)) {
        assert.isFalse(none.value.found)
        assert.strictEqual(none.value.provider, "w")
        assert.deepStrictEqual(none.value.result, { value: null, found: false })
      }
      // p1 misses, p2 fails with a 4xx (not retried): the item fails with a non-retryable error naming p2
      const broken = yield* ask("broken@x.test")
      assert.strictEqual(second.calls.get("broken@x.test"), 1)
      assert.isTrue(Exit.isFailure(broken))
      if (Exit.isFailure(broken)) {
        const error = broken.cause.reasons.flatMap((r) => (r._tag === "Fail" ? [r.error] : []))[0] as ProviderError
        assert.isFalse(error.retryable)
        assert.strictEqual(
          error.message,
          "Waterfall w: no step found a result and 1 of 2 failed — p2: p2 answered 401 (1 attempt)"
        )
        assert.deepStrictEqual(error.details, {
          waterfall: "w",
          steps: [
            { step: "p1", status: "not_found", attempts: 1 },
            { step: "p2", status: "failed", attempts: 1, error: "p2 answered 401", retryable: false }
          ]
        })
      }
    })
  )

  it.live("a_nested_waterfall_names_the_inner_step_that_answered", () =>
    Effect.gen(function* () {
      const p1 = provider("p1", () => nohit("p1"))
      const p2 = provider("p2", () => hit("p2", 1))
      const p3 = provider("p3", () => hit("p3", 1))
      const path = file({ enrichments: [waterfall("outer", ["inner", "p3"]), waterfall("inner", ["p1", "p2"])] })
      const entries = yield* loadCatalogEntries([path], { extraEntries: [p1.entry, p2.entry, p3.entry] })
      assert.deepStrictEqual(
        entries.slice(-2).map((e) => e.contract.slug),
        ["outer", "inner"],
        "configured entries keep the files' order"
      )
      const outer = entries.find((e) => e.contract.slug === "outer")!
      const exit = yield* run(outer, outer.snapshot(lead({ contacts: [{ type: "email", value: "a@x.test" }] })))
      assert.isTrue(Exit.isSuccess(exit) && exit.value.provider === "inner/p2")
      assert.strictEqual(p3.calls.size, 0)
    })
  )
})
