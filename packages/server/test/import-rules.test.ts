/**
 * The import rules (`.dependency-cruiser.cjs`) hold on the code as it is, and each one fails when it is
 * broken on purpose: a probe file that breaks it is written into the package it guards, checked
 * alone, and removed.
 */
import { afterEach, describe, expect, it } from "vitest"
import { execFile } from "node:child_process"
import { rmSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const bin = `${root}node_modules/dependency-cruiser/bin/dependency-cruiser.mjs`

const cruise = (args: ReadonlyArray<string>) =>
  new Promise<{ readonly code: number; readonly output: string }>((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args, "--config", ".dependency-cruiser.cjs"],
      { cwd: root, timeout: 120_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), output: `${stdout}${stderr}` })
    )
  })

const probes: Array<string> = []
afterEach(() => {
  for (const probe of probes.splice(0)) rmSync(`${root}${probe}`, { force: true })
})

/** `source` as a file of `dir` (a src folder), for one check. */
const probe = (dir: string, source: string) => {
  const path = `${dir}/zz-import-rule-probe-${process.pid}.ts`
  writeFileSync(`${root}${path}`, source)
  probes.push(path)
  return path
}

describe("Import rules (integration, dependency-cruiser)", () => {
  it("the_code_keeps_every_rule_but_the_known_violations", async () => {
    const { code, output } = await cruise(["packages", "--ignore-known"])
    expect(output).toMatch(/no dependency violations found/)
    expect(code).toBe(0)
  }, 120_000)

  it.each([
    ["domain-imports-nothing-of-ours", "packages/domain/src", 'import "@enrich/adapters/postgres/Database"'],
    ["domain-does-no-io", "packages/domain/src", 'import "node:fs"\nimport "effect/sql"'],
    ["application-imports-only-the-domain", "packages/application/src", 'import "@enrich/adapters/Services"'],
    ["application-does-no-io", "packages/application/src", 'import "node:net"\nimport "effect/sql"'],
    [
      "adapters-import-only-the-application-ports",
      "packages/adapters/src",
      'import "@enrich/application/runs/DispatchRun"'
    ],
    ["catalog-imports-only-the-domain", "packages/catalog/src", 'import "@enrich/adapters/postgres/Database"'],
    ["catalog-does-not-reach-the-database", "packages/catalog/src", 'import "effect/sql"'],
    ["adapters-import-no-entry-point", "packages/adapters/src", 'import "@enrich/http/server/HttpLive"'],
    ["http-and-worker-apart", "packages/http/src", 'import "@enrich/worker/App"'],
    ["worker-and-http-apart", "packages/worker/src", 'import "@enrich/http/server/HttpLive"'],
    ["worker-holds-no-sql", "packages/worker/src", 'import "effect/sql"'],
    ["console-imports-nothing-of-ours", "packages/console/src", 'import "@enrich/http/api/Api"'],
    ["cli-reaches-the-database-only-through-adapters", "packages/cli/src", 'import "@effect/sql-pg"'],
    ["nothing-imports-the-composition-root", "packages/cli/src", 'import "@enrich/server/App"']
  ])(
    "breaking_%s_fails_the_check",
    async (rule, dir, source) => {
      const path = probe(dir, `${source}\nexport {}\n`)
      const { code, output } = await cruise([path])
      expect(output).toContain(`error ${rule}: ${path}`)
      expect(code).not.toBe(0)
    },
    120_000
  )
})
