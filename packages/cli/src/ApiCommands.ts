/**
 * The commands over the API, through the typed client (`@enrich/http/client`): flags are
 * named after the body fields in kebab-case, JSON values are one argument each, and the
 * typed client checks every body against the API's schemas before it is sent.
 */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { admin, api, body, cursorFlag, fields, idsFlag, intFlag, jsonFlag, limitFlag, textFlag } from "./Env.ts"
import { leadImport } from "./Import.ts"
import { print } from "./Output.ts"
import { results } from "./Results.ts"
import { watchRun } from "./Watch.ts"

const idArg = (what: string) => Argument.String("id").pipe(Argument.withDescription(`The ${what} id`))

// --- enrichment --------------------------------------------------------------------

const create = Command.make(
  "create",
  {
    enrichmentId: Flag.String("enrichment-id").pipe(Flag.withDescription("The enrichment (see `enrich enrichments`)")),
    scope: jsonFlag("scope", 'The scope, as JSON: {"type":"list","listId":"…"} | explicit_leads | filtered_list'),
    mode: Flag.Literals("mode", ["persisted", "preview"]).pipe(Flag.optional),
    input: jsonFlag("input", "Enrichment input, a JSON object"),
    output: jsonFlag("output", 'Where results go, as JSON: {"target":"lead","attributeKey":"…"}'),
    writePolicy: Flag.Literals("write-policy", ["overwrite", "skip_existing"]).pipe(Flag.optional),
    displayRequest: jsonFlag("display-request", 'As JSON: {"fieldId":"…"}'),
    idempotencyKey: textFlag("idempotency-key", "Makes the dispatch safe to retry"),
    freshness: jsonFlag(
      "freshness",
      'Skip Leads with a result this recent, as JSON: {"maxAgeDays":30} (they are not charged)'
    ),
    watch: Flag.Boolean("watch").pipe(Flag.withDescription("Follow the run until it settles"), Flag.withDefault(false))
  },
  Effect.fn(function* ({ watch, ...flags }) {
    const payload = fields({ ...flags, enrichmentId: Option.some(flags.enrichmentId) })
    const dispatched = yield* api((client) => client.enrichments.dispatch({ payload: body(payload), headers: {} }))
    if (!watch || !("runId" in dispatched) || dispatched.runId === null) return yield* print(dispatched)
    process.stderr.write(`${JSON.stringify(dispatched)}\n`)
    yield* watchRun(dispatched.runId)
  })
).pipe(Command.withDescription("Dispatch an enrichment run (POST /api/enrichment)"))

const list = Command.make(
  "list",
  {
    status: Flag.Literals("status", ["pending", "running", "completed", "failed", "cancelled"]).pipe(Flag.optional),
    enrichmentId: textFlag("enrichment-id", "Only runs of this enrichment"),
    createdAfter: textFlag("created-after", "ISO-8601 timestamp"),
    limit: limitFlag,
    cursor: cursorFlag
  },
  Effect.fn(function* (flags) {
    yield* print(yield* api((client) => client.enrichments.list({ query: body(fields(flags)) })))
  })
).pipe(Command.withDescription("List the workspace's runs, newest first"))

const status = Command.make(
  "status",
  { id: idArg("run") },
  Effect.fn(function* ({ id }) {
    yield* print(yield* api((client) => client.enrichments.status({ params: { id } })))
  })
).pipe(Command.withDescription("A run's status, counts and credits"))

const resultsCommand = Command.make(
  "results",
  {
    id: idArg("run"),
    status: Flag.Literals("status", ["pending", "running", "completed", "skipped", "failed"]).pipe(Flag.optional),
    leadId: textFlag("lead-id", "Only this Lead's item"),
    limit: limitFlag,
    cursor: cursorFlag
  },
  Effect.fn(function* ({ id, ...flags }) {
    yield* results(id, fields(flags) as never)
  })
).pipe(
  Command.withDescription("A run's items: one page as JSON, or every item with --format jsonl|csv (streamed)"),
  Command.withExamples([{ command: "enrich --format csv enrichment results RUN > results.csv", description: "export" }])
)

const cancel = Command.make(
  "cancel",
  { id: idArg("run") },
  Effect.fn(function* ({ id }) {
    yield* print(yield* api((client) => client.enrichments.cancel({ params: { id } })))
  })
).pipe(Command.withDescription("Cancel a run: pending items are skipped, unused credits released"))

const retry = Command.make(
  "retry",
  {
    id: idArg("run"),
    mode: Flag.Literals("mode", ["persisted", "preview"]).pipe(Flag.optional),
    idempotencyKey: textFlag("idempotency-key", "Makes the retry safe to repeat"),
    watch: Flag.Boolean("watch").pipe(
      Flag.withDescription("Follow the new run until it settles"),
      Flag.withDefault(false)
    )
  },
  Effect.fn(function* ({ id, idempotencyKey, mode, watch }) {
    const retried = yield* api((client) =>
      client.enrichments.retry({
        params: { id },
        payload: body(fields({ mode })),
        headers: Option.isSome(idempotencyKey) ? { "idempotency-key": idempotencyKey.value } : {}
      })
    )
    if (!watch || !("runId" in retried) || retried.runId === null) return yield* print(retried)
    process.stderr.write(`${JSON.stringify(retried)}\n`)
    yield* watchRun(retried.runId)
  })
).pipe(
  Command.withDescription(
    "Run again only the failed items of a run that is over (POST /api/enrichment/{id}/retry): charged for those only"
  )
)

const watch = Command.make(
  "watch",
  { id: idArg("run") },
  Effect.fn(function* ({ id }) {
    yield* watchRun(id)
  })
).pipe(Command.withDescription("Follow a run live (progress on stderr), then print a summary"))

export const enrichment = Command.make("enrichment").pipe(
  Command.withDescription("Enrichment runs"),
  Command.withSubcommands([create, list, status, resultsCommand, cancel, retry, watch])
)

export const enrichments = Command.make(
  "enrichments",
  { id: textFlag("id", "One enrichment"), q: textFlag("q", "Search") },
  Effect.fn(function* (flags) {
    yield* print(yield* api((client) => client.enrichments.catalog({ query: body(fields(flags)) })))
  })
).pipe(Command.withDescription("The catalog of enrichments"))

// --- lead ---------------------------------------------------------------------------

const leadFields = {
  name: Flag.String("name").pipe(
    Flag.mapTryCatch(
      (text): unknown => (text.trim().startsWith("{") || text === "null" ? JSON.parse(text) : { full: text }),
      (error) => `--name: ${String(error)}`
    ),
    Flag.withDescription('A full name, or JSON {"first":"…","last":"…"}'),
    Flag.optional
  ),
  title: textFlag("title", "Job title"),
  email: textFlag("email", "Email (an identity key)"),
  phone: textFlag("phone", "Phone"),
  linkedinUrl: textFlag("linkedin-url", "LinkedIn URL (an identity key)"),
  domain: textFlag("domain", "Company domain (an identity key)"),
  company: jsonFlag("company", 'As JSON: {"name":"…","domain":"…"}'),
  location: jsonFlag("location", 'As JSON: {"city":"…","state":"…","country":"…"}'),
  industry: textFlag("industry", "Industry"),
  size: textFlag("size", "Company size"),
  contacts: jsonFlag("contacts", 'As JSON: [{"type":"email","value":"…"}]'),
  socials: jsonFlag("socials", 'As JSON: [{"url":"…"}]'),
  attributes: jsonFlag("attributes", "As a JSON object")
}

const leadCreate = Command.make(
  "create",
  { type: Flag.Literals("type", ["person", "company"]), ...leadFields },
  Effect.fn(function* (flags) {
    const payload = fields({ ...flags, type: Option.some(flags.type) })
    yield* print(yield* api((client) => client.leads.create({ payload: body(payload) })))
  })
).pipe(Command.withDescription("Create a Lead (or match the one with its identity)"))

const leadList = Command.make(
  "list",
  {
    id: textFlag("id", "One Lead"),
    type: Flag.Literals("type", ["person", "company"]).pipe(Flag.optional),
    q: textFlag("q", "Search names, emails, domains, titles"),
    limit: limitFlag,
    cursor: cursorFlag
  },
  Effect.fn(function* (flags) {
    yield* print(yield* api((client) => client.leads.list({ query: body(fields(flags)) })))
  })
).pipe(Command.withDescription("List or search Leads"))

const leadUpdate = Command.make(
  "update",
  { id: idArg("Lead"), ...leadFields },
  Effect.fn(function* ({ id, ...flags }) {
    const payload = { id, ...fields(flags) }
    yield* print(yield* api((client) => client.leads.update({ payload: body(payload) })))
  })
).pipe(Command.withDescription("Edit a Lead: given fields replace (JSON null clears), attributes merge"))

const leadDelete = Command.make(
  "delete",
  { id: idArg("Lead") },
  Effect.fn(function* ({ id }) {
    yield* print(yield* api((client) => client.leads.delete({ payload: { id } })))
  })
).pipe(Command.withDescription("Erase a Lead"))

export const lead = Command.make("lead").pipe(
  Command.withDescription("Leads"),
  Command.withSubcommands([leadCreate, leadList, leadUpdate, leadDelete, leadImport])
)

// --- list -----------------------------------------------------------------------------

const listLeadType = Flag.Literals("lead-type", ["person", "company", "mixed"]).pipe(Flag.optional)

const listCreate = Command.make(
  "create",
  {
    name: textFlag("name", "Name"),
    description: textFlag("description", "Description"),
    leadType: listLeadType,
    leadIds: idsFlag("lead-ids", "Initial members")
  },
  Effect.fn(function* (flags) {
    yield* print(yield* api((client) => client.lists.create({ payload: body(fields(flags)) })))
  })
).pipe(Command.withDescription("Create a List"))

const listList = Command.make(
  "list",
  { limit: limitFlag, cursor: cursorFlag },
  Effect.fn(function* (flags) {
    yield* print(yield* api((client) => client.lists.list({ query: body(fields(flags)) })))
  })
).pipe(Command.withDescription("The workspace's Lists (`all` first)"))

const listUpdate = Command.make(
  "update",
  {
    id: idArg("List"),
    name: textFlag("name", "Name"),
    description: jsonFlag("description", 'As JSON: "text" or null to clear'),
    leadType: listLeadType
  },
  Effect.fn(function* ({ id, ...flags }) {
    yield* print(yield* api((client) => client.lists.update({ payload: body({ id, ...fields(flags) }) })))
  })
).pipe(Command.withDescription("Rename, describe or retype a List"))

const listDelete = Command.make(
  "delete",
  { id: idArg("List") },
  Effect.fn(function* ({ id }) {
    yield* print(yield* api((client) => client.lists.delete({ payload: { id } })))
  })
).pipe(Command.withDescription("Delete a List (its Leads stay)"))

const listLeads = Command.make(
  "leads",
  {
    id: idArg("List"),
    type: Flag.Literals("type", ["person", "company"]).pipe(Flag.optional),
    limit: limitFlag,
    cursor: cursorFlag
  },
  Effect.fn(function* ({ id, ...flags }) {
    yield* print(yield* api((client) => client.lists.leads({ params: { id }, query: body(fields(flags)) })))
  })
).pipe(Command.withDescription("A List's Leads"))

const members = (name: "add" | "remove") =>
  Command.make(
    name,
    { id: idArg("List"), leadIds: Flag.String("lead-ids").pipe(Flag.withDescription("JSON array or comma-separated")) },
    Effect.fn(function* ({ id, leadIds }) {
      const ids = leadIds.trim().startsWith("[")
        ? (JSON.parse(leadIds) as ReadonlyArray<string>)
        : leadIds.split(",").map((s) => s.trim())
      const payload = body<{ readonly leadIds: ReadonlyArray<string> }>({ leadIds: ids })
      yield* print(
        name === "add"
          ? yield* api((client) => client.lists.addMembers({ params: { id }, payload }))
          : yield* api((client) => client.lists.removeMembers({ params: { id }, payload }))
      )
    })
  ).pipe(Command.withDescription(name === "add" ? "Add Leads to a List" : "Remove Leads from a List"))

export const listCommand = Command.make("list").pipe(
  Command.withDescription("Lists and their members"),
  Command.withSubcommands([listCreate, listList, listUpdate, listDelete, listLeads, members("add"), members("remove")])
)

// --- credit -----------------------------------------------------------------------------

const balance = Command.make(
  "balance",
  {},
  Effect.fn(function* () {
    yield* print(yield* api((client) => client.credits.balance({})))
  })
).pipe(Command.withDescription("Balance, held, captured, granted"))

const ledger = Command.make(
  "ledger",
  { limit: limitFlag, cursor: cursorFlag },
  Effect.fn(function* (flags) {
    yield* print(yield* api((client) => client.credits.ledger({ query: body(fields(flags)) })))
  })
).pipe(Command.withDescription("Credit movements, newest first"))

const preview = Command.make(
  "preview",
  {
    enrichmentId: textFlag("enrichment-id", "Quote this enrichment"),
    action: textFlag("action", "Or quote this credit action"),
    count: Flag.Int("count").pipe(Flag.withDescription("How many items"))
  },
  Effect.fn(function* (flags) {
    const payload = fields({ ...flags, count: Option.some(flags.count) })
    yield* print(yield* api((client) => client.credits.preview({ payload: body(payload) })))
  })
).pipe(Command.withDescription("What a run would cost, and whether the balance covers it"))

const grant = Command.make(
  "grant",
  {
    workspace: Argument.String("workspace").pipe(Argument.withDescription("The workspace id")),
    amount: Flag.Int("amount").pipe(Flag.withDescription("Positive: a grant; negative: an adjustment")),
    reason: Flag.String("reason").pipe(Flag.withDescription("Why (kept in the ledger)"))
  },
  Effect.fn(function* ({ workspace, amount, reason }) {
    yield* print(
      yield* admin((client) => client.admin.moveCredits({ params: { id: workspace }, payload: { amount, reason } }))
    )
  })
).pipe(Command.withDescription("Operator: grant (or take back) credits (ENRICH_ADMIN_TOKEN)"))

export const credit = Command.make("credit").pipe(
  Command.withDescription("Credits"),
  Command.withSubcommands([balance, ledger, preview, grant])
)

// --- operator ---------------------------------------------------------------------------

const runFail = Command.make(
  "fail",
  {
    id: idArg("run"),
    reason: Flag.String("reason").pipe(Flag.withDescription("Why (1..500 characters; becomes the run's error message)"))
  },
  Effect.fn(function* ({ id, reason }) {
    yield* print(yield* admin((client) => client.admin.failRun({ params: { id }, payload: { reason } })))
  })
).pipe(
  Command.withDescription(
    "Operator: end a run now (POST /admin/runs/{id}/fail): an active run fails, pending and running items are skipped, credits settle by its chargeOn; prints the run (ENRICH_ADMIN_TOKEN)"
  )
)

export const run = Command.make("run").pipe(
  Command.withDescription("Operator: runs that nothing else will end (ENRICH_ADMIN_TOKEN)"),
  Command.withSubcommands([runFail])
)

const workspaceCreate = Command.make(
  "create",
  {
    name: Flag.String("name").pipe(Flag.withDescription("Workspace name")),
    credits: intFlag("credits", "Opening grant")
  },
  Effect.fn(function* (flags) {
    const payload = fields({ ...flags, name: Option.some(flags.name) })
    yield* print(yield* admin((client) => client.admin.createWorkspace({ payload: body(payload) })))
  })
).pipe(Command.withDescription("Operator: create a workspace and its first API key (shown once)"))

export const workspace = Command.make("workspace").pipe(
  Command.withDescription("Operator: workspaces (ENRICH_ADMIN_TOKEN)"),
  Command.withSubcommands([workspaceCreate])
)

const workspaceArg = Argument.String("workspace").pipe(Argument.withDescription("The workspace id"))

export const apikey = Command.make("apikey").pipe(
  Command.withDescription("Operator: API keys (ENRICH_ADMIN_TOKEN)"),
  Command.withSubcommands([
    Command.make(
      "create",
      {
        workspace: workspaceArg,
        scopes: idsFlag(
          "scopes",
          "Only these scopes, comma-separated or a JSON array: read, preview, dispatch, leads:write, webhooks (default: every scope)"
        ),
        creditLimit: intFlag("credit-limit", "The most the key may have in use per calendar month in UTC (credits)"),
        expiresAt: textFlag(
          "expires-at",
          "When the key stops working: an ISO-8601 instant ahead (2026-12-31T23:59:59Z)"
        )
      },
      Effect.fn(function* ({ workspace, ...flags }) {
        const payload = fields(flags)
        yield* print(
          yield* admin((client) => client.admin.createApiKey({ params: { id: workspace }, payload: body(payload) }))
        )
      })
    ).pipe(
      Command.withDescription(
        "A new API key for a workspace (the secret is shown once), optionally restricted to scopes, a monthly credit limit, an expiry"
      ),
      Command.withExamples([
        {
          command:
            "enrich apikey create WORKSPACE --scopes read,preview --credit-limit 500 --expires-at 2026-12-31T23:59:59Z",
          description: "a key that reads and previews, spends at most 500 credits a month, until the end of 2026"
        }
      ])
    ),
    Command.make(
      "list",
      { workspace: workspaceArg },
      Effect.fn(function* ({ workspace }) {
        yield* print(yield* admin((client) => client.admin.listApiKeys({ params: { id: workspace } })))
      })
    ).pipe(Command.withDescription("A workspace's API keys (never their secrets)")),
    Command.make(
      "revoke",
      { id: idArg("API key") },
      Effect.fn(function* ({ id }) {
        yield* print(yield* admin((client) => client.admin.revokeApiKey({ params: { id } })))
      })
    ).pipe(Command.withDescription("Revoke an API key"))
  ])
)
