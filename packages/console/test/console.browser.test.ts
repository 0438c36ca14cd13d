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
 * - upload a CSV: the mapping preview (columns to Lead fields, the first rows as Leads, the rows that are not
 *   Leads), then the import into a List made in the console, and its Leads listed; search the Leads;
 * - a Lead with `<img src=x onerror=alert(1)>` in every text field its schema allows, shown on the Leads,
 *   List and import screens, runs no script;
 * - a webhook made in the console: its secret shown once (copied), a run's delivery in its log (refused,
 *   then redelivered), the secret rotated, an endpoint deleted;
 * - an operator logs in with the admin token, picks a workspace (a key expiring in 4 hours is made for it, and
 *   revoked on switching), and logs out;
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
import type { Browser, BrowserContext, Locator, Page } from "playwright-core"
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

/** A webhook receiver on 127.0.0.1: answers each request with the next of `answers` (then 200), keeps them. */
const startReceiver = async () => {
  const received: Array<{ readonly id: string; readonly body: any }> = []
  const answers: Array<number> = []
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      received.push({ id: String(req.headers["webhook-id"]), body: JSON.parse(Buffer.concat(chunks).toString()) })
      res.writeHead(answers.shift() ?? 200)
      res.end()
    })
  })
  const port = await freePort()
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok))
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    answers,
    close: () => {
      server.closeAllConnections()
      server.close()
    }
  }
}

class Vendor extends Context.Service<Vendor, Awaited<ReturnType<typeof startVendor>>>()("test/ConsoleVendor") {}
class Receiver extends Context.Service<Receiver, Awaited<ReturnType<typeof startReceiver>>>()("test/ConsoleReceiver") {}

const App = Layer.unwrap(
  Effect.gen(function* () {
    const vendor = yield* Effect.acquireRelease(Effect.promise(startVendor), (v) => Effect.sync(v.close))
    const receiver = yield* Effect.acquireRelease(Effect.promise(startReceiver), (r) => Effect.sync(r.close))
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
      Layer.merge(Layer.succeed(Receiver, receiver)),
      Layer.provideMerge(TestDatabaseUrl),
      // the receiver is on 127.0.0.1: a private address, let in for the test
      testConfig({ ENRICH_CATALOG_FILES: file, ENRICH_BATCH_SIZE: "2", ENRICH_WEBHOOK_ALLOW_PRIVATE: "1" })
    )
  })
)

if (skipReason !== undefined) console.warn(`console browser tests SKIPPED: ${skipReason}`)

describe.skipIf(skipReason !== undefined)(
  skipReason === undefined ? "console in a real browser" : `console in a real browser (SKIPPED: ${skipReason})`,
  () => {
    let runtime: ManagedRuntime.ManagedRuntime<TestServer | Vendor | Receiver, unknown>
    let base: string
    let vendor: Awaited<ReturnType<typeof startVendor>>
    let receiver: Awaited<ReturnType<typeof startReceiver>>
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

    /** axe at both sizes, and the screen's screenshots (`mask`: hidden in them, as a secret is). */
    const checkScreen = async (name: string, mask: ReadonlyArray<Locator> = []) => {
      for (const size of SIZES) {
        await page.setViewportSize(size)
        await page.waitForTimeout(150)
        const violations = await seriousViolations(page)
        assert.deepStrictEqual(violations, [], `${name} at ${size.width}×${size.height}: ${JSON.stringify(violations)}`)
        await page.screenshot({ path: join(screenshots, `${name}-${size.width}x${size.height}.png`), mask: [...mask] })
      }
      await page.setViewportSize(SIZES[0])
    }

    beforeAll(async () => {
      ensureBuilt()
      mkdirSync(screenshots, { recursive: true })
      runtime = ManagedRuntime.make(App)
      const [server, v, r] = await runtime.runPromise(
        Effect.gen(function* () {
          return [yield* TestServer, yield* Vendor, yield* Receiver] as const
        })
      )
      base = server.baseUrl
      vendor = v
      receiver = r
      const workspace = await call("POST", "/admin/workspaces", { name: "Console", credits: 1000 })
      assert.strictEqual(workspace.status, 201, JSON.stringify(workspace.body))
      key = workspace.body.apiKey
      browser = await launch()
      context = await browser.newContext({ viewport: SIZES[0] })
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base })
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
      // the unfiltered page stays until the filtered one arrives: wait for its completed row to go
      // (regression: the count was read while the unfiltered page still showed, and failed on a loaded CI)
      await page.locator('tr[data-status="completed"]').first().waitFor({ state: "detached" })
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

    it("imports_a_csv_by_upload_with_its_mapping_preview_and_lists_its_leads", async () => {
      // a List made in the console
      await page.goto(`${base}/#/lists`)
      await page.getByRole("heading", { name: "Lists" }).waitFor()
      await page.locator('tr[data-list="all"]').waitFor()
      await page.getByLabel("Name", { exact: true }).fill("Prospects")
      await page.getByLabel("Lead type").selectOption("person")
      await page.getByRole("button", { name: "Create List" }).click()
      await page.getByRole("status").filter({ hasText: "Prospects" }).waitFor()
      const row = page.locator("tr[data-list]").filter({ hasText: "Prospects" })
      await row.waitFor()
      const listId = (await row.getAttribute("data-list"))!
      await checkScreen("lists")

      // the file, previewed: nothing written yet
      const csv = [
        "First Name,Last Name,Work Email,Job Title,Company Name,Favourite Colour",
        "Ada,Lovelace,ada@engines.example,Analyst,Analytical Engines,blue",
        "Grace,Hopper,grace@navy.example,Rear Admiral,US Navy,green",
        ",,,,,red",
        "Alan,Turing,alan@bletchley.example,Mathematician,Bletchley Park,"
      ].join("\n")
      await page.getByRole("link", { name: "Import", exact: true }).click()
      await page.getByRole("heading", { name: "Import a CSV" }).waitFor()
      await page
        .getByLabel("CSV file")
        .setInputFiles({ name: "prospects.csv", mimeType: "text/csv", buffer: Buffer.from(csv) })
      await page.getByLabel("Into the List").selectOption(listId)
      await page.getByRole("button", { name: "Preview" }).click()
      await page.getByRole("heading", { name: /Preview/ }).waitFor()
      const field = async (column: string) => page.locator(`tr[data-column="${column}"]`).getAttribute("data-field")
      assert.strictEqual(await field("First Name"), "name.first")
      assert.strictEqual(await field("Work Email"), "email")
      assert.strictEqual(await field("Job Title"), "title")
      assert.strictEqual(await field("Company Name"), "company.name")
      assert.strictEqual(await field("Favourite Colour"), "")
      assert.include((await page.locator('tr[data-column="Favourite Colour"]').textContent()) ?? "", "not imported")
      const sample = page.getByRole("region", { name: "First rows as Leads" }).locator("tbody tr")
      assert.strictEqual(await sample.count(), 3)
      assert.include((await sample.nth(1).textContent()) ?? "", "Grace Hopper")
      assert.include((await sample.nth(1).textContent()) ?? "", "grace@navy.example")
      assert.strictEqual(await sample.nth(2).locator("td").first().textContent(), "4", "row numbers of the file")
      assert.strictEqual(
        await page.locator('tr[data-rejected="3"]').count(),
        1,
        "the row with values only in an unmapped column"
      )
      assert.include((await page.getByRole("status").first().textContent()) ?? "", "3 Leads")
      assert.strictEqual((await call("GET", `/api/lists/${listId}/leads`)).body.total, 0, "a preview writes nothing")
      await checkScreen("import")

      // the import itself, then its Leads in the List
      await page.getByRole("button", { name: "Import 3 Leads into Prospects" }).click()
      const result = page.locator("[data-created]")
      await result.waitFor()
      assert.strictEqual(await result.getAttribute("data-created"), "3")
      await checkScreen("import-result")
      await page.getByRole("link", { name: "See the List Prospects" }).click()
      await page.getByRole("heading", { name: "List Prospects" }).waitFor()
      const members = page.getByRole("region", { name: "Members" }).locator("tbody tr")
      await members.first().waitFor()
      assert.strictEqual(await members.count(), 3)
      const names = await members.locator("td:nth-child(2)").allTextContents()
      assert.deepStrictEqual(names, ["Ada Lovelace", "Grace Hopper", "Alan Turing"])
      await checkScreen("list")
      await noScriptRan()
    })

    it("searches_the_leads", async () => {
      await page.goto(`${base}/#/leads`)
      await page.getByRole("heading", { name: "Leads" }).waitFor()
      await page.locator("tr[data-lead]").first().waitFor()
      const all = await page.locator("tr[data-lead]").count()
      assert.isAbove(all, 3)
      /** the search answered: this many rows (an old page may still show for a moment) */
      const rowsAre = (n: number, text = "") =>
        page.waitForFunction(
          ([n, text]) => {
            const rows = [...document.querySelectorAll("tr[data-lead]")]
            return rows.length === n && rows.every((row) => row.textContent?.includes(text as string))
          },
          [n, text] as const
        )
      await page.getByLabel("Search").fill("HOPPER")
      await page.getByLabel("Search").press("Enter")
      await rowsAre(1, "Grace Hopper")
      await page.getByLabel("Search").fill("engines.example")
      await page.getByRole("button", { name: "Search" }).click()
      await rowsAre(1, "Ada Lovelace")
      await page.getByLabel("Search").fill("no such lead anywhere")
      await page.getByLabel("Search").press("Enter")
      await page.getByText("No Lead matches").waitFor()
      await page.getByLabel("Search").fill("")
      await page.getByLabel("Search").press("Enter")
      await rowsAre(all)
      await page.getByLabel("Type").selectOption("company")
      await page.getByText("No Lead matches").waitFor()
      await page.getByLabel("Type").selectOption("")
      await page.locator("tr[data-lead]").first().waitFor()
      await checkScreen("leads")
    })

    it("shows_a_lead_with_script_in_every_text_field_as_text_on_the_leads_list_and_import_screens", async () => {
      const hostile = {
        type: "person",
        name: { full: XSS, first: XSS, last: XSS },
        title: XSS,
        email: `${XSS}@x.example`,
        phone: XSS,
        linkedinUrl: XSS,
        domain: XSS,
        company: { name: XSS, domain: XSS },
        location: { city: XSS, state: XSS, country: XSS },
        industry: XSS,
        size: XSS,
        contacts: [
          { type: "email", value: `${XSS}@x.example` },
          { type: "phone", value: XSS }
        ],
        socials: [{ url: XSS }],
        attributes: { note: XSS }
      }
      const list = await call("POST", "/api/lists", { name: XSS, description: XSS, leadType: "person" })
      assert.strictEqual(list.status, 201, JSON.stringify(list.body))
      const listId = list.body.list.id as string
      const imported = await call("POST", "/api/lists/import", { listId, leads: [hostile] })
      assert.strictEqual(imported.status, 200, JSON.stringify(imported.body))
      const leadId = imported.body.leadIds[0] as string

      const expectText = async (scope: ReturnType<Page["locator"]>) => {
        const cells = scope.locator("td")
        assert.strictEqual(await cells.nth(1).textContent(), XSS, "name")
        assert.strictEqual(await cells.nth(2).textContent(), `${XSS}@x.example`, "email")
        assert.strictEqual(await cells.nth(3).textContent(), XSS, "title")
        assert.strictEqual(await cells.nth(4).textContent(), XSS, "company")
        await scope.locator("details.lead-fields summary").click()
        const fields = await scope.locator("details.lead-fields dd").allTextContents()
        assert.isAtLeast(fields.length, 10)
        for (const text of fields) assert.include(text, XSS)
        assert.include((await scope.locator("details.lead-fields pre").textContent()) ?? "", XSS, "attributes")
        await noScriptRan()
      }

      await page.goto(`${base}/#/leads`)
      await page.getByLabel("Search").fill("<img")
      await page.getByLabel("Search").press("Enter")
      await expectText(page.locator(`tr[data-lead="${leadId}"]`))

      await page.goto(`${base}/#/lists`)
      const listRow = page.locator(`tr[data-list="${listId}"]`)
      await listRow.waitFor()
      assert.strictEqual(await listRow.locator("td").nth(0).textContent(), XSS)
      assert.strictEqual(await listRow.locator("td").nth(3).textContent(), XSS)
      await listRow.locator("a").click()
      await page.getByRole("heading", { name: `List ${XSS}` }).waitFor()
      await expectText(page.locator(`tr[data-lead="${leadId}"]`))

      // a hostile file: its header and cells shown as text in the preview
      await page.goto(`${base}/#/import`)
      await page.getByLabel("CSV file").setInputFiles({
        name: "hostile.csv",
        mimeType: "text/csv",
        buffer: Buffer.from(`Name,Email,Title,Company,${XSS}\n${XSS},${XSS}@y.example,${XSS},${XSS},${XSS}\n`)
      })
      await page.getByRole("button", { name: "Preview" }).click()
      await page.getByRole("heading", { name: /Preview/ }).waitFor()
      assert.strictEqual(await page.locator("tr[data-column]").nth(4).locator("td").first().textContent(), XSS)
      const row = page.getByRole("region", { name: "First rows as Leads" }).locator("tbody tr").first()
      assert.strictEqual(await row.locator("td").nth(2).textContent(), XSS)
      assert.strictEqual(await row.locator("td").nth(4).textContent(), XSS)
      await noScriptRan()
      for (const screen of ["#/leads", "#/lists", `#/lists/${listId}`, "#/import", "#/webhooks"]) {
        await page.goto(`${base}/${screen}`)
        await page.locator("main h1").waitFor()
        await page.waitForTimeout(300)
        await noScriptRan()
      }
    })

    it("creates_a_webhook_shows_its_secret_once_and_its_delivery_log_with_redeliver", async () => {
      await page.goto(`${base}/#/webhooks`)
      await page.getByRole("heading", { name: "Webhooks" }).waitFor()
      await page.getByText("No endpoint yet").waitFor()
      await page.getByLabel("URL").fill(receiver.url)
      await page.getByLabel("run.failed").uncheck()
      await page.getByLabel("Description (optional)").fill("CRM sync")
      await page.getByRole("button", { name: "Add endpoint" }).click()
      const secretField = page.getByLabel(`Secret of ${receiver.url}`)
      await secretField.waitFor()
      await page.getByRole("alert").filter({ hasText: "shown only this once" }).waitFor()
      const secret = await secretField.inputValue()
      assert.match(secret, /^whsec_[A-Za-z0-9+/=]{20,}$/)
      await page.getByRole("button", { name: "Copy" }).click()
      await page.getByRole("status").filter({ hasText: "Copied" }).waitFor()
      assert.strictEqual(await page.evaluate(() => navigator.clipboard.readText()), secret)
      const row = page.locator("tr[data-webhook]").filter({ hasText: receiver.url })
      await row.waitFor()
      const id = (await row.getAttribute("data-webhook"))!
      assert.include((await row.textContent()) ?? "", "run.completed, run.cancelled")
      // the secret is masked in the screenshot
      await checkScreen("webhook-secret", [secretField])
      await page.getByRole("button", { name: "I have kept it" }).click()
      await page.reload()
      await row.waitFor()
      assert.notInclude((await page.content()) ?? "", secret, "the secret is not shown again")
      await checkScreen("webhooks")

      // a run ends: its delivery is refused once (500), then redelivered from the log
      receiver.answers.push(500)
      const runId = await dispatchOver("Hooked", [{ type: "person", email: "hooked@example.com" }])
      await settled(runId)
      await page.locator(`tr[data-webhook="${id}"] a`, { hasText: "Deliveries" }).click()
      await page.getByRole("heading", { name: "Deliveries" }).waitFor()
      const delivery = page.locator("tr[data-delivery]").filter({ hasText: runId.slice(0, 8) })
      // an attempt is counted when it is claimed and its answer recorded a round later: wait for the answer
      // (regression: the row was read between the two, attempts 1 and no status code yet, on a loaded CI)
      await delivery.locator('[data-attempts="1"]').waitFor({ timeout: 20_000 })
      await delivery.filter({ hasText: "HTTP 500" }).waitFor({ timeout: 20_000 })
      assert.strictEqual(await delivery.getAttribute("data-status"), "pending")
      assert.include((await delivery.textContent()) ?? "", "run.completed")
      assert.match((await delivery.locator("td").nth(6).textContent()) ?? "", /in \d+ s|due now/)
      await checkScreen("webhook-deliveries")
      await delivery.getByRole("button", { name: /Redeliver/ }).click()
      await page.locator('tr[data-delivery][data-status="succeeded"]').waitFor({ timeout: 20_000 })
      assert.strictEqual(await delivery.locator("td").nth(4).textContent(), "2")
      await delivery.filter({ hasText: "HTTP 200" }).waitFor({ timeout: 20_000 })
      assert.strictEqual(receiver.received.length, 2)
      assert.strictEqual(receiver.received[0]!.id, receiver.received[1]!.id, "the same webhook-id")
      assert.strictEqual(receiver.received[1]!.body.data.run.id, runId)

      // rotate: a new secret, shown once; delete another endpoint, asked twice
      await page.goto(`${base}/#/webhooks`)
      await page.locator(`tr[data-webhook="${id}"]`).getByRole("button", { name: "Rotate secret" }).click()
      await page.getByRole("heading", { name: "New signing secret" }).waitFor()
      const rotated = await page.getByLabel(`Secret of ${receiver.url}`).inputValue()
      assert.match(rotated, /^whsec_/)
      assert.notStrictEqual(rotated, secret)
      await page.getByRole("button", { name: "I have kept it" }).click()
      await page.getByLabel("URL").fill(`${receiver.url}/second`)
      await page.getByRole("button", { name: "Add endpoint" }).click()
      const second = page.locator("tr[data-webhook]").filter({ hasText: `${receiver.url}/second` })
      await second.waitFor()
      await page.getByRole("button", { name: "I have kept it" }).click()
      await second.getByRole("button", { name: "Delete" }).click()
      await second.getByRole("button", { name: "Confirm delete" }).click()
      await page.getByRole("status").filter({ hasText: "Deleted" }).waitFor()
      await second.waitFor({ state: "detached" })
      const left = await call("GET", "/api/webhooks")
      assert.deepStrictEqual(
        left.body.webhooks.map((w: { id: string }) => w.id),
        [id]
      )
      await noScriptRan()
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

    it("an_operator_logs_in_with_the_admin_token_and_picks_a_workspace", async () => {
      const workspaceId = (await call("GET", "/admin/workspaces")).body.workspaces.find(
        (w: { name: string }) => w.name === "Console"
      ).id as string
      await page.goto(`${base}/#/runs`)
      await page.getByRole("button", { name: "Log out" }).click()
      await page.getByLabel("Workspace API key").waitFor()
      assert.isNull(await page.evaluate(() => sessionStorage.getItem("enrich.apiKey")))
      await page.getByText("Operator? Log in with the admin token").click()
      await page.getByLabel("Admin token").fill("not-the-token")
      await page.getByRole("button", { name: "Log in as operator" }).click()
      await page.getByRole("alert").filter({ hasText: "admin token was refused" }).waitFor()
      assert.isNull(await page.evaluate(() => sessionStorage.getItem("enrich.adminToken")))
      await page.getByLabel("Admin token").fill(ADMIN_TOKEN)
      await page.getByRole("button", { name: "Log in as operator" }).click()
      await page.getByRole("heading", { name: "Pick a workspace" }).waitFor()
      const row = page.locator(`tr[data-workspace="${workspaceId}"]`)
      await row.waitFor()
      await checkScreen("workspaces")
      assert.notInclude(page.url(), ADMIN_TOKEN)
      const keysBefore = (await call("GET", `/admin/workspaces/${workspaceId}/api-keys`)).body.apiKeys.length

      await row.getByRole("button", { name: "Open Console" }).click()
      await page.getByRole("heading", { name: "Runs" }).waitFor()
      await page.locator(`tr[data-run="${runs["live"]}"]`).waitFor()
      assert.strictEqual(await page.locator(".top .workspace").textContent(), "Console")
      const session = await page.evaluate(() => ({
        key: sessionStorage.getItem("enrich.apiKey"),
        admin: sessionStorage.getItem("enrich.adminToken")
      }))
      assert.strictEqual(session.admin, ADMIN_TOKEN)
      assert.notStrictEqual(session.key, key, "a key of its own")
      assert.notInclude(page.url(), session.key!)
      const keys = (await call("GET", `/admin/workspaces/${workspaceId}/api-keys`)).body.apiKeys
      assert.strictEqual(keys.length, keysBefore + 1)
      const made = keys.at(-1)
      assert.isNull(made.scopes)
      const hours = (Date.parse(made.expiresAt) - Date.now()) / 3_600_000
      assert.isTrue(hours > 3.9 && hours <= 4, `expires in 4 hours: ${made.expiresAt}`)

      // switching revokes it; logging out forgets everything
      await page.getByRole("button", { name: "Switch workspace" }).click()
      await page.getByRole("heading", { name: "Pick a workspace" }).waitFor()
      const revoked = (await call("GET", `/admin/workspaces/${workspaceId}/api-keys`)).body.apiKeys.find(
        (k: { id: string }) => k.id === made.id
      )
      assert.isNotNull(revoked.revokedAt, "the picked workspace's key is revoked on switching")
      await row.getByRole("button", { name: "Open Console" }).click()
      await page.getByRole("heading", { name: "Runs" }).waitFor()
      await page.getByRole("button", { name: "Log out" }).click()
      await page.getByLabel("Workspace API key").waitFor()
      assert.deepStrictEqual(await page.evaluate(() => Object.keys(sessionStorage)), [], "nothing left in the tab")
      await noScriptRan()
    })
  }
)
