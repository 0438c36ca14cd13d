/**
 * `enrich webhook …`: a workspace's webhook endpoints and their deliveries (`/api/webhooks`),
 * through the typed client as the other API commands (ApiCommands.ts): results as JSON on
 * stdout (`--format json|pretty`), failures as the API's error JSON on stderr with the exit
 * codes of Output.ts. A signing secret (`whsec_…`) is in the body of `create` and `rotate`
 * only, so both say on stderr that it is shown once; `deliveries` prints one page, or every
 * delivery with `--all` (one JSON page) or `--format jsonl|csv` (streamed, as `enrichment results`).
 */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { rotationGraceMs, WebhookEventType } from "@enrich/domain/webhooks/Webhooks"
import { api, body, cursorFlag, fields, intFlag, textFlag } from "./Env.ts"
import { Format, print, writeErr, writeOut } from "./Output.ts"
import { csvLines } from "./Results.ts"

const idArg = Argument.String("id").pipe(Argument.withDescription("The webhook id"))

/** Tells, on stderr (stdout stays the API's body), that the secret just printed is not shown again. */
const secretNotice = (id: string, rotated: boolean) =>
  writeErr(
    rotated
      ? `the new signing secret of webhook ${id} is shown only once: store it now (the previous one still signs for ${rotationGraceMs / 3_600_000} hours)\n`
      : `the signing secret of webhook ${id} is shown only once: store it now (enrich webhook rotate ${id} makes a new one)\n`
  )

const create = Command.make(
  "create",
  {
    url: Flag.String("url").pipe(
      Flag.withDescription("Where events are POSTed: https, on a public address (the API refuses others)")
    ),
    events: Flag.Literals("event", WebhookEventType.literals).pipe(
      Flag.atLeast(1),
      Flag.withDescription("An event to send (repeat for more): run.completed, run.failed, run.cancelled")
    ),
    description: textFlag("description", "What the endpoint is for")
  },
  Effect.fn(function* ({ url, events, description }) {
    const payload = { url, events, ...fields({ description }) }
    const created = yield* api((client) => client.webhooks.create({ payload: body(payload) }))
    yield* print(created)
    yield* secretNotice(created.webhook.id, false)
  })
).pipe(
  Command.withDescription("Register an endpoint (POST /api/webhooks); prints it with its signing secret, shown once"),
  Command.withExamples([
    {
      command: "enrich webhook create --url https://hooks.example.com/enrich --event run.completed --event run.failed",
      description: "be told when a run ends"
    }
  ])
)

const list = Command.make(
  "list",
  {},
  Effect.fn(function* () {
    yield* print(yield* api((client) => client.webhooks.list({})))
  })
).pipe(Command.withDescription("The workspace's endpoints (never their secrets)"))

const remove = Command.make(
  "delete",
  { id: idArg },
  Effect.fn(function* ({ id }) {
    yield* print(yield* api((client) => client.webhooks.remove({ params: { id } })))
  })
).pipe(Command.withDescription("Delete an endpoint and its delivery log"))

const rotate = Command.make(
  "rotate",
  { id: idArg },
  Effect.fn(function* ({ id }) {
    const rotated = yield* api((client) => client.webhooks.rotateSecret({ params: { id } }))
    yield* print(rotated)
    yield* secretNotice(rotated.webhook.id, true)
  })
).pipe(
  Command.withDescription(
    "A new signing secret (POST /api/webhooks/{id}/rotate-secret), shown once; the previous one still signs for 24 hours"
  )
)

interface DeliveryView {
  readonly id: string
  readonly eventType: string
  readonly runId: string
  readonly status: string
  readonly attempts: number
  readonly lastStatusCode: number | null
  readonly lastError: string | null
  readonly nextAttemptAt: string | null
  readonly createdAt: string
}

const deliveryColumns = [
  "id",
  "eventType",
  "runId",
  "status",
  "attempts",
  "lastStatusCode",
  "lastError",
  "nextAttemptAt",
  "createdAt"
] as const

const deliveries = Command.make(
  "deliveries",
  {
    id: idArg,
    limit: intFlag("limit", "Page size (1..100; with --all or --format jsonl|csv, of each request: default 100)"),
    cursor: cursorFlag,
    all: Flag.Boolean("all").pipe(
      Flag.withDescription("Every delivery from --cursor on, following nextCursor: one JSON page"),
      Flag.withDefault(false)
    )
  },
  Effect.fn(function* ({ id, limit, cursor, all }) {
    const format = yield* Format
    const page = (at: Option.Option<string>, size: Option.Option<number>) =>
      api((client) => client.webhooks.deliveries({ params: { id }, query: body(fields({ limit: size, cursor: at })) }))
    const exporting = format === "jsonl" || format === "csv"
    if (!all && !exporting) return yield* print(yield* page(cursor, limit))
    // every page, as `enrichment results` exports: requests of --limit (default 100), streamed when exporting
    const size = Option.orElse(limit, () => Option.some(100))
    const collected: Array<DeliveryView> = []
    if (format === "csv") yield* writeOut(csvLines([deliveryColumns]))
    let at = cursor
    let count = 0
    for (;;) {
      const next = yield* page(at, size)
      if (!exporting) collected.push(...next.deliveries)
      else if (next.deliveries.length > 0) {
        yield* writeOut(
          format === "csv"
            ? csvLines(next.deliveries.map((d) => deliveryColumns.map((column) => d[column])))
            : `${next.deliveries.map((d) => JSON.stringify(d)).join("\n")}\n`
        )
      }
      count += next.deliveries.length
      if (!next.hasMore || next.nextCursor === null) break
      at = Option.some(next.nextCursor)
    }
    if (exporting) return yield* writeErr(`exported ${count} deliveries of webhook ${id}\n`)
    yield* print({ deliveries: collected, nextCursor: null, hasMore: false })
  })
).pipe(
  Command.withDescription(
    "An endpoint's deliveries, newest first: one page, every one with --all, or exported with --format jsonl|csv"
  ),
  Command.withExamples([{ command: "enrich webhook deliveries WEBHOOK --all", description: "the whole log" }])
)

const redeliver = Command.make(
  "redeliver",
  {
    id: idArg,
    deliveryId: Argument.String("delivery-id").pipe(Argument.withDescription("The delivery id (see deliveries)"))
  },
  Effect.fn(function* ({ id, deliveryId }) {
    yield* print(yield* api((client) => client.webhooks.redeliver({ params: { id, deliveryId } })))
  })
).pipe(
  Command.withDescription(
    "Send a delivery again, now (202): it is pending until the worker's next attempt; exit 4 when the endpoint is disabled"
  )
)

export const webhook = Command.make("webhook").pipe(
  Command.withDescription("Webhook endpoints told when runs end, and their deliveries"),
  Command.withSubcommands([create, list, remove, rotate, deliveries, redeliver])
)
