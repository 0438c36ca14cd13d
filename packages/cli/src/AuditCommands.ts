/**
 * The commands on the database (`DATABASE_URL`): audit, events, replay, migrate. Their
 * implementation (Audit.ts, AuditCredits.ts, Events.ts: the database, the adapters) loads only
 * when one runs.
 */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"

const impl = Effect.promise(() => import("./Audit.ts"))
const creditsImpl = Effect.promise(() => import("./AuditCredits.ts"))
const eventsImpl = Effect.promise(() => import("./Events.ts"))

const auditRun = Command.make(
  "run",
  { id: Argument.String("id").pipe(Argument.withDescription("The run id")) },
  Effect.fn(function* ({ id }) {
    yield* (yield* impl).auditRun(id)
  })
).pipe(Command.withDescription("A run's timeline from its events: who, when, what, credit movements (DATABASE_URL)"))

const auditVerify = Command.make(
  "verify",
  {},
  Effect.fn(function* () {
    yield* (yield* impl).auditVerify
  })
).pipe(
  Command.withDescription(
    "Replay every stream, check the invariants and compare every projection with a fresh rebuild (rolled back); exit 7 with a report when something is off"
  )
)

const auditCredits = Command.make(
  "credits",
  {
    workspace: Argument.String("workspace").pipe(Argument.withDescription("The workspace id")),
    from: Flag.String("from").pipe(Flag.withDescription("Only lines at or after this ISO-8601 time"), Flag.optional),
    to: Flag.String("to").pipe(Flag.withDescription("Only lines before this ISO-8601 time"), Flag.optional),
    leads: Flag.Boolean("leads").pipe(
      Flag.withDescription("List the Lead ids of each line's items (from the runs' frozen scopes)"),
      Flag.withDefault(false)
    )
  },
  Effect.fn(function* ({ workspace, from, to, leads }) {
    yield* (yield* creditsImpl).auditCredits({
      workspaceId: workspace,
      from: Option.getOrUndefined(from),
      to: Option.getOrUndefined(to),
      leads
    })
  })
).pipe(
  Command.withDescription(
    "The workspace's credit ledger explained from its events: each line with its running balance, run, who asked, and the items it charged or released (DATABASE_URL)"
  )
)

export const audit = Command.make("audit").pipe(
  Command.withDescription("Audit the event history and the read models (DATABASE_URL)"),
  Command.withSubcommands([auditRun, auditCredits, auditVerify])
)

const eventsTail = Command.make(
  "tail",
  {
    stream: Flag.String("stream").pipe(
      Flag.withDescription("Only this stream (run-<runId>, credits-<workspaceId>)"),
      Flag.optional
    ),
    from: Flag.String("from").pipe(
      Flag.withDescription("Start after the event at this global position (as printed by a tail)"),
      Flag.optional
    ),
    follow: Flag.Boolean("follow").pipe(
      Flag.withDescription("Keep polling for new events until Ctrl-C (exit 0)"),
      Flag.withDefault(false)
    ),
    intervalMs: Flag.Int("interval-ms").pipe(
      Flag.withDescription("Polling interval of --follow"),
      Flag.withDefault(500)
    )
  },
  Effect.fn(function* (options) {
    yield* (yield* eventsImpl).eventsTail(options)
  })
).pipe(
  Command.withDescription(
    "Print the global event log (or one stream) as JSON lines; --follow keeps printing new events (DATABASE_URL)"
  )
)

export const events = Command.make("events").pipe(
  Command.withDescription("The event store's log (DATABASE_URL)"),
  Command.withSubcommands([eventsTail])
)

export const replay = Command.make(
  "replay",
  { rebuild: Flag.Boolean("rebuild").pipe(Flag.withDescription("Truncate the projections and replay every event")) },
  Effect.fn(function* ({ rebuild }) {
    yield* (yield* impl).replay(rebuild)
  })
).pipe(Command.withDescription("Rebuild every projection from the events, in one transaction (DATABASE_URL)"))

export const migrate = Command.make(
  "migrate",
  {},
  Effect.fn(function* () {
    yield* (yield* impl).migrate
  })
).pipe(Command.withDescription("Apply the database migrations (DATABASE_URL)"))
