/**
 * One PostgreSQL for the whole test run: `DATABASE_URL` when set (CI points it at
 * the machine's PostgreSQL service), otherwise an embedded PostgreSQL 18 in a
 * throw-away directory. Each test file then makes its own fresh database in it.
 */
import type { TestProject } from "vitest/node"
import { startEmbeddedPostgres } from "../packages/adapters/src/postgres/EmbeddedPostgres.ts"

// `databaseUrl` is declared on vitest's ProvidedContext in packages/adapters/test/support/TestDatabase.ts

export default async function setup(project: TestProject) {
  if (!process.versions.node.startsWith("24.")) {
    throw new Error(`Tests must run on the project's Node 24 (pnpm test), not Node ${process.versions.node}`)
  }
  const given = process.env["DATABASE_URL"]
  if (given !== undefined && given !== "") {
    project.provide("databaseUrl", given)
    return
  }
  const pg = await startEmbeddedPostgres({})
  project.provide("databaseUrl", pg.url)
  return () => pg.stop()
}
