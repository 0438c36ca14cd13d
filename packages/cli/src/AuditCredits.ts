/**
 * `audit credits WORKSPACE [--from ISO] [--to ISO] [--leads]`: the workspace's credit ledger
 * explained from the event history alone (`DATABASE_URL`). The workspace's credit stream gives
 * the lines (grant, debit, reserve, capture, release — the types and amounts of
 * `GET /api/credits/ledger`, one line per credit event, its id the ledger entry's id) and the
 * running balance; each run's own stream says who asked for it and, through the domain's
 * ChargeAttribution, which items a capture charged and why a release went back.
 *
 * The JSON shape (stable; `--format pretty` prints the same as a table):
 *
 * ```
 * { workspaceId, window: { from, to },            // ISO or null; from inclusive, to exclusive
 *   opening: { balance, granted, held, captured }, // before the first line of the window
 *   lines: [{ position, eventId, event, type, at, amount,   // amount positive, as the ledger
 *             balance, granted, held, captured,             // the account after the line
 *             reason, runId, enrichmentId,
 *             actor, requestId, correlationId, causationId, // who and what caused the line
 *             items: [{ reason, count, ordinals, leadIds? }], // ordinals as "1-3,5"
 *             explanation }],
 *   totals: { lines, granted, debited, reserved, captured, released },
 *   closing: { balance, granted, held, captured },
 *   runs: { [runId]: { enrichmentId, enrichmentVersion, chargeOn, unitCost, leadCount, reserved,
 *             status, requestedBy, stoppedBy, settlement, matchesSettlement } } }
 * ```
 *
 * `items[].reason`: for a reserve `scope`; for a capture the charge rule (`dispatch`,
 * `completed`, `found`); for a release `not_found`, `failed`, `run_cancelled`, `run_failed`,
 * `attribute_exists`, `lead_deleted`. Item ids are `<runId>.<ordinal, 8 digits>`; with
 * `--leads` each group also lists its Lead ids (from the run's frozen scope, `run_scope`). The
 * database is read through the event store and the adapters' AuditReadModel only.
 */
import { Effect } from "effect"
import { AuditReadModel } from "@enrich/adapters/postgres/AuditReadModel"
import { type RunAttribution, attribute, ordinalRanges } from "@enrich/domain/credits/ChargeAttribution"
import * as CreditAccount from "@enrich/domain/credits/CreditAccount"
import { EventStore, type RecordedEvent } from "@enrich/domain/ports/EventStore"
import type { RunEvent } from "@enrich/domain/runs/RunEvents"
import { decodeCredit, decodeRun, withDatabase } from "./Database.ts"
import { errorBody, fail, Format, print, writeOut } from "./Output.ts"

export interface AuditCreditsOptions {
  readonly workspaceId: string
  readonly from: string | undefined
  readonly to: string | undefined
  readonly leads: boolean
}

interface Account {
  readonly balance: number
  readonly granted: number
  readonly held: number
  readonly captured: number
}

interface ItemGroup {
  readonly reason: string
  readonly count: number
  readonly ordinals: string
  readonly leadIds?: ReadonlyArray<string>
}

interface Who {
  readonly actor: string | null
  readonly requestId: string | null
  readonly correlationId: string | null
  readonly at: string
}

interface RunSummary {
  readonly enrichmentId: string
  readonly enrichmentVersion: number
  readonly chargeOn: string
  readonly unitCost: number
  readonly leadCount: number
  readonly reserved: number
  readonly status: string
  readonly requestedBy: (Who & { readonly idempotencyKey: string | null }) | null
  readonly stoppedBy: (Who & { readonly event: string; readonly message: string | null }) | null
  readonly settlement: { readonly captured: number; readonly released: number; readonly at: string } | null
  readonly matchesSettlement: boolean
}

interface Line extends Account {
  readonly position: string
  readonly eventId: string
  readonly event: string
  readonly type: "grant" | "debit" | "reserve" | "capture" | "release"
  readonly at: string
  readonly amount: number
  readonly reason: string | null
  readonly runId: string | null
  readonly enrichmentId: string | null
  readonly actor: string | null
  readonly requestId: string | null
  readonly correlationId: string | null
  readonly causationId: string | null
  readonly items: ReadonlyArray<ItemGroup>
  readonly explanation: string
}

/** A run's story: its attribution plus who asked and who stopped it. */
interface RunStory {
  readonly attribution: RunAttribution
  readonly summary: RunSummary
  readonly leadOf: ReadonlyMap<number, string> | undefined
}

const account = (s: CreditAccount.CreditAccountState): Account => ({
  balance: CreditAccount.balance(s),
  granted: s.granted,
  held: s.held,
  captured: s.captured
})

const who = (e: RecordedEvent, at: string): Who => ({
  actor: e.metadata.actor ?? null,
  requestId: e.metadata.requestId ?? null,
  correlationId: e.metadata.correlationId ?? null,
  at
})

const parseTime = Effect.fnUntraced(function* (name: string, value: string | undefined) {
  if (value === undefined) return undefined
  const ms = Date.parse(value)
  if (Number.isNaN(ms)) {
    return yield* fail(
      errorBody("VALIDATION_FAILED", `--${name} must be an ISO-8601 time, got ${JSON.stringify(value)}`)
    )
  }
  return ms
})

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

const reasonText: Record<string, string> = {
  not_found: "not found",
  failed: "failed",
  run_cancelled: "skipped, run cancelled",
  run_failed: "skipped, run failed",
  attribute_exists: "skipped, attribute exists",
  lead_deleted: "skipped, Lead deleted"
}

export const auditCredits = Effect.fn(function* (options: AuditCreditsOptions) {
  const from = yield* parseTime("from", options.from)
  const to = yield* parseTime("to", options.to)
  if (from !== undefined && to !== undefined && from > to) {
    return yield* fail(errorBody("VALIDATION_FAILED", "--from must not be after --to"))
  }
  const report = yield* withDatabase(
    Effect.gen(function* () {
      const store = yield* EventStore
      const readModel = yield* AuditReadModel
      const { workspaceId } = options
      const streamId = `credits-${workspaceId}`
      const known = yield* readModel.workspaceKnown(workspaceId, streamId)
      if (!known.workspace && !known.stream) {
        return yield* fail(errorBody("NOT_FOUND", `no workspace ${workspaceId}`))
      }

      const stories = new Map<string, RunStory | null>()
      const storyOf = Effect.fn(function* (runId: string) {
        const cached = stories.get(runId)
        if (cached !== undefined) return cached
        const recorded = yield* store.readStream(`run-${runId}`)
        const events: Array<RunEvent> = []
        let requestedBy: RunSummary["requestedBy"] = null
        let stoppedBy: RunSummary["stoppedBy"] = null
        for (const e of recorded) {
          const event = yield* decodeRun(e)
          events.push(event)
          if (event._tag === "RunRequested" && requestedBy === null) {
            requestedBy = { ...who(e, event.requestedAt), idempotencyKey: event.idempotency?.key ?? null }
          }
          if ((event._tag === "RunCancelled" || event._tag === "RunFailed") && stoppedBy === null) {
            stoppedBy = {
              ...who(e, event._tag === "RunCancelled" ? event.cancelledAt : event.failedAt),
              event: event._tag,
              message: event._tag === "RunFailed" ? event.message : null
            }
          }
        }
        const attribution = attribute(events)
        let story: RunStory | null = null
        if (attribution !== undefined) {
          let leadOf: Map<number, string> | undefined
          if (options.leads) {
            const rows = yield* readModel.runScope(runId)
            leadOf = new Map(rows.map((r) => [r.ordinal, r.leadId]))
          }
          story = {
            attribution,
            leadOf,
            summary: {
              enrichmentId: attribution.enrichmentId,
              enrichmentVersion: attribution.enrichmentVersion,
              chargeOn: attribution.chargeOn,
              unitCost: attribution.unitCost,
              leadCount: attribution.leadCount,
              reserved: attribution.reserved,
              status: attribution.status,
              requestedBy,
              stoppedBy,
              settlement: attribution.settlement,
              matchesSettlement: attribution.matchesSettlement
            }
          }
        }
        stories.set(runId, story)
        return story
      })

      const group = (story: RunStory, reason: string, ordinals: ReadonlyArray<number>): ItemGroup => ({
        reason,
        count: ordinals.length,
        ordinals: ordinalRanges(ordinals),
        ...(story.leadOf === undefined ? {} : { leadIds: ordinals.map((o) => story.leadOf!.get(o) ?? "?") })
      })

      let state = CreditAccount.initialState
      let opening: Account = account(state)
      const lines: Array<Line> = []
      const totals = { lines: 0, granted: 0, debited: 0, reserved: 0, captured: 0, released: 0 }
      for (const e of yield* store.readStream(streamId)) {
        const event = yield* decodeCredit(e)
        const at =
          event._tag === "CreditsGranted"
            ? event.grantedAt
            : event._tag === "CreditsAdjusted"
              ? event.adjustedAt
              : event._tag === "CreditsHeld"
                ? event.heldAt
                : event._tag === "CreditsCaptured"
                  ? event.capturedAt
                  : event.releasedAt
        const ms = Date.parse(at)
        if (from !== undefined && ms < from) {
          state = CreditAccount.evolve(state, event)
          opening = account(state)
          continue
        }
        if (to !== undefined && ms >= to) break
        state = CreditAccount.evolve(state, event)
        const type: Line["type"] =
          event._tag === "CreditsGranted"
            ? "grant"
            : event._tag === "CreditsAdjusted"
              ? event.amount < 0
                ? "debit"
                : "grant"
              : event._tag === "CreditsHeld"
                ? "reserve"
                : event._tag === "CreditsCaptured"
                  ? "capture"
                  : "release"
        const amount = Math.abs(event.amount)
        const runId = "runId" in event ? event.runId : null
        const story = runId === null ? null : yield* storyOf(runId)
        let items: ReadonlyArray<ItemGroup> = []
        let explanation: string
        if (runId === null) {
          const reason = "reason" in event ? event.reason : ""
          explanation = `${type === "debit" ? "took back" : "granted"} ${amount}${reason === "" ? "" : ` (${JSON.stringify(reason)})`} by ${e.metadata.actor ?? "?"}`
        } else if (story === null) {
          explanation = `${type} ${amount} for run ${runId}, which has no events`
        } else {
          const a = story.attribution
          const each = `${plural(a.unitCost, "credit")} each`
          if (type === "reserve") {
            // the items skipped for a fresh result (the last ordinals) were never reserved
            const reservedFor = a.leadCount - a.fresh.length
            items =
              reservedFor === 0
                ? []
                : [
                    group(
                      story,
                      "scope",
                      Array.from({ length: reservedFor }, (_, i) => i + 1)
                    )
                  ]
            const fresh = a.fresh.length === 0 ? "" : `; ${plural(a.fresh.length, "item")} fresh, not reserved`
            explanation = `reserved ${amount} for run ${runId} (${a.enrichmentId}, ${plural(reservedFor, "item")}, ${each}${fresh}) asked by ${story.summary.requestedBy?.actor ?? "?"}`
          } else if (type === "capture") {
            items = a.charged.length === 0 ? [] : [group(story, a.chargeOn, a.charged)]
            const basis = a.chargeOn === "dispatch" ? "charged on dispatch" : a.chargeOn
            explanation = `captured ${amount} for run ${runId}: ${a.charged.length === 0 ? "no items" : `items ${ordinalRanges(a.charged)}`} (${plural(a.charged.length, "item")} ${basis}, ${each})`
          } else {
            items = a.released.map((r) => group(story, r.reason, r.ordinals))
            const parts = a.released.map(
              (r) => `${r.ordinals.length} ${reasonText[r.reason] ?? r.reason} (${ordinalRanges(r.ordinals)})`
            )
            explanation = `released ${amount} for run ${runId}: ${parts.length === 0 ? "nothing to give back" : parts.join(", ")}`
            if (story.summary.stoppedBy !== null) {
              const stop = story.summary.stoppedBy
              explanation += `; ${stop.event === "RunCancelled" ? "cancelled" : "failed"} by ${stop.actor ?? "?"} at ${stop.at}`
            }
          }
          if (!a.matchesSettlement && (type === "capture" || type === "release")) {
            explanation += ` — INCONSISTENT: the items say captured ${a.expected.captured} / released ${a.expected.released}`
          }
        }
        totals.lines++
        if (type === "grant") totals.granted += amount
        if (type === "debit") totals.debited += amount
        if (type === "reserve") totals.reserved += amount
        if (type === "capture") totals.captured += amount
        if (type === "release") totals.released += amount
        lines.push({
          position: e.globalPosition.toString(),
          eventId: e.eventId,
          event: event._tag,
          type,
          at,
          amount,
          ...account(state),
          reason: "reason" in event ? event.reason : null,
          runId,
          enrichmentId: story?.attribution.enrichmentId ?? null,
          actor: e.metadata.actor ?? null,
          requestId: e.metadata.requestId ?? null,
          correlationId: e.metadata.correlationId ?? null,
          causationId: e.metadata.causationId ?? null,
          items,
          explanation
        })
      }
      const runs: Record<string, RunSummary> = {}
      for (const [runId, story] of stories) if (story !== null) runs[runId] = story.summary
      return {
        workspaceId,
        window: {
          from: from === undefined ? null : new Date(from).toISOString(),
          to: to === undefined ? null : new Date(to).toISOString()
        },
        opening,
        lines,
        totals,
        closing: account(state),
        runs
      }
    })
  )

  if ((yield* Format) !== "pretty") return yield* print(report)
  const money = (a: Account) => `balance ${a.balance} (granted ${a.granted}, held ${a.held}, captured ${a.captured})`
  const header = `${"time".padEnd(24)}  ${"type".padEnd(7)} ${"amount".padStart(7)} ${"balance".padStart(8)} ${"held".padStart(6)}  explanation`
  const rows = report.lines.map(
    (l) =>
      `${l.at.padEnd(24)}  ${l.type.padEnd(7)} ${String(l.amount).padStart(7)} ${String(l.balance).padStart(8)} ${String(l.held).padStart(6)}  ${l.explanation}` +
      (l.requestId === null ? "" : ` [request ${l.requestId}]`)
  )
  const t = report.totals
  const runs = Object.entries(report.runs).map(([id, r]) => {
    const asked = r.requestedBy
    const stop = r.stoppedBy
    return (
      `  ${id}  ${r.enrichmentId} v${r.enrichmentVersion} · charge on ${r.chargeOn} · ${plural(r.leadCount, "item")} × ${r.unitCost} · ${r.status}` +
      (asked === null
        ? ""
        : `\n    asked by ${asked.actor ?? "?"} at ${asked.at} (request ${asked.requestId ?? "-"}, correlation ${asked.correlationId ?? "-"}${asked.idempotencyKey === null ? "" : `, idempotency key ${asked.idempotencyKey}`})`) +
      (stop === null
        ? ""
        : `\n    ${stop.event === "RunCancelled" ? "cancelled" : `failed (${stop.message})`} by ${stop.actor ?? "?"} at ${stop.at} (request ${stop.requestId ?? "-"})`) +
      (r.settlement === null
        ? "\n    not settled yet"
        : `\n    settled at ${r.settlement.at}: ${r.settlement.captured} captured, ${r.settlement.released} released${r.matchesSettlement ? "" : " — INCONSISTENT with its items"}`)
    )
  })
  const window =
    report.window.from === null && report.window.to === null
      ? "all time"
      : `${report.window.from ?? "the start"} → ${report.window.to ?? "now"}`
  yield* writeOut(
    `credits of workspace ${report.workspaceId} · ${window}\n` +
      `opening ${money(report.opening)}\n\n${header}\n${rows.join("\n")}${rows.length === 0 ? "(no lines)" : ""}\n\n` +
      `totals: ${plural(t.lines, "line")}; granted ${t.granted}, debited ${t.debited}, reserved ${t.reserved}, captured ${t.captured}, released ${t.released}\n` +
      `closing ${money(report.closing)}\n` +
      (runs.length === 0 ? "" : `\nruns:\n${runs.join("\n")}\n`)
  )
})
