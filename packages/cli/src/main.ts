/**
 * The `enrich` command line (bin/enrich.js loads this file). Results go to stdout as JSON,
 * failures to stderr as the API's error JSON, with the exit codes of Output.ts.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Effect, Exit, Layer, Runtime } from "effect"
import { CliError, Command } from "effect/cli"
import { apikey, credit, enrichment, enrichments, lead, listCommand, run, workspace } from "./ApiCommands.ts"
import { audit, events, migrate, replay } from "./AuditCommands.ts"
import { CliSettings } from "./Env.ts"
import { CliFailure, errorBody, ExitCode, Format, report, untilStopped } from "./Output.ts"
import { webhook } from "./WebhookCommands.ts"

export const enrich = Command.make("enrich").pipe(
  Command.withDescription(
    "The enrich command line. ENRICH_API_URL (default http://127.0.0.1:8787), ENRICH_API_KEY; ENRICH_ADMIN_TOKEN for the operator commands (workspace, apikey, credit grant, run fail); DATABASE_URL for audit, events, replay, migrate."
  ),
  Command.withSubcommands([
    enrichment,
    enrichments,
    lead,
    listCommand,
    credit,
    webhook,
    workspace,
    apikey,
    run,
    audit,
    events,
    replay,
    migrate
  ]),
  Command.withGlobalFlags([Format])
)

const program = Command.run(enrich, { version: "0.1.0" }).pipe(
  Effect.catch((error) => {
    if (error instanceof CliFailure) return report(error).pipe(Effect.andThen(Effect.fail(error)))
    if (CliError.isCliError(error)) {
      // --help alone is a success; any other parse error is a usage error (exit 2)
      if (error._tag === "ShowHelp" && error.errors.length === 0) return Effect.void
      const failure = new CliFailure({
        body: errorBody(
          "USAGE",
          error._tag === "ShowHelp" ? error.errors.map((e) => e.message).join("; ") : error.message
        ),
        exitCode: ExitCode.usage
      })
      return report(failure).pipe(Effect.andThen(Effect.fail(failure)))
    }
    return Effect.fail(error)
  }),
  // a bug or an unexpected failure below (a defect): still one error JSON on stderr, exit 1
  Effect.catchDefect((defect) => {
    const failure = new CliFailure({
      body: errorBody("UNEXPECTED", defect instanceof Error ? (defect.stack ?? defect.message) : String(defect)),
      exitCode: ExitCode.unexpected
    })
    return report(failure).pipe(Effect.andThen(Effect.fail(failure)))
  }),
  Effect.provide(Layer.mergeAll(NodeServices.layer, CliSettings.layer))
)

// failures are reported above, as error JSON on stderr; a command that runs until stopped
// (`events tail --follow`) ends with exit 0 on SIGINT / SIGTERM instead of 130
NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  teardown: (exit, onExit) =>
    untilStopped.active && Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)
      ? onExit(ExitCode.ok)
      : Runtime.defaultTeardown(exit, onExit)
})
