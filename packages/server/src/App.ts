/**
 * The composition root: the one place that puts the API (`@enrich/http`) and the worker
 * (`@enrich/worker`) in one process, so neither imports the other (the import rules in
 * `.dependency-cruiser.cjs` hold it). Each still has its own entry point to run apart against one
 * DATABASE_URL: `packages/http/src/bin/http.ts`, `packages/worker/src/bin/worker.ts`.
 */
import { Layer } from "effect"
import { serveApi } from "@enrich/http/server/HttpLive"
import { onRunner, type RunnerAddress, WorkerLive } from "@enrich/worker/App"

/** API + runner in one process (`pnpm start`, and the end-to-end tests). */
export const apiAndWorker = (options: { readonly port: number; readonly runner: RunnerAddress }) =>
  onRunner(options.runner, Layer.merge(serveApi({ port: options.port }), WorkerLive))

export { DatabaseUrl } from "@enrich/worker/App"
