/** The audit commands; their implementation (Audit.ts: the database, the adapters) loads only when one runs. */
import { Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"

const impl = Effect.promise(() => import("./Audit.ts"))

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

export const audit = Command.make("audit").pipe(
  Command.withDescription("Audit the event history and the read models (DATABASE_URL)"),
  Command.withSubcommands([auditRun, auditVerify])
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
