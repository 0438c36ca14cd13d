/** The run executor and the services on a test database, configured by `env` over the process's. */
import { ConfigProvider, Layer } from "effect"
import { ClientOnlyClusterLive, WorkflowDispatcherLive } from "@enrich/adapters/engine/RunWorkflow"
import { ServicesLive } from "@enrich/adapters/testing/Services"
import { TestDatabaseLive } from "@enrich/adapters/testing/TestDatabase"
import { RunExecutor } from "../../src/RunExecutor.ts"

export const executorWith = (env: Record<string, string>) =>
  RunExecutor.layer.pipe(
    Layer.provideMerge(
      ServicesLive.pipe(Layer.provide(WorkflowDispatcherLive), Layer.provideMerge(ClientOnlyClusterLive))
    ),
    Layer.provideMerge(TestDatabaseLive),
    Layer.provide(
      ConfigProvider.layer(ConfigProvider.fromEnv({ env: { ...process.env, ...env } as Record<string, string> }))
    )
  )
