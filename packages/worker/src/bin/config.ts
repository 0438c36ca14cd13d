/** Process configuration read by the entry points. */
import { Config, Effect } from "effect"

export const runnerAddress = Effect.all({
  host: Config.String("ENRICH_RUNNER_HOST").pipe(Config.withDefault("127.0.0.1")),
  port: Config.Port("ENRICH_RUNNER_PORT").pipe(Config.withDefault(34431)),
  /** how often the runner reads its messages besides when a dispatch commits */
  pollMs: Config.Int("ENRICH_RUNNER_POLL_MS").pipe(Config.withDefault(5_000)),
  /** how long a stopping runner lets its workflows end their step before cutting them off */
  stopGraceMs: Config.Int("ENRICH_RUNNER_STOP_GRACE_MS").pipe(Config.withDefault(5_000))
})
