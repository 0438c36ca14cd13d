/**
 * The failure model as a property (docs/ARCHITECTURE.md, "When things fail"): for random sequences of faults
 * — transient (PostgreSQL's serialization failure) and permanent (an error PostgreSQL raises) at every step
 * a run takes (claim, result rows, record, completion, settlement), providers that fail, throw or answer
 * unstorable text, a Lead whose write is refused, a worker lost mid-run that comes back before its lease
 * expires, after it, or never — every run ends the same way: terminal, settled exactly once, reserved =
 * captured + released, nothing held, each item recorded at most once, and the settlement is what the
 * items' outcomes say it must be (ChargeAttribution).
 *
 * Faults are injected by triggers that count with sequences (a sequence is not rolled back with the
 * transaction the fault fails), so a fault of `times` n fires n times, whoever retries. Cases: 12 ×
 * ENRICH_TEST_SCALE.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { SqlClient } from "effect/sql"
import fc from "fast-check"
import { Workspaces } from "@enrich/adapters/postgres/Workspaces"
import { builtinEntries } from "@enrich/catalog/Catalog"
import { TestDatabaseLive } from "@enrich/adapters/testing/TestDatabase"
import { scaled, testScale } from "@enrich/domain/testing/TestScale"
import type { ChargeOn } from "@enrich/domain/catalog/Enrichment"
import { attribute } from "@enrich/domain/credits/ChargeAttribution"
import { type CatalogEntry, ProviderError } from "@enrich/domain/ports/Catalog"
import { decodeRunEvent } from "@enrich/domain/runs/RunEvents"
import {
  assertSettled,
  dispatchAll,
  executeRun,
  insertPeople,
  servicesWith,
  sweepUntilSettled
} from "./support/Failures.ts"

type Behaviour = "ok" | "not_found" | "flaky" | "error" | "defect" | "unstorable"

/** What the property's provider does, per Lead (by its email), and when the worker is lost. */
const state = {
  behaviours: new Map<string, Behaviour>(),
  calls: 0,
  flaked: new Set<string>(),
  /** completed when the provider has been called this many times (the worker is then lost) */
  lose: undefined as { readonly after: number; readonly signal: Deferred.Deferred<void> } | undefined
}

const emailValidation = builtinEntries.find((e) => e.contract.slug === "email_validation")!

const faulty = (chargeOn: ChargeOn): CatalogEntry => ({
  ...emailValidation,
  contract: {
    ...emailValidation.contract,
    id: `faulty_${chargeOn}`,
    slug: `faulty_${chargeOn}`,
    costModel: { ...emailValidation.contract.costModel, chargeOn }
  },
  retry: { maxAttempts: 2, backoffMs: 5 },
  execute: (snapshot) =>
    Effect.gen(function* () {
      const email = String(snapshot["email"])
      state.calls++
      if (state.lose !== undefined && state.calls >= state.lose.after)
        yield* Deferred.succeed(state.lose.signal, undefined)
      switch (state.behaviours.get(email) ?? "ok") {
        case "ok":
          return { result: { email }, raw: { email }, found: true, provider: "faulty", providerSubmissionId: null }
        case "not_found":
          return { result: { email: null }, raw: null, found: false, provider: "faulty", providerSubmissionId: null }
        case "flaky":
          if (!state.flaked.has(email)) {
            state.flaked.add(email)
            return yield* new ProviderError({ message: "try again", retryable: true })
          }
          return { result: { email }, raw: { email }, found: true, provider: "faulty", providerSubmissionId: null }
        case "error":
          return yield* new ProviderError({ message: "no such person", retryable: false })
        case "defect":
          throw new Error(`the provider broke on ${email}`)
        case "unstorable":
          return {
            result: { email: "a\u0000b", note: "\ud800 alone" },
            raw: { "\u0000key": "\udfff" },
            found: true,
            provider: "faulty\u0000",
            providerSubmissionId: null
          }
      }
    })
})

const STEPS = ["ItemBatchStarted", "ItemBatchRecorded", "RunCompleted", "CreditsSettled", "item_results"] as const

interface Fault {
  readonly step: (typeof STEPS)[number]
  readonly permanent: boolean
  readonly times: number
  /** only records carrying a completed outcome (a defect of the normal record, not of failing one) */
  readonly completedOnly: boolean
}

interface Case {
  readonly chargeOn: ChargeOn
  readonly behaviours: ReadonlyArray<Behaviour>
  readonly refusedLead: number | null
  readonly faults: ReadonlyArray<Fault>
  readonly lost: null | { readonly afterCalls: number; readonly resume: "before_lease" | "after_lease" | "never" }
}

const LEADS = 12

const aCase: fc.Arbitrary<Case> = fc.record({
  chargeOn: fc.constantFrom<ChargeOn>("completed", "found", "dispatch"),
  behaviours: fc.array(
    fc.constantFrom<Behaviour>("ok", "ok", "ok", "not_found", "flaky", "error", "defect", "unstorable"),
    { minLength: LEADS, maxLength: LEADS }
  ),
  refusedLead: fc.option(fc.integer({ min: 1, max: LEADS }), { freq: 3 }),
  faults: fc.array(
    fc.record({
      step: fc.constantFrom(...STEPS),
      permanent: fc.boolean(),
      times: fc.integer({ min: 1, max: 8 }),
      completedOnly: fc.boolean()
    }),
    { maxLength: 3 }
  ),
  lost: fc.option(
    fc.record({
      afterCalls: fc.integer({ min: 1, max: LEADS }),
      resume: fc.constantFrom("before_lease" as const, "after_lease" as const, "never" as const)
    }),
    { freq: 2 }
  )
})

const installFaults = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE test_faults (stream_id text, step text, sqlstate text, seq text, times int, completed_only boolean)`
  yield* sql`CREATE TABLE test_refused_leads (lead_id text PRIMARY KEY)`
  yield* sql.unsafe(`CREATE FUNCTION test_fault(stream text, step text, data text) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE f record;
    BEGIN
      FOR f IN SELECT * FROM test_faults t WHERE t.stream_id = stream AND t.step = test_fault.step LOOP
        IF f.completed_only AND data NOT LIKE '%"completed"%' THEN CONTINUE; END IF;
        IF nextval(f.seq) <= f.times THEN
          RAISE EXCEPTION 'injected fault on %', step USING ERRCODE = f.sqlstate;
        END IF;
      END LOOP;
    END $$`)
  yield* sql.unsafe(`CREATE FUNCTION test_fault_event() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM test_fault(NEW.stream_id, NEW.type, NEW.data::text); RETURN NEW; END $$`)
  yield* sql.unsafe(`CREATE FUNCTION test_fault_result() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM test_fault('run-' || NEW.run_id, 'item_results', coalesce(NEW.result::text, '')); RETURN NEW; END $$`)
  yield* sql.unsafe(`CREATE FUNCTION test_refuse_lead() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM test_refused_leads WHERE lead_id = NEW.id) THEN
        RAISE EXCEPTION 'lead % refused', NEW.id;
      END IF;
      RETURN NEW;
    END $$`)
  yield* sql`CREATE TRIGGER test_fault_event BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION test_fault_event()`
  // an item's result is written with its record (recorded_at set), in its row
  yield* sql`CREATE TRIGGER test_fault_result BEFORE UPDATE ON run_items FOR EACH ROW
    WHEN (NEW.recorded_at IS NOT NULL AND NEW.recorded_at IS DISTINCT FROM OLD.recorded_at)
    EXECUTE FUNCTION test_fault_result()`
  yield* sql`CREATE TRIGGER test_refuse_lead BEFORE UPDATE ON leads FOR EACH ROW EXECUTE FUNCTION test_refuse_lead()`
})

let cases = 0

const runCase = (c: Case) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const n = ++cases
    const { workspace } = yield* (yield* Workspaces).create({ name: `case-${n}`, credits: 100 })
    const emails = Array.from({ length: LEADS }, (_, i) => `c${n}p${i + 1}@corp.example`)
    yield* insertPeople(workspace.id, emails)
    state.behaviours = new Map(emails.map((e, i) => [e, c.behaviours[i]!]))
    state.flaked = new Set()
    state.calls = 0
    const signal = yield* Deferred.make<void>()
    state.lose = c.lost === null ? undefined : { after: c.lost.afterCalls, signal }
    if (c.refusedLead !== null)
      yield* sql`INSERT INTO test_refused_leads VALUES (${`${workspace.id}-${c.refusedLead}`})`
    const runId = yield* dispatchAll(workspace.id, `faulty_${c.chargeOn}`)
    const run = { runId, workspaceId: workspace.id }
    for (const [i, f] of c.faults.entries()) {
      const seq = `test_fault_${n}_${i}`
      yield* sql.unsafe(`CREATE SEQUENCE ${seq}`)
      yield* sql`INSERT INTO test_faults VALUES (${`run-${runId}`}, ${f.step}, ${f.permanent ? "P0001" : "40001"},
        ${seq}, ${f.times}, ${f.completedOnly})`
    }

    // the worker: runs the loop; a worker that is lost stops where it is, and its lease is no longer renewed
    const worker = yield* Effect.forkChild(Effect.exit(executeRun(run)))
    if (c.lost === null) {
      yield* Fiber.join(worker)
    } else {
      yield* Effect.raceFirst(Fiber.join(worker), Deferred.await(signal))
      yield* Fiber.interrupt(worker)
      state.lose = undefined
      if (c.lost.resume === "after_lease") {
        yield* Effect.sleep(1_200)
        yield* sweepUntilSettled(runId, 1)
      }
      // the engine resumes the run's loop (the same batch keys, as a replay does), or never does
      if (c.lost.resume !== "never") yield* Effect.exit(executeRun(run))
    }
    // whatever happened, the watchdog ends it: a loop that died stops renewing its lease
    yield* sweepUntilSettled(runId, 25, 400)
    const end = yield* assertSettled(runId)

    const recorded = yield* sql<{ ordinal: number }>`
      SELECT (o ->> 'ordinal')::int AS ordinal FROM events, jsonb_array_elements(data -> 'outcomes') o
      WHERE stream_id = ${`run-${runId}`} AND type = 'ItemBatchRecorded'`
    assert.strictEqual(new Set(recorded.map((r) => r.ordinal)).size, recorded.length, "each item recorded once")
    const stored = yield* sql<{ type: string; version: number; data: unknown }>`
      SELECT type, schema_version AS version, data FROM events WHERE stream_id = ${`run-${runId}`} ORDER BY stream_version`
    const events = yield* Effect.forEach(stored, (e) => decodeRunEvent(e.type, e.version, e.data))
    const attribution = attribute(events)!
    assert.isTrue(
      attribution.matchesSettlement,
      `the settlement is what the outcomes say: ${JSON.stringify(attribution.expected)}`
    )
    assert.strictEqual(attribution.open.length, 0, "no item left open")
    if (c.refusedLead !== null && c.lost === null && c.faults.length === 0 && end.status === "completed") {
      // the refused Lead's item fails alone, saying why (unless its provider failed it first)
      const refused = end.items.find((i) => i.lead_id === `${workspace.id}-${c.refusedLead}`)!
      const behaviour = c.behaviours[c.refusedLead - 1]
      if (behaviour === "ok" || behaviour === "flaky" || behaviour === "unstorable") {
        assert.strictEqual(refused.status, "failed")
        assert.match(refused.error?.message ?? "", /^the item's result could not be stored: .*refused/)
      }
    }
    return end
  })

const Live = servicesWith([faulty("completed"), faulty("found"), faulty("dispatch")], {
  ENRICH_BATCH_SIZE: "4",
  ENRICH_ITEM_MAX_ATTEMPTS: "2"
}).pipe(Layer.provideMerge(TestDatabaseLive))

layer(Live, { timeout: 600_000, excludeTestServices: true })("The failure model (property, integration)", (it) => {
  it.effect(
    "whatever_fails_at_whatever_step_every_run_ends_and_settles_exactly_once",
    () =>
      Effect.gen(function* () {
        yield* installFaults
        const context = yield* Effect.context<Layer.Success<typeof Live>>()
        const ended = new Map<string, number>()
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(aCase, (c) =>
              Effect.runPromise(
                runCase(c).pipe(
                  Effect.tap((end) => Effect.sync(() => ended.set(end.status, (ended.get(end.status) ?? 0) + 1))),
                  Effect.provideContext(context)
                )
              ).then(() => undefined)
            ),
            { numRuns: Math.max(4, Math.round(12 * testScale())), endOnFailure: true }
          )
        )
        console.log(`failure model: ${cases} runs, ended ${JSON.stringify(Object.fromEntries(ended))}`)
      }),
    { timeout: scaled(240_000) }
  )
})
