/**
 * Failures that do not go away (issue "Every run ends and every credit settles, whatever fails"): real local
 * vendors answering with bytes PostgreSQL cannot store, bodies too large or endless, writes PostgreSQL
 * refuses for one Lead, a defect in a batch's record. After each, the run is terminal and settled exactly
 * once, nothing is held, and the bad items say why. One regression test per bug, named after it.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { Workspaces } from "@enrich/adapters/postgres/Workspaces"
import { TestDatabaseLive } from "@enrich/adapters/testing/TestDatabase"
import { findUnstorable } from "@enrich/domain/ClientText"
import {
  assertSettled,
  dispatchAll,
  executeRun,
  httpEntry,
  insertPeople,
  type RawReply,
  rawVendor,
  servicesWith
} from "./support/Failures.ts"

const emails = (n: number) => Array.from({ length: n }, (_, i) => `person${i + 1}@corp.example`)

/** A workspace of `n` people, a run of the vendor entry over them, executed as an engine does; how it ended. */
const runAgainst = (name: string, reply: (path: string, n: number) => RawReply, options: { timeoutMs?: number } = {}) =>
  Effect.gen(function* () {
    const vendor = yield* rawVendor(reply)
    const entry = yield* httpEntry(vendor.url, options)
    return yield* Effect.gen(function* () {
      const { workspace } = yield* (yield* Workspaces).create({ name, credits: 10 })
      yield* insertPeople(workspace.id, emails(5))
      const runId = yield* dispatchAll(workspace.id, "vendor_title")
      yield* executeRun({ runId, workspaceId: workspace.id })
      const end = yield* assertSettled(runId)
      for (const item of end.items) {
        assert.isUndefined(findUnstorable(item.result), "every stored result is storable")
        assert.isUndefined(findUnstorable(item.error), "every stored error is storable")
      }
      return { ...end, vendor }
    }).pipe(Effect.provide(servicesWith([entry])))
  })

/** A JSON body whose 200th UTF-16 unit is the first half of an emoji. */
const emojiAtTheCut = () => {
  const prefix = '{"error":"'
  return `${prefix}${"x".repeat(199 - prefix.length)}😀 and more text after the cut"}`
}

layer(TestDatabaseLive, { timeout: 120_000, excludeTestServices: true })(
  "Failures that do not go away (integration)",
  (it) => {
    it.effect("regression_an_error_excerpt_cut_inside_an_emoji_left_its_run_running_with_its_credit_held", () =>
      Effect.gen(function* () {
        assert.strictEqual(emojiAtTheCut().charCodeAt(199), 0xd83d, "the cut falls inside the emoji")
        const end = yield* runAgainst("emoji", () => ({ status: 400, body: emojiAtTheCut() }))
        assert.strictEqual(end.status, "completed")
        assert.deepStrictEqual([end.captured, end.released], [0, 5])
        for (const item of end.items) {
          assert.strictEqual(item.status, "failed")
          assert.match(item.error!.message, /^vendor_title: HTTP 400: \{"error":"x+/)
        }
      })
    )

    it.effect("regression_a_nul_in_a_vendors_answer_left_its_run_running", () =>
      Effect.gen(function* () {
        const end = yield* runAgainst("nul", () => ({
          status: 200,
          body: '{"title":"CTO\\u0000 of it","x":"\\u0000"}'
        }))
        assert.strictEqual(end.status, "completed")
        assert.deepStrictEqual([end.captured, end.released], [5, 0])
        for (const item of end.items) {
          assert.strictEqual(item.status, "completed")
          assert.deepStrictEqual(item.result, { found: true, title: "CTO of it" })
        }
      })
    )

    it.effect("regression_a_lone_surrogate_in_a_vendors_answer_left_its_run_running", () =>
      Effect.gen(function* () {
        const end = yield* runAgainst("surrogate", () => ({ status: 200, body: '{"title":"CTO \\ud83d"}' }))
        assert.strictEqual(end.status, "completed")
        for (const item of end.items) {
          assert.strictEqual(item.status, "completed")
          assert.deepStrictEqual(item.result, { found: true, title: "CTO \ufffd" })
        }
      })
    )

    it.effect("a_vendor_answering_10_mb_fails_its_items_with_the_limit_and_the_run_settles", () =>
      Effect.gen(function* () {
        const huge = Buffer.alloc(10 * 1024 * 1024, "a")
        const end = yield* runAgainst(
          "huge",
          (_, n) =>
            n % 2 === 0
              ? { status: 200, body: Buffer.concat([Buffer.from('{"title":"'), huge, Buffer.from('"}')]) }
              : { status: 400, body: huge },
          // a deadline far from reach: the size, not the time, must end these answers
          { timeoutMs: 30_000 }
        )
        assert.strictEqual(end.status, "completed")
        for (const item of end.items) {
          assert.strictEqual(item.status, "failed")
          assert.match(item.error!.message, /larger than/)
        }
      })
    )

    it.effect("a_vendor_answering_invalid_utf8_is_stored_with_replacement_characters", () =>
      Effect.gen(function* () {
        const body = Buffer.concat([Buffer.from('{"title":"CTO '), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')])
        const end = yield* runAgainst("utf8", () => ({ status: 200, body }))
        assert.strictEqual(end.status, "completed")
        for (const item of end.items) {
          assert.strictEqual(item.status, "completed")
          assert.include((item.result as { title: string }).title, "\ufffd")
        }
      })
    )

    it.effect("a_vendor_whose_body_never_ends_fails_its_items_at_the_timeout_and_the_run_settles", () =>
      Effect.gen(function* () {
        const end = yield* runAgainst("endless", () => ({ status: 200, trickle: true }), { timeoutMs: 800 })
        assert.strictEqual(end.status, "completed")
        for (const item of end.items) {
          assert.strictEqual(item.status, "failed")
          assert.match(item.error!.message, /timed out after 800 ms/)
        }
        yield* Effect.sleep(300)
        assert.strictEqual(end.vendor.openResponses(), 0, "the endless bodies were hung up on")
      })
    )

    it.effect("regression_a_write_refused_for_one_lead_failed_its_whole_batch_on_every_attempt", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const vendor = yield* rawVendor(() => ({ status: 200, body: '{"title":"CTO"}' }))
        const entry = yield* httpEntry(vendor.url)
        yield* Effect.gen(function* () {
          const { workspace } = yield* (yield* Workspaces).create({ name: "refused", credits: 10 })
          yield* insertPeople(workspace.id, emails(5))
          const refused = `${workspace.id}-3`
          // a permanent refusal of one Lead's write, as a trigger of the operator's (or a check) would raise it
          yield* sql.unsafe(`CREATE FUNCTION refuse_one_lead() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF NEW.id = '${refused}' THEN RAISE EXCEPTION 'lead % is read-only', NEW.id; END IF;
            RETURN NEW;
          END $$`)
          yield* sql`CREATE TRIGGER refuse_one_lead BEFORE UPDATE ON leads FOR EACH ROW EXECUTE FUNCTION refuse_one_lead()`
          const runId = yield* dispatchAll(workspace.id, "vendor_title")
          yield* executeRun({ runId, workspaceId: workspace.id })
          yield* sql`DROP TRIGGER refuse_one_lead ON leads`
          const end = yield* assertSettled(runId)
          assert.strictEqual(end.status, "completed")
          assert.deepStrictEqual(
            end.items.map((i) => i.status),
            ["completed", "completed", "failed", "completed", "completed"],
            "only the refused Lead's item failed"
          )
          assert.match(end.items[2]!.error!.message, /^the item's result could not be stored: .*lead .* is read-only/)
          assert.deepStrictEqual([end.captured, end.released], [4, 1])
          const [lead] = yield* sql<{
            title: unknown
          }>`SELECT attributes->'vendor_title' AS title FROM leads WHERE id = ${`${workspace.id}-4`}`
          assert.deepStrictEqual(lead!.title, { found: true, title: "CTO" }, "the rest of the batch was written")
        }).pipe(Effect.provide(servicesWith([entry])))
      })
    )

    it.effect("regression_a_step_error_that_was_not_a_transient_sql_error_died_and_left_its_run_running", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const vendor = yield* rawVendor(() => ({ status: 200, body: '{"title":"CTO"}' }))
        const entry = yield* httpEntry(vendor.url)
        yield* Effect.gen(function* () {
          const { workspace } = yield* (yield* Workspaces).create({ name: "defect", credits: 10 })
          yield* insertPeople(workspace.id, emails(5))
          const runId = yield* dispatchAll(workspace.id, "vendor_title")
          // every record of a completed item fails for good: a defect in the step, not in one Lead
          yield* sql.unsafe(`CREATE FUNCTION refuse_completions() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF NEW.stream_id = 'run-${runId}' AND NEW.type = 'ItemBatchRecorded' AND NEW.data::text LIKE '%"completed"%'
            THEN RAISE EXCEPTION 'injected defect'; END IF;
            RETURN NEW;
          END $$`)
          yield* sql`CREATE TRIGGER refuse_completions BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_completions()`
          yield* executeRun({ runId, workspaceId: workspace.id }).pipe(
            Effect.ensuring(Effect.orDie(sql`DROP TRIGGER refuse_completions ON events`))
          )
          const end = yield* assertSettled(runId)
          assert.strictEqual(end.status, "completed")
          assert.deepStrictEqual([end.captured, end.released], [0, 5])
          for (const item of end.items) {
            assert.strictEqual(item.status, "failed")
            assert.match(item.error!.message, /^the batch failed: .*injected defect/)
          }
        }).pipe(Effect.provide(servicesWith([entry])))
      })
    )
  }
)
