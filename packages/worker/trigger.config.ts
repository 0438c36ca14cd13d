/**
 * The Trigger.dev project that runs the `enrich-run` task
 * (src/trigger/EnrichRunTask.ts) when the API dispatches with
 * `ENRICH_DISPATCHER=trigger`. Deploy from this directory:
 * `TRIGGER_PROJECT_REF=proj_… npx trigger.dev@4.8.3 deploy` (README, "Running
 * runs on Trigger.dev"). The task's environment needs `DATABASE_URL`.
 */
import { defineConfig } from "@trigger.dev/sdk"

const project = process.env["TRIGGER_PROJECT_REF"]
if (project === undefined || project === "") {
  throw new Error("Set TRIGGER_PROJECT_REF to your Trigger.dev project ref (proj_…)")
}

export default defineConfig({
  project,
  runtime: "node-24",
  dirs: ["./src/trigger"],
  // a run's batches are short transactions; a long run is many of them
  maxDuration: 3600,
  // an attempt that dies (a lost database connection) is retried: recorded batches are not redone
  retries: { default: { maxAttempts: 3, minTimeoutInMs: 1000, maxTimeoutInMs: 30_000, factor: 2 } }
})
