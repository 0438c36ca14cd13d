/**
 * The CSV import through a real API process (`packages/http/src/bin/http.ts`) on the test
 * database: a file of 100,000 rows at full size — scaled(20_000), so ENRICH_TEST_SCALE=5 is
 * the full size — sent as requests of 5,000 rows (the per-request limit), each body streamed in
 * 64 KiB chunks without a Content-Length. Every row lands or is reported: the bad ones come
 * back as `rejected` with their row numbers. The API process runs with its JS heap capped at
 * 128 MiB (what it kept of the rows it read would make it die), and its resident memory
 * (VmRSS) is sampled while it reads: the second half of the rows may not take more than the
 * first half's peak × 1.25 + 32 MiB (the worker's memory rule, execution.test.ts).
 *
 * Measured (2 cores, PostgreSQL 15 on the same machine), 100,000 rows in 20 requests: with
 * the heap cap, 21 s (4,800 rows/s), RSS 217 MiB at start, peak 278 MiB for the first 50,000
 * rows, 294 MiB for the rest; without it, 11.7 s, 228 → 395 / 431 MiB, saw-toothing with V8's
 * full collections. The JSON import of the same rows does the same (417 / 516 MiB at 200,000
 * rows, the CSV's 434 / 516), and with the heap capped at 96 MiB the process still imports
 * 200,000 rows (RSS levels at ~320 MiB): the climb is V8's and the allocator's high-water, not
 * rows kept.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { readFileSync } from "node:fs"
import { DatabaseLive } from "@enrich/adapters/postgres/Database"
import { TestDatabaseUrl } from "@enrich/adapters/testing/TestDatabase"
import { scaled } from "@enrich/domain/testing/TestScale"
import { startApiProcess } from "./support/ApiProcess.ts"
import { ADMIN_TOKEN } from "./support/TestServer.ts"

/** The API process; a JS heap of 128 MiB at most: a process that kept what it read (bodies, rows, Leads) dies of it. */
const apiProcess = startApiProcess({ ENRICH_RATE_LIMIT: "0", NODE_OPTIONS: "--max-old-space-size=128" })

/** The resident set of a process now, in MiB (Linux). */
const rssMiB = (pid: number) => {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
  return Number(kb ?? 0) / 1024
}

const PER_REQUEST = 5_000
/** every 997th row has a title the API refuses (over 2,048 characters) */
const isBad = (row: number) => row % 997 === 0

const Live = DatabaseLive.pipe(Layer.provideMerge(TestDatabaseUrl))

layer(Live, { timeout: 600_000, excludeTestServices: true })("CSV import (API process)", (it) => {
  it.effect(
    "given_100000_rows_sent_as_streamed_csv_requests_when_imported_then_every_row_lands_or_is_reported_and_the_api_memory_stays_flat",
    () =>
      Effect.gen(function* () {
        const { child, client } = yield* apiProcess
        const created = yield* Effect.promise(() =>
          client.post("/admin/workspaces", { key: ADMIN_TOKEN, body: { name: "Big CSV", credits: 0 } })
        )
        const key = created.body.apiKey as string
        const workspaceId = created.body.workspace.id as string
        const list = (yield* Effect.promise(() =>
          client.post("/api/lists", { key, body: { name: "Big", leadType: "person" } })
        )).body.list.id as string
        const rows = scaled(20_000)
        const encoder = new TextEncoder()
        const samples: Array<{ readonly rows: number; readonly rss: number }> = []
        const rejected: Array<number> = []
        let imported = 0
        let done = 0
        const started = Date.now()
        const sampler = setInterval(() => samples.push({ rows: done, rss: rssMiB(child.pid!) }), 25)
        for (let first = 1; first <= rows; first += PER_REQUEST) {
          const last = Math.min(rows, first + PER_REQUEST - 1)
          const reply = yield* Effect.promise(async () => {
            const body = new ReadableStream<Uint8Array>({
              start(controller) {
                let chunk = "First Name,Last Name,Email,Title,Phone,Company\n"
                for (let row = first; row <= last; row++) {
                  const title = isBad(row) ? "x".repeat(2_100) : `Engineer ${row}`
                  chunk += `Ada${row},"Lovelace, ${row}",ada${row}@engines.example,${title},+44 20 7946 ${row % 10_000},Engines ${row % 50}\n`
                  if (chunk.length >= 64 * 1024) {
                    controller.enqueue(encoder.encode(chunk))
                    chunk = ""
                  }
                }
                controller.enqueue(encoder.encode(chunk))
                controller.close()
              }
            })
            const response = await fetch(`${client.baseUrl}/api/lists/import?listId=${list}`, {
              method: "POST",
              headers: { authorization: `Bearer ${key}`, "content-type": "text/csv" },
              body,
              duplex: "half"
            } as RequestInit)
            return { status: response.status, body: (await response.json()) as any }
          })
          assert.strictEqual(reply.status, 200, JSON.stringify(reply.body).slice(0, 1000))
          imported += reply.body.created + reply.body.matched
          // row numbers are the request's: 1 = its first row
          for (const r of reply.body.rejected as Array<{ row: number; reasons: Array<{ path: string }> }>) {
            assert.strictEqual(r.reasons[0]!.path, "title")
            rejected.push(first + r.row - 1)
          }
          done = last
        }
        clearInterval(sampler)
        const seconds = (Date.now() - started) / 1000
        const bad = Array.from({ length: rows }, (_, i) => i + 1).filter(isBad)
        assert.deepStrictEqual(rejected, bad)
        assert.strictEqual(imported, rows - bad.length)
        const sql = yield* SqlClient.SqlClient
        const [landed] = yield* sql<{ leads: number; members: number }>`SELECT
          (SELECT count(*)::int FROM leads WHERE workspace_id = ${workspaceId}) AS leads,
          (SELECT count(*)::int FROM list_memberships WHERE list_id = ${list}) AS members`
        assert.deepStrictEqual([landed!.leads, landed!.members], [rows - bad.length, rows - bad.length])

        // flat: the second half of the rows takes no more memory than the first (which includes
        // the warm-up of the process: its first request, V8's heap growing to its working size)
        const peak = (xs: ReadonlyArray<{ readonly rss: number }>) => Math.max(0, ...xs.map((x) => x.rss))
        const firstHalf = peak(samples.filter((x) => x.rows < rows / 2))
        const secondHalf = peak(samples.filter((x) => x.rows >= rows / 2))
        const memory = {
          rows,
          requests: Math.ceil(rows / PER_REQUEST),
          seconds,
          rowsPerSecond: Math.round(rows / seconds),
          samples: samples.length,
          startMiB: Math.round(samples[0]?.rss ?? 0),
          firstHalfPeakMiB: Math.round(firstHalf),
          secondHalfPeakMiB: Math.round(secondHalf),
          lastMiB: Math.round(samples[samples.length - 1]?.rss ?? 0),
          /** the peak while each request was read and imported, by the rows imported before it */
          byRows: Object.fromEntries(
            [...new Set(samples.map((x) => x.rows))].map((r) => [
              r,
              Math.round(peak(samples.filter((x) => x.rows === r)))
            ])
          )
        }
        console.log(`API CSV import memory: ${JSON.stringify(memory)}`)
        if (samples.some((x) => x.rows >= rows / 2)) {
          assert.isBelow(secondHalf, firstHalf * 1.25 + 32, JSON.stringify(memory))
        }
      }),
    scaled(240_000)
  )
})
