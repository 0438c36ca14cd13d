/** Bodies of the credits endpoints (/api/credits…) and of the operator's credit movements. */
import { Schema } from "effect"
import { Id, TextUpTo } from "@enrich/domain/ClientText"

const IsoDate = Schema.String

/** Largest single movement or preview count: keeps every product a safe integer. */
const maxAmount = 1_000_000_000_000

// --- balance and ledger ------------------------------------------------------

export const CreditBalance = Schema.Struct({
  balance: Schema.Int,
  held: Schema.Int,
  captured: Schema.Int,
  granted: Schema.Int
})

/**
 * `grant`, `reserve`, `capture`, `release` as in the contract, plus `debit`: an
 * operator's negative adjustment (a positive one is shown as a `grant`).
 */
export const LedgerEntryType = Schema.Literals(["grant", "debit", "reserve", "capture", "release"])

export const LedgerEntry = Schema.Struct({
  id: Schema.String,
  type: LedgerEntryType,
  amount: Schema.Int.check(Schema.isGreaterThan(0)),
  runId: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String),
  createdAt: IsoDate
})

export const LedgerPage = Schema.Struct({
  entries: Schema.Array(LedgerEntry),
  nextCursor: Schema.NullOr(Schema.String),
  hasMore: Schema.Boolean
})

// --- preview -----------------------------------------------------------------

const Count = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1_000_000_000 }))

/**
 * `{ enrichmentId, count }` (ours) or `{ action, count }` (the hosted platform's):
 * exactly one of `enrichmentId` and `action`. One struct rather than a union, so an
 * error names the field that is wrong instead of every member's complaints.
 */
export const CreditPreviewBody = Schema.Struct({
  enrichmentId: Schema.optionalKey(Id),
  action: Schema.optionalKey(Id),
  count: Count
}).check(
  Schema.makeFilter(
    (body) =>
      body.enrichmentId === undefined && body.action === undefined
        ? { path: ["enrichmentId"], issue: "enrichmentId or action is required" }
        : body.enrichmentId !== undefined && body.action !== undefined
          ? { path: ["action"], issue: "give enrichmentId or action, not both" }
          : undefined,
    { expected: "exactly one of enrichmentId and action" }
  )
)

/** Both field sets: ours (`creditAction`, `unitCost`, `required`) and the hosted ones. */
export const CreditPreview = Schema.Struct({
  creditAction: Schema.String,
  action: Schema.String,
  unitCost: Schema.Int,
  costPerUnit: Schema.Int,
  count: Schema.Int,
  required: Schema.Int,
  totalCredits: Schema.Int,
  balance: Schema.Int,
  sufficient: Schema.Boolean
})

// --- operator ----------------------------------------------------------------

const isNotZero = Schema.makeFilter<number>((n) => n !== 0 || "must not be 0", { expected: "a non-zero integer" })

/** Positive: a grant; negative: an adjustment that never takes the balance below zero. */
export const CreditMovement = Schema.Struct({
  amount: Schema.Int.check(Schema.isBetween({ minimum: -maxAmount, maximum: maxAmount }), isNotZero),
  reason: TextUpTo(500).check(Schema.isMinLength(1))
})

export const CreditMovementResult = Schema.Struct({ balance: Schema.Int })
