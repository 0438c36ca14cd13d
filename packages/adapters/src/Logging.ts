/**
 * Process logging: JSON lines (`ENRICH_LOG_FORMAT=json`, the default when
 * stdout is not a terminal) or pretty lines for people (`pretty`, the default
 * on a terminal), at `ENRICH_LOG_LEVEL` (default Info). Request logs carry the
 * request id; run logs carry the run id.
 */
import { Config, Effect, Layer, Logger, References } from "effect"

export const LoggingLive = Layer.unwrap(
  Effect.gen(function* () {
    const format = yield* Config.Literals(["json", "pretty"], "ENRICH_LOG_FORMAT").pipe(
      Config.withDefault(process.stdout.isTTY ? ("pretty" as const) : ("json" as const))
    )
    const level = yield* Config.LogLevel("ENRICH_LOG_LEVEL").pipe(Config.withDefault("Info" as const))
    return Layer.mergeAll(
      Logger.layer([format === "json" ? Logger.consoleJson : Logger.consolePretty()]),
      Layer.succeed(References.MinimumLogLevel, level)
    )
  })
)
