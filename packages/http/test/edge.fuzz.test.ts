/**
 * Property: whatever a client sends to any endpoint, the answer is never a 5xx;
 * a 4xx is JSON with a `code`, and a 4xx writes nothing. Bodies are random JSON,
 * mutations of valid bodies and hostile strings (NUL, lone surrogates, long
 * text); paths and queries are random too. Runs scale with ENRICH_TEST_SCALE.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { scaled } from "@enrich/adapters/testing/TestScale"
import type { TestClient } from "./support/HttpTestClient.ts"
import { ADMIN_TOKEN, ApiOnlyTestServer, tableCounts, TestServer } from "./support/TestServer.ts"

const hostile = fc.constantFrom(
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udc00y",
  "x".repeat(5000),
  "💥",
  "null",
  "-1",
  "1e309"
)
/** Any UTF-16 code unit, so lone surrogates too (fast-check's "binary" unit only makes whole code points). */
const utf16 = fc.string({ unit: fc.nat({ max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 8 })
const text = fc.oneof(
  { arbitrary: fc.string(), weight: 1 },
  { arbitrary: fc.string({ unit: "binary" }), weight: 1 },
  { arbitrary: utf16, weight: 2 },
  { arbitrary: hostile, weight: 3 }
)
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    text,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(text, tie("value"), { maxKeys: 4 })
  )
})).value

/** Every path to a leaf of `value` (and to each object, where a key may be added). */
const pathsOf = (value: unknown, path: ReadonlyArray<string | number> = []): Array<ReadonlyArray<string | number>> => {
  if (Array.isArray(value)) return [path, ...value.flatMap((v, i) => pathsOf(v, [...path, i]))]
  if (value !== null && typeof value === "object") {
    return [path, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...path, k]))]
  }
  return [path]
}

const setAt = (value: unknown, path: ReadonlyArray<string | number>, leaf: unknown): unknown => {
  if (path.length === 0) return leaf
  const [head, ...rest] = path
  const copy: any = Array.isArray(value) ? [...value] : { ...(value as object) }
  copy[head!] = setAt(copy[head!], rest, leaf)
  return copy
}

/** A valid body with exactly one leaf made hostile, or one hostile key added to one of its objects. */
const oneBadLeaf = (valid: Record<string, unknown>) =>
  fc
    .tuple(fc.constantFrom(...pathsOf(valid)), fc.oneof(hostile, hostile, text, json), text, fc.boolean())
    .map(([path, leaf, key, addKey]) => {
      const target = path.reduce<any>((v, k) => v?.[k], valid)
      return addKey && target !== null && typeof target === "object" && !Array.isArray(target)
        ? setAt(valid, path, { ...target, [key]: leaf })
        : setAt(valid, path, leaf)
    })

/** A valid body with one path replaced by random JSON, or one random key added. */
const mutate = (valid: Record<string, unknown>) =>
  fc.oneof(
    fc.constant(valid),
    json,
    fc.tuple(fc.constantFrom(...Object.keys(valid)), json).map(([key, value]) => ({ ...valid, [key]: value })),
    fc.tuple(text, json).map(([key, value]) => ({ ...valid, [key]: value }))
  )

/** Path segments: any well-formed text, percent-encoded, and raw byte sequences that are not UTF-8. */
const segment = fc.oneof(
  fc
    .oneof(text, fc.constantFrom("all", "abc", "01a22358-b5ed-7082-8351-220ba19335e0"))
    .map((s) => (s.isWellFormed() ? encodeURIComponent(s) : "%ED%A0%80")),
  fc.constantFrom("%ff%fe", "%00", "%E0%A4%A", "%", "a%2Fb", "..", "%2e%2e")
)
const query = fc
  .dictionary(
    fc.oneof(text, fc.constantFrom("limit", "cursor", "type", "status", "leadId", "id", "q")),
    fc.oneof(text, fc.integer().map(String)),
    { maxKeys: 3 }
  )
  .map((q) => {
    const params = new URLSearchParams()
    for (const [k, v] of Object.entries(q)) {
      if (k.isWellFormed() && v.isWellFormed()) params.append(k, v)
    }
    const s = params.toString()
    return s === "" ? "" : `?${s}`
  })

/** Bodies of the right shape whose leaves are hostile: the paths a real client fills in. */
const leadLike = fc.record(
  {
    type: fc.oneof(fc.constantFrom("person", "company"), text),
    email: text,
    domain: text,
    name: fc.record({ full: text }, { requiredKeys: [] }),
    company: fc.record({ name: text, domain: text }, { requiredKeys: [] }),
    contacts: fc.array(fc.record({ type: fc.constantFrom("email", "phone"), value: text }), { maxLength: 2 }),
    attributes: fc.dictionary(text, json, { maxKeys: 3 })
  },
  { requiredKeys: ["type"] }
)
const shaped = fc.oneof(
  fc
    .record({ leads: fc.array(leadLike, { minLength: 1, maxLength: 3 }), listId: fc.option(text, { nil: undefined }) })
    .map((body) => ({ method: "POST" as const, path: "/api/lists/import", body })),
  fc
    .record({ name: text, description: text, leadIds: fc.array(text, { maxLength: 2 }) }, { requiredKeys: [] })
    .map((body) => ({ method: "POST" as const, path: "/api/lists", body })),
  fc
    .record(
      {
        enrichmentId: fc.oneof(fc.constant("email_validation"), text),
        scope: fc.oneof(
          fc.record({ type: fc.constant("explicit_leads"), leadIds: fc.array(text, { minLength: 1, maxLength: 3 }) }),
          fc.record({ type: fc.constant("list"), listId: fc.oneof(fc.constant("all"), text) })
        ),
        mode: fc.constantFrom("preview", "persisted"),
        input: fc.dictionary(text, json, { maxKeys: 2 }),
        displayRequest: fc.record({ fieldId: text }),
        idempotencyKey: text
      },
      { requiredKeys: ["enrichmentId", "scope"] }
    )
    .map((body) => ({ method: "POST" as const, path: "/api/enrichment", body })),
  fc.record({ name: text, credits: fc.oneof(fc.integer(), fc.double()) }).map((body) => ({
    method: "POST" as const,
    path: "/admin/workspaces",
    body,
    admin: true
  }))
)

interface Request {
  readonly method: "GET" | "POST"
  readonly path: string
  readonly body?: unknown
  readonly admin?: boolean
}

const validImport = {
  leads: [
    { type: "person", email: "a@corp.example", name: { full: "Ada" }, attributes: { k: "v", n: { deep: ["x"] } } }
  ]
}
const validDispatch = {
  enrichmentId: "email_validation",
  scope: { type: "explicit_leads", leadIds: ["x"] },
  mode: "preview",
  input: {},
  output: { target: "lead_attribute", attributeKey: "k" },
  displayRequest: { fieldId: "f" },
  idempotencyKey: "k"
}

/** Each kind of request is sampled on its own, so every endpoint gets its share. */
const requestKinds: ReadonlyArray<fc.Arbitrary<Request>> = [
  shaped,
  oneBadLeaf(validImport).map((body) => ({ method: "POST" as const, path: "/api/lists/import", body })),
  oneBadLeaf(validDispatch).map((body) => ({ method: "POST" as const, path: "/api/enrichment", body })),
  oneBadLeaf({ name: "L", description: "d", leadType: "person", leadIds: [] }).map((body) => ({
    method: "POST" as const,
    path: "/api/lists",
    body
  })),
  mutate({ name: "Acme", credits: 5 }).map((body) => ({
    method: "POST" as const,
    path: "/admin/workspaces",
    body,
    admin: true
  })),
  mutate({ name: "List", leadType: "person" }).map((body) => ({ method: "POST" as const, path: "/api/lists", body })),
  mutate({ leads: [{ type: "person", email: "a@corp.example", attributes: { k: 1 } }] }).map((body) => ({
    method: "POST" as const,
    path: "/api/lists/import",
    body
  })),
  mutate({ enrichmentId: "email_validation", scope: { type: "list", listId: "all" }, mode: "preview" }).map((body) => ({
    method: "POST" as const,
    path: "/api/enrichment",
    body
  })),
  fc.tuple(segment, query).map(([id, q]) => ({ method: "GET" as const, path: `/api/lists/${id}/leads${q}` })),
  query.map((q) => ({ method: "GET" as const, path: `/api/enrichments${q}` })),
  segment.map((id) => ({ method: "GET" as const, path: `/api/enrichment/${id}` })),
  fc.tuple(segment, query).map(([id, q]) => ({ method: "GET" as const, path: `/api/enrichment/${id}/items${q}` }))
]

const send = (api: TestClient, key: string, request: Request) => {
  const options = { key: request.admin === true ? ADMIN_TOKEN : key, raw: JSON.stringify(request.body) }
  return request.method === "GET" ? api.get(request.path, { key: options.key }) : api.post(request.path, options)
}

layer(ApiOnlyTestServer, { timeout: 300_000, excludeTestServices: true })("HTTP edge (property)", (it) => {
  it.effect("no_request_gets_a_5xx_and_a_refused_request_writes_nothing", () =>
    Effect.gen(function* () {
      const api = yield* TestServer
      const created = yield* Effect.promise(() =>
        api.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Fuzz", credits: 10 } })
      )
      const key = created.body.apiKey as string
      const counts = tableCounts
      const seed = Number(process.env["ENRICH_FUZZ_SEED"] ?? 42)
      const samples = requestKinds.flatMap((kind, i) => fc.sample(kind, { numRuns: scaled(40), seed: seed + i }))
      for (const request of samples) {
        const before = yield* counts
        const reply = yield* Effect.promise(() => send(api, key, request))
        const where = `${request.method} ${request.path} ${JSON.stringify(request.body)?.slice(0, 300)} → ${reply.status} ${JSON.stringify(reply.body)?.slice(0, 300)}`
        if (process.env["FUZZ_DEBUG"]) console.log(where.slice(0, 200))
        assert.isBelow(reply.status, 500, where)
        if (reply.status >= 400) {
          assert.isString(reply.body?.code, where)
          assert.deepStrictEqual(yield* counts, before, `a refused request wrote something: ${where}`)
        }
      }
    })
  )
})
