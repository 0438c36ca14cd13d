/**
 * Workspaces and their API keys (secret shown once, stored as a SHA-256 hash
 * and looked up by it), with their restrictions: scopes, a monthly credit limit,
 * an expiry (DECISIONS.md 69). The opening credit grant goes through the CreditLedger.
 */
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { textArray } from "./TextArray.ts"
import { createHash, randomBytes } from "node:crypto"
import { uuidv7 } from "@enrich/domain/Ids"
import { ApiScope, canonicalScopes, type KeyScopes } from "@enrich/domain/auth/ApiKeyScopes"
import { budgetMonth, keyRemaining } from "@enrich/domain/credits/KeyBudget"
import { CreditLedger, type CreditBalance } from "@enrich/domain/ports/CreditLedger"
import type { Adjust, CreditRejection, Grant } from "@enrich/domain/credits/CreditAccount"
import type { StoreFailure } from "@enrich/domain/ports/StoreFailure"
import { toStoreFailure } from "./Transient.ts"

export interface Workspace {
  readonly id: string
  readonly name: string
  readonly createdAt: string
}

/** What a key may do: its scopes (null: every scope), its monthly credit limit (null: none), its expiry (null: never). */
export interface ApiKeyRestrictions {
  readonly scopes: KeyScopes
  readonly creditLimit: number | null
  readonly expiresAt: string | null
}

/** A limited key's usage of a month (`YYYY-MM`, UTC): what is in use, and what it may still reserve. */
export interface ApiKeyUsage {
  readonly month: string
  readonly used: number
  readonly remaining: number
}

/** What the operator sees of an API key: never the secret nor its hash; this month's usage when it has a limit. */
export interface ApiKeySummary extends ApiKeyRestrictions {
  readonly id: string
  readonly prefix: string
  readonly createdAt: string
  readonly lastUsedAt: string | null
  readonly revokedAt: string | null
  readonly usage: ApiKeyUsage | null
}

/** A valid (not revoked) key, as authentication finds it: expired or not is the caller's judgement, by its clock. */
export interface AuthenticatedApiKey extends ApiKeyRestrictions {
  readonly workspaceId: string
  readonly keyId: string
}

/** A key's restrictions as given to its creation: each absent one is none. */
export interface NewApiKeyRestrictions {
  readonly scopes?: ReadonlyArray<ApiScope> | undefined
  readonly creditLimit?: number | undefined
  /** an ISO-8601 instant */
  readonly expiresAt?: string | undefined
}

interface RestrictionColumns {
  readonly scopes: ReadonlyArray<string> | null
  readonly credit_limit: string | null
  readonly expires_at: Date | null
}

interface ApiKeyRow extends RestrictionColumns {
  readonly id: string
  readonly prefix: string
  readonly created_at: Date
  readonly last_used_at: Date | null
  readonly revoked_at: Date | null
  /** this month's usage row, when there is one */
  readonly used: string | null
}

const isApiScope = (scope: string): scope is ApiScope => (ApiScope.literals as ReadonlyArray<string>).includes(scope)

/** The stored restrictions; a scope this build does not know grants nothing. */
const toRestrictions = (row: RestrictionColumns): ApiKeyRestrictions => ({
  scopes: row.scopes === null ? null : canonicalScopes(row.scopes.filter(isApiScope)),
  creditLimit: row.credit_limit === null ? null : Number(row.credit_limit),
  expiresAt: row.expires_at === null ? null : new Date(row.expires_at).toISOString()
})

/** The month usage is shown for, by the clock (`YYYY-MM`), and the first day of it as the `month` column holds it. */
const currentMonth = () => {
  const month = budgetMonth(new Date().toISOString())
  return { month, column: `${month}-01` }
}

const toApiKeySummary =
  (month: string) =>
  (row: ApiKeyRow): ApiKeySummary => {
    const restrictions = toRestrictions(row)
    const used = Number(row.used ?? 0)
    return {
      id: row.id,
      prefix: row.prefix,
      createdAt: new Date(row.created_at).toISOString(),
      lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at).toISOString(),
      revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at).toISOString(),
      ...restrictions,
      usage:
        restrictions.creditLimit === null
          ? null
          : { month, used, remaining: keyRemaining({ limit: restrictions.creditLimit, used }) }
    }
  }

const sha256 = (secret: string) => createHash("sha256").update(secret).digest()

/**
 * The channel a key's revocation notifies, with the key's id as payload: delivered at commit to every
 * API process, which then stops accepting the key it may remember (DECISIONS.md 36).
 */
export const API_KEY_REVOKED_CHANNEL = "enrich_api_key_revoked"

/**
 * The channel a key that becomes valid notifies (empty payload), from a trigger on `api_keys` (migration
 * 0012): inserted by the API or by SQL, or un-revoked. API processes then forget the unknown keys they
 * remember (DECISIONS.md 50).
 */
export const API_KEY_ADDED_CHANNEL = "enrich_api_key_added"

/**
 * The channel a change of a key's scopes, credit limit or expiry notifies, with the key's id as payload, from a
 * trigger on `api_keys` (migration 0015): API processes forget what they remember of the key (DECISIONS.md 69).
 */
export const API_KEY_CHANGED_CHANNEL = "enrich_api_key_changed"

/** 256 random bits, base64url, with a readable prefix. */
export const newApiKeySecret = () => `ek_${randomBytes(32).toString("base64url")}`

export class Workspaces extends Context.Service<
  Workspaces,
  {
    readonly create: (input: { readonly name: string; readonly credits: number }) => Effect.Effect<{
      readonly workspace: Workspace
      readonly apiKey: string
    }>
    /** The workspaces, oldest first (by id), a page after `cursor` (any id: a position). */
    readonly list: (page: { readonly limit: number; readonly cursor?: string | undefined }) => Effect.Effect<{
      readonly workspaces: ReadonlyArray<Workspace>
      readonly nextCursor: string | null
      readonly hasMore: boolean
    }>
    /** The key of this secret, unless revoked (an expired key is found: its expiry is judged by the caller). */
    readonly authenticate: (secret: string) => Effect.Effect<Option.Option<AuthenticatedApiKey>>
    /** The workspace's keys, oldest first; none when the workspace does not exist. */
    readonly listApiKeys: (workspaceId: string) => Effect.Effect<Option.Option<ReadonlyArray<ApiKeySummary>>>
    /** A new key (the secret, shown once) with its restrictions; none when the workspace does not exist. */
    readonly createApiKey: (
      workspaceId: string,
      restrictions?: NewApiKeyRestrictions
    ) => Effect.Effect<Option.Option<{ readonly id: string; readonly apiKey: string } & ApiKeyRestrictions>>
    /** Which of these keys are still valid (neither revoked nor expired), in one statement. */
    readonly validKeys: (keyIds: ReadonlyArray<string>) => Effect.Effect<ReadonlySet<string>>
    /** Revokes a key at once; revoking a revoked key keeps its first `revokedAt`. None when unknown. */
    readonly revokeApiKey: (keyId: string) => Effect.Effect<Option.Option<ApiKeySummary>>
    /**
     * An operator's grant or adjustment through the CreditLedger, and the totals right
     * after it, in one transaction; none when the workspace does not exist.
     */
    readonly moveCredits: (
      workspaceId: string,
      command: Grant | Adjust
    ) => Effect.Effect<Option.Option<CreditBalance>, CreditRejection | StoreFailure>
  }
>()("@enrich/adapters/postgres/Workspaces") {
  static readonly layer = Layer.effect(
    Workspaces,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const ledger = yield* CreditLedger

      const create = Effect.fn("Workspaces.create")(function* (input: {
        readonly name: string
        readonly credits: number
      }) {
        const id = uuidv7()
        const keyId = uuidv7()
        const secret = newApiKeySecret()
        const createdAt = new Date().toISOString()
        yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* sql`INSERT INTO workspaces (id, name, created_at) VALUES (${id}, ${input.name}, ${createdAt})`
            if (input.credits > 0) {
              yield* ledger.execute(id, {
                _tag: "Grant",
                amount: input.credits,
                reason: "opening grant",
                now: createdAt
              })
            }
            yield* sql`INSERT INTO api_keys (id, workspace_id, prefix, secret_sha256)
            VALUES (${keyId}, ${id}, ${secret.slice(0, 10)}, ${sha256(secret)})`
          })
        )
        return {
          workspace: { id, name: input.name, createdAt },
          apiKey: secret
        }
      }, Effect.orDie)

      const list = Effect.fn("Workspaces.list")(function* (page: {
        readonly limit: number
        readonly cursor?: string | undefined
      }) {
        const rows = yield* sql<{ id: string; name: string; created_at: Date }>`
          SELECT id, name, created_at FROM workspaces
          WHERE ${page.cursor === undefined ? sql`true` : sql`id > ${page.cursor}`}
          ORDER BY id LIMIT ${page.limit + 1}`
        const hasMore = rows.length > page.limit
        const workspaces = rows
          .slice(0, page.limit)
          .map((r) => ({ id: r.id, name: r.name, createdAt: new Date(r.created_at).toISOString() }))
        return { workspaces, nextCursor: hasMore ? workspaces.at(-1)!.id : null, hasMore }
      }, Effect.orDie)

      /**
       * A key's workspace, in one statement that only reads on most requests: `last_used_at` is written
       * when it is unset or more than a minute old (a write per request would lock the key's row, and
       * serialise every concurrent request of a workspace behind one commit).
       */
      const authenticate = Effect.fn("Workspaces.authenticate")(function* (secret: string) {
        const rows = yield* sql<{ id: string; workspace_id: string } & RestrictionColumns>`
          WITH k AS (
            SELECT id, workspace_id, last_used_at, scopes, credit_limit, expires_at FROM api_keys
            WHERE secret_sha256 = ${sha256(secret)} AND revoked_at IS NULL
          ), touched AS (
            UPDATE api_keys a SET last_used_at = now() FROM k
            WHERE a.id = k.id AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute')
          )
          SELECT id, workspace_id, scopes, credit_limit::text, expires_at FROM k`
        const row = rows[0]
        return row === undefined
          ? Option.none()
          : Option.some<AuthenticatedApiKey>({ workspaceId: row.workspace_id, keyId: row.id, ...toRestrictions(row) })
      }, Effect.orDie)

      const listApiKeys = Effect.fn("Workspaces.listApiKeys")(function* (workspaceId: string) {
        const workspace = yield* sql`SELECT 1 FROM workspaces WHERE id = ${workspaceId}`
        if (workspace.length === 0) return Option.none()
        const { column, month } = currentMonth()
        const rows = yield* sql<ApiKeyRow>`
          SELECT k.id, k.prefix, k.created_at, k.last_used_at, k.revoked_at, k.scopes, k.credit_limit::text,
            k.expires_at, u.used::text
          FROM api_keys k LEFT JOIN api_key_usage u ON u.api_key_id = k.id AND u.month = ${column}::date
          WHERE k.workspace_id = ${workspaceId} ORDER BY k.id`
        return Option.some(rows.map(toApiKeySummary(month)))
      }, Effect.orDie)

      const createApiKey = Effect.fn("Workspaces.createApiKey")(function* (
        workspaceId: string,
        restrictions: NewApiKeyRestrictions = {}
      ) {
        const keyId = uuidv7()
        const secret = newApiKeySecret()
        const scopes = restrictions.scopes === undefined ? null : canonicalScopes(restrictions.scopes)
        const rows = yield* sql<{ id: string } & RestrictionColumns>`
          INSERT INTO api_keys (id, workspace_id, prefix, secret_sha256, scopes, credit_limit, expires_at)
          SELECT ${keyId}, id, ${secret.slice(0, 10)}, ${sha256(secret)},
            ${scopes === null ? null : textArray(scopes)}::text[], ${restrictions.creditLimit ?? null}::bigint,
            ${restrictions.expiresAt ?? null}::timestamptz
          FROM workspaces WHERE id = ${workspaceId}
          RETURNING id, scopes, credit_limit::text, expires_at`
        const row = rows[0]
        return row === undefined ? Option.none() : Option.some({ id: keyId, apiKey: secret, ...toRestrictions(row) })
      }, Effect.orDie)

      const validKeys = Effect.fn("Workspaces.validKeys")(function* (keyIds: ReadonlyArray<string>) {
        if (keyIds.length === 0) return new Set<string>()
        const rows = yield* sql<{ id: string }>`
          SELECT id FROM api_keys WHERE id = ANY(${textArray(keyIds)}::text[]) AND revoked_at IS NULL
            AND (expires_at IS NULL OR expires_at > now())`
        return new Set(rows.map((row) => row.id))
      }, Effect.orDie)

      const revokeApiKey = Effect.fn("Workspaces.revokeApiKey")(function* (keyId: string) {
        const { column, month } = currentMonth()
        // API processes that remember the key forget it when this commits (API_KEY_REVOKED_CHANNEL)
        const rows = yield* sql<ApiKeyRow>`
          WITH revoked AS (
            UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = ${keyId}
            RETURNING id, prefix, created_at, last_used_at, revoked_at, scopes, credit_limit, expires_at
          )
          SELECT revoked.id, revoked.prefix, revoked.created_at, revoked.last_used_at, revoked.revoked_at,
            revoked.scopes, revoked.credit_limit::text, revoked.expires_at, u.used::text,
            pg_notify(${API_KEY_REVOKED_CHANNEL}, revoked.id)
          FROM revoked LEFT JOIN api_key_usage u ON u.api_key_id = revoked.id AND u.month = ${column}::date`
        return Option.map(Option.fromNullishOr(rows[0]), toApiKeySummary(month))
      }, Effect.orDie)

      const moveCredits = Effect.fn("Workspaces.moveCredits")(
        function* (workspaceId: string, command: Grant | Adjust) {
          return yield* sql.withTransaction(
            Effect.gen(function* () {
              const workspace = yield* sql`SELECT 1 FROM workspaces WHERE id = ${workspaceId}`
              if (workspace.length === 0) return Option.none<CreditBalance>()
              yield* ledger.execute(workspaceId, command)
              return Option.some(yield* ledger.balance(workspaceId))
            })
          )
        },
        Effect.catchTag("SqlError", (error) => Effect.fail(toStoreFailure(error)))
      )

      return Workspaces.of({
        create,
        list,
        authenticate,
        listApiKeys,
        createApiKey,
        validKeys,
        revokeApiKey,
        moveCredits
      })
    })
  )
}
