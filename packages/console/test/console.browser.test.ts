/**
 * The web console in a real browser: Debian's Chromium (playwright-core) against the real service — API and
 * a worker in one process, on a fresh database — with a real local vendor configured as an `http`
 * enrichment (ENRICH_CATALOG_FILES) that holds its answers until the test releases them (a run that stays
 * `running`) and answers 400 for the emails the test refuses (failed items).
 *
 * - log in with the keyboard; dispatch a run from the API and watch its progress bar reach 100 % live (the
 *   SSE stream; no reload);
 * - open a failed item's error; cancel a running run; read the ledger line a run produced and follow it;
 * - a Lead whose name, email and company are `<img src=x onerror=alert(1)>` runs no script on any screen
 *   (no dialog, no `img` element, the text shown as text);
 * - axe-core finds no serious or critical violation on any screen, at 1280×800 and 390×844, and each
 *   screen's screenshot at both sizes is written to docs/console/ (docs/CONSOLE.md shows them).
 *
 * Skipped, saying why, where there is no Chromium and CI is not set (support/Browser.ts).
 */
import { Context, Effect, Layer, ManagedRuntime } from "effect"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { createServer, type ServerResponse } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Browser, BrowserContext, Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { freePort } from "@enrich/adapters/postgres/EmbeddedPostgres"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { ADMIN_TOKEN, TestServer, testConfig, testServer } from "@enrich/http/testing/TestServer"
import { apiAndWorker } from "@enrich/server/App"
import { ensureBuilt, launch, seriousViolations, skipReason } from "./support/Browser.ts"

const XSS = "<img src=x onerror=alert(1)>"
const SIZES = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 }
] as const
const screenshots = fileURLToPath(new URL("../../../docs/console/", import.meta.url))

/** A vendor of job titles: 400 for the emails in `refused`, holds every answer while `holding`. */
const startVendor = async () => {
  const refused = new Set<string>()
  const waiting: Array<() => void> = []
  let holding = false
  const server = createServer((req, res: ServerResponse) => {
    const email = new URL(req.url ?? "/", "http://x").searchParams.get("email") ?? ""
    const answer = () => {
      res.setHeader("content-type", "application/json")
      if (refused.has(email)) {
        res.writeHead(400)
        res.end(JSON.stringify({ error: `unknown person ${email}` }))
        return
      }
      res.writeHead(200)
      res.end(JSON.stringify({ data: { title: `Title of ${email}` } }))
    }
    if (holding) waiting.push(answer)
    else answer()
  })
  const port = await freePort()
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok))
  return {
    url: `http://127.0.0.1:${port}/title`,
    refused,
    hold: () => {
      holding = true
    },
    release: () => {
      holding = false
      for (const answer of waiting.splice(0)) answer()
    },
    close: () => {
      holding = false
      for (const answer of waiting.splice(0)) answer()
      server.close()
    }
  }
}

class Vendor extends Context.Service<Vendor, Awaited<ReturnType<typeof startVendor>>>()("test/ConsoleVendor") {}

const App = Layer.unwrap(
  Effect.gen(function* () {
    const vendor = yield* Effect.acquireRelease(Effect.promise(startVendor), (v) => Effect.sync(v.close))
    const file = join(mkdtempSync(join(tmpdir(), "enrich-console-")), "catalog.json")
    writeFileSync(
      file,
      JSON.stringify({
        enrichments: [
          {
            kind: "http",
            slug: "vendor_title",
            name: "Vendor title",
            description: "A person's job title from their email.",
            subject: "person",
            version: 1,
            reads: ["email", "name.full", "company.name"],
            defaultOutput: { target: "lead_attribute", attributeKey: "vendor_title" },
            outputOverridePolicy: { targets: ["lead_attribute"], attributeKey: true },
            costModel: { creditAction: "TITLE_LOOKUP", unitCost: 1, chargeOn: "completed" },
            mode: "per_lead",
            request: { method: "GET", url: vendor.url, query: { email: { $lead: "email" } } },
            response: { data: "/data", output: { title: "/title" } },
            rateLimit: { requestsPerSecond: 1000, burst: 100 },
            retry: { maxAttempts: 1, backoffMs: 10 },
            timeoutMs: 60_000
          }
        ]
      })
    )
    const runnerPort = yield* Effect.promise(freePort)
    return testServer((port) => apiAndWorker({ port, runner: { host: "127.0.0.1", port: runnerPort } })).pipe(
      Layer.merge(Layer.succeed(Vendor, vendor)),
      Layer.provideMerge(TestDatabaseUrl),
      testConfig({ ENRICH_CATALOG_FILES: file, ENRICH_BATCH_SIZE: "2" })
    )
  })
)

if (skipReason !== undefined) console.warn(`console browser tests SKIPPED: ${skipReason}`)

describe.skipIf(skipReason !== undefined)(
  skipReason === undefined ? "console in a real browser" : `console in a real browser (SKIPPED: ${skipReason})`,
  () => {
    let runtime: ManagedRuntime.ManagedRuntime<TestServer | Vendor, unknown>
    let base: string
    let vendor: Awaited<ReturnType<typeof startVendor>>
    let key: string
    let browser: Browser
    let context: BrowserContext
    let page: Page
    const dialogs: Array<string> = []
    const pageErrors: Array<string> = []
    const runs: Record<string, string> = {}

    /** An API call with the workspace key (or the admin token for /admin). */
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${path.startsWith("/admin") ? ADMIN_TOKEN : key}`,
          "content-type": "application/json"
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
      const text = await response.text()
      return { status: response.status, body: text === "" ? null : (JSON.parse(text) as any) }
    }

    /** A List of these Leads, and a run of vendor_title over it; the run's id. */
    const dispatchOver = async (name: string, leads: ReadonlyArray<Record<string, unknown>>) => {
      const list = await call("POST", "/api/lists", { name, leadType: "person" })
      assert.strictEqual(list.status, 201, JSON.stringify(list.body))
      const imported = await call("POST", "/api/lists/import", { listId: list.body.list.id, leads })
      assert.strictEqual(imported.status, 200, JSON.stringify(imported.body))
      const run = await call("POST", "/api/enrichment", {
        enrichmentId: "vendor_title",
        scope: { type: "list", listId: list.body.list.id }
      })
      assert.strictEqual(run.status, 202, JSON.stringify(run.body))
      return run.body.runId as string
    }

    const settled = async (id: string) => {
      for (let i = 0; i < 300; i++) {
        const run = await call("GET", `/api/enrichment/${id}`)
        if (run.body.run.timing.settledAt !== null) return run.body.run
        await new Promise((ok) => setTimeout(ok, 200))
      }
      throw new Error(`run ${id} did not settle`)
    }

    const noScriptRan = async () => {
      assert.deepStrictEqual(dialogs, [], "no dialog opened")
      assert.strictEqual(await page.locator("img").count(), 0, "no img element was created")
      assert.deepStrictEqual(pageErrors, [], "no error in the page")
    }

    /** axe at both sizes, and the screen's screenshots. */
    const checkScreen = async (name: string) => {
      for (const size of SIZES) {
        await page.setViewportSize(size)
        await page.waitForTimeout(150)
        const violations = await seriousViolations(page)
        assert.deepStrictEqual(violations, [], `${name} at ${size.width}×${size.height}: ${JSON.stringify(violations)}`)
        await page.screenshot({ path: join(screenshots, `${name}-${size.width}x${size.height}.png`) })
      }
      await page.setViewportSize(SIZES[0])
    }

    beforeAll(async () => {
      ensureBuilt()
      mkdirSync(screenshots, { recursive: true })
      runtime = ManagedRuntime.make(App)
      const [server, v] = await runtime.runPromise(
        Effect.gen(function* () {
          return [yield* TestServer, yield* Vendor] as const
        })
      )
      base = server.baseUrl
      vendor = v
      const workspace = await call("POST", "/admin/workspaces", { name: "Console", credits: 1000 })
      assert.strictEqual(workspace.status, 201, JSON.stringify(workspace.body))
      key = workspace.body.apiKey
      browser = await launch()
      context = await browser.newContext({ viewport: SIZES[0] })
      page = await context.newPage()
      page.on("dialog", (dialog) => {
        dialogs.push(dialog.message())
        void dialog.dismiss()
      })
      page.on("pageerror", (error) => pageErrors.push(error.message))
    }, 180_000)

    afterAll(async () => {
      await browser?.close()
      await runtime?.dispose()
    }, 60_000)

    it("logs_in_with_the_keyboard_and_keeps_the_key_out_of_the_url", async () => {
      await page.goto(`${base}/`)
      await page.getByLabel("Workspace API key").waitFor()
      await checkScreen("login")
      let focused: string | undefined
      for (let tabs = 0; tabs < 3 && focused !== "api-key"; tabs++) {
        await page.keyboard.press("Tab")
        focused = await page.evaluate(() => document.activeElement?.id)
      }
      assert.strictEqual(focused, "api-key", "the key's input is reached by Tab")
      assert.notStrictEqual(
        await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle),
        "none",
        "the focus is visible"
      )
      await page.keyboard.type("ek_wrong_key")
      await page.keyboard.press("Enter")
      await page.getByRole("alert").filter({ hasText: "refused" }).waitFor()
      await page.getByLabel("Workspace API key").fill(key)
      await page.keyboard.press("Enter")
      await page.getByRole("heading", { name: "Runs" }).waitFor()
      await page.getByText("No runs yet").waitFor()
      assert.notInclude(page.url(), key)
      assert.strictEqual(await page.evaluate(() => sessionStorage.getItem("enrich.apiKey")), key)
    })

    it("shows_a_run_dispatched_from_the_api_reach_100_percent_live", async () => {
      vendor.hold()
      const id = await dispatchOver(
        "Live",
        Array.from({ length: 6 }, (_, i) => ({ type: "person", email: `live${i}@example.com` }))
      )
      runs["live"] = id
      // the Runs screen picks it up by itself (refreshed every 2 s)
      await page.locator(`tr[data-run="${id}"]`).waitFor({ timeout: 10_000 })
      await page.locator(`tr[data-run="${id}"] a`).click()
      await page.getByRole("heading", { name: `Run ${id}` }).waitFor()
      await page.locator('.run-head [data-live="stream"]').waitFor()
      const bar = page.locator("main .run-head progress")
      assert.notStrictEqual(await bar.getAttribute("data-percent"), "100")
      const navigations: Array<string> = []
      page.on("framenavigated", (frame) => navigations.push(frame.url()))
      vendor.release()
      await page.locator('main .run-head progress[data-percent="100"]').waitFor({ timeout: 30_000 })
      await page.locator('.run-head [data-live="over"]').waitFor({ timeout: 30_000 })
      assert.deepStrictEqual(navigations, [], "no reload: the stream moved the bar")
      assert.strictEqual(await bar.getAttribute("value"), "100")
      await settled(id)
      await checkScreen("run-detail")
      await page.goto(`${base}/#/runs`)
      await page.locator(`tr[data-run="${id}"] progress[data-percent="100"]`).waitFor()
      await checkScreen("runs")
    })

    it("opens_a_failed_items_error_and_runs_no_script_from_lead_data", async () => {
      vendor.refused.add("nobody@example.com")
      vendor.refused.add(XSS)
      const id = await dispatchOver("Failing", [
        { type: "person", email: "nobody@example.com" },
        { type: "person", email: XSS, name: { full: XSS }, company: { name: XSS } },
        { type: "person", email: "somebody@example.com" }
      ])
      runs["failing"] = id
      await settled(id)
      await page.goto(`${base}/#/runs/${id}`)
      await page.locator('.run-head [data-live="over"]').waitFor()
      await page.getByLabel("Item status").selectOption("failed")
      const failed = page.locator('tr[data-status="failed"]')
      await failed.first().waitFor()
      assert.strictEqual(await failed.count(), 2)
      assert.strictEqual(await page.locator('tr[data-status="completed"]').count(), 0)
      const row = failed.filter({ hasText: "nobody@example.com" })
      const error = row.locator("details.item-error")
      assert.isFalse(await error.locator("p").isVisible())
      await error.locator("summary").click()
      await error.locator("p").waitFor()
      assert.include((await error.locator("p").textContent()) ?? "", "400")
      // the attacker's Lead is shown as text in its email, name and company cells, and nothing ran
      const hostile = failed.filter({ hasText: XSS })
      assert.strictEqual((await hostile.locator("td").nth(1).textContent()) ?? "", XSS)
      assert.strictEqual((await hostile.locator("td").nth(2).textContent()) ?? "", XSS)
      assert.strictEqual((await hostile.locator("td").nth(3).textContent()) ?? "", XSS)
      await hostile.locator("details.item-error summary").click()
      await noScriptRan()
      await page.getByLabel("Item status").selectOption("")
      await page.locator('tr[data-status="completed"]').waitFor()
      await noScriptRan()
      await checkScreen("run-detail-failed")
      // every screen of this slice, with the hostile Lead in the workspace
      for (const screen of ["#/runs", "#/credits", "#/catalog", `#/runs/${id}`]) {
        await page.goto(`${base}/${screen}`)
        await page.locator("main h1").waitFor()
        await page.waitForTimeout(500)
        await noScriptRan()
      }
    })

    it("cancels_a_running_run", async () => {
      vendor.hold()
      const id = await dispatchOver(
        "Cancelled",
        Array.from({ length: 8 }, (_, i) => ({ type: "person", email: `cancel${i}@example.com` }))
      )
      runs["cancelled"] = id
      await page.goto(`${base}/#/runs/${id}`)
      await page.locator('.run-head [data-live="stream"]').waitFor()
      const cancel = page.getByRole("button", { name: "Cancel run" })
      await cancel.waitFor()
      assert.isTrue(await cancel.isEnabled())
      await cancel.click()
      await page.getByRole("status").filter({ hasText: "Cancelled" }).waitFor()
      await page.locator("main .run-head .status-cancelled").waitFor({ timeout: 15_000 })
      vendor.release()
      const run = await settled(id)
      assert.strictEqual(run.status, "cancelled")
      await page.locator('.run-head [data-live="over"]').waitFor({ timeout: 15_000 })
      assert.isFalse(await cancel.isEnabled())
    })

    it("reads_the_ledger_line_a_run_produced_and_follows_it_to_the_run", async () => {
      const id = runs["live"]!
      await page.goto(`${base}/#/credits`)
      await page.getByRole("heading", { name: "Credits" }).waitFor()
      const reserve = page.locator(`tr[data-ledger="reserve"][data-run="${id}"]`)
      await reserve.waitFor()
      assert.strictEqual(await reserve.locator("td.num").textContent(), "6", "6 Leads at 1 credit reserved")
      const capture = page.locator(`tr[data-ledger="capture"][data-run="${id}"]`)
      await capture.waitFor()
      assert.strictEqual(await capture.locator("td.num").textContent(), "6", "6 completed, captured")
      const balance = await call("GET", "/api/credits")
      assert.strictEqual(
        await page.locator("[data-balance]").getAttribute("data-balance"),
        String(balance.body.balance),
        "the balance shown is the API's"
      )
      await checkScreen("credits")
      await reserve.locator("a").click()
      await page.getByRole("heading", { name: `Run ${id}` }).waitFor()
    })

    it("shows_the_catalog", async () => {
      await page.goto(`${base}/#/catalog`)
      await page.getByRole("heading", { name: /Vendor title/ }).waitFor()
      const card = page.locator("article").filter({ hasText: "vendor_title" })
      assert.include((await card.textContent()) ?? "", "1 credit per Lead, charged on completed")
      assert.include((await card.textContent()) ?? "", "person")
      await card.getByText("Input schema").click()
      await checkScreen("catalog")
      await noScriptRan()
    })
  }
)
