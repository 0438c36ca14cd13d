/**
 * Real Chromium for the console's browser tests: Debian's `chromium` package (/usr/bin/chromium, or
 * ENRICH_CHROMIUM), driven by playwright-core — no browser download. Without it the tests are skipped and
 * say why, unless CI=true, where they fail (.ci/run installs the package when it is missing).
 *
 * The flags keep Chromium off the network it would otherwise reach for at every start (this project's
 * machines have none): no background networking, component updates, sync or QUIC. playwright-core gives
 * each launch a fresh, empty user-data directory of its own.
 */
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { type Browser, chromium, type Page } from "playwright-core"

export const chromiumPath = process.env["ENRICH_CHROMIUM"] ?? "/usr/bin/chromium"
export const hasChromium = existsSync(chromiumPath)
export const inCi = process.env["CI"] === "true"

/** Why the browser tests do not run here, or undefined when they do. */
export const skipReason =
  hasChromium || inCi
    ? undefined
    : `no Chromium at ${chromiumPath}: install Debian's package (apt-get install -y chromium) or set ENRICH_CHROMIUM; with CI=true this fails instead`

export const launch = (): Promise<Browser> => {
  if (!hasChromium) {
    throw new Error(`CI=true and no Chromium at ${chromiumPath}: .ci/run installs Debian's chromium package first`)
  }
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ]
  })
}

const consoleRoot = fileURLToPath(new URL("../..", import.meta.url))

/** Builds the console when its dist/ is missing (the install's prepare script normally has). */
export const ensureBuilt = () => {
  if (existsSync(`${consoleRoot}/dist/index.html`)) return
  execFileSync(process.execPath, ["scripts/build.ts"], { cwd: consoleRoot, stdio: "inherit" })
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8")

export interface AxeViolation {
  readonly id: string
  readonly impact: string | null
  readonly help: string
  readonly nodes: ReadonlyArray<{ readonly target: ReadonlyArray<unknown> }>
}

/**
 * axe-core run in the page (given to it through the DevTools protocol, which the page's CSP does not
 * govern): the violations of serious or critical impact.
 */
export const seriousViolations = async (page: Page): Promise<ReadonlyArray<AxeViolation>> => {
  await page.evaluate(axeSource)
  const violations = (await page.evaluate(async () => {
    const axe = (globalThis as any).axe
    const result = await axe.run(document, { resultTypes: ["violations"] })
    return result.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n: any) => ({ target: n.target }))
    }))
  })) as ReadonlyArray<AxeViolation>
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical")
}
