/** Bodies of the admin group's API keys: created with optional restrictions (DECISIONS.md 69), listed, revoked. */
import { Schema } from "effect"
import { ApiScope } from "@enrich/domain/auth/ApiKeyScopes"
import { Timestamp } from "../Schemas.ts"

/**
 * A new key's restrictions, each optional: without it, the key has every scope, no limit, no expiry. `scopes`:
 * distinct scopes, at least one; `creditLimit`: the most the key may have in use per calendar month in UTC (the
 * reservations of its runs of the month minus what they released); `expiresAt`: an instant ahead (a past one is
 * 400 naming `body.expiresAt`). No body (or `{}`, or `null`) is a key without restrictions.
 */
export const CreateApiKey = Schema.Struct({
  scopes: Schema.optionalKey(Schema.Array(ApiScope).check(Schema.isMinLength(1), Schema.isUnique())),
  creditLimit: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThanOrEqualTo(1_000_000_000_000))
  ),
  expiresAt: Schema.optionalKey(Timestamp)
})

const restrictions = {
  /** null: every scope, those to come included */
  scopes: Schema.NullOr(Schema.Array(ApiScope)),
  /** null: no monthly limit */
  creditLimit: Schema.NullOr(Schema.Int),
  /** null: never expires */
  expiresAt: Schema.NullOr(Schema.String)
}

/** A limited key's usage of this month (`YYYY-MM`, UTC): what its runs have in use, and what it may still reserve. */
export const ApiKeyUsage = Schema.Struct({ month: Schema.String, used: Schema.Int, remaining: Schema.Int })

/** An API key as the operator sees it: never the secret; with a limit, this month's usage. */
export const ApiKeySummary = Schema.Struct({
  id: Schema.String,
  prefix: Schema.String,
  createdAt: Schema.String,
  lastUsedAt: Schema.NullOr(Schema.String),
  revokedAt: Schema.NullOr(Schema.String),
  ...restrictions,
  usage: Schema.NullOr(ApiKeyUsage)
})
export const ApiKeyList = Schema.Struct({ apiKeys: Schema.Array(ApiKeySummary) })
/** `apiKey` is the secret, shown this once; the key's restrictions as stored. */
export const ApiKeyCreated = Schema.Struct({ apiKey: Schema.String, id: Schema.String, ...restrictions })
