/**
 * Workspaces and their API keys (secret shown once, stored as a SHA-256 hash
 * and looked up by it). The opening credit grant goes through the CreditLedger.
 */
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { textArray } from "./TextArray.ts"
import { createHash, randomBytes } from "node:crypto"
import { uuidv7 } from "@enrich/domain/Ids"
import { CreditLedger, type CreditBalance } from "@enrich/domain/ports/CreditLedger"
import type { Adjust, CreditRejection, Grant } from "@enrich/domain/credits/CreditAccount"
import type { StoreFailure } from "@enrich/domain/ports/StoreFailure"
import { toStoreFailure } from "./Transient.ts"

export interface Workspace {
  readonly id: string
  readonly name: string
  readonly createdAt: string
}

/** What the operator sees of an API key: never the secret nor its hash. */
export interface ApiKeySummary {
  readonly id: string
  readonly prefix: string
  readonly createdAt: string
  readonly lastUsedAt: string | null
  readonly revokedAt: string | null
}

interface ApiKeyRow {
  readonly id: string
  readonly prefix: string
  readonly created_at: Date
  readonly last_used_at: Date | null
  readonly revoked_at: Date | null
}

const toApiKeySummary = (row: ApiKeyRow): ApiKeySummary => ({
  id: row.id,
  prefix: row.prefix,
  createdAt: new Date(row.created_at).toISOString(),
  lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at).toISOString(),
  revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at).toISOString()
})

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

/** 256 random bits, base64url, with a readable prefix. */
export const newApiKeySecret = () => `ek_${randomBytes(32).toString("base64url")}`

export class Workspaces extends Context.Service<
  Workspaces,
  {
    readonly create: (input: { readonly name: string; readonly credits: number }) => Effect.Effect<{
      readonly workspace: Workspace
      readonly apiKey: string
    }>
    readonly authenticate: (
      secret: string
    ) => Effect.Effect<Option.Option<{ readonly workspaceId: string; readonly keyId: string }>>
    /** The workspace's keys, oldest first; none when the workspace does not exist. */
    readonly listApiKeys: (workspaceId: string) => Effect.Effect<Option.Option<ReadonlyArray<ApiKeySummary>>>
    /** A new key (the secret, shown once); none when the workspace does not exist. */
    readonly createApiKey: (
      workspaceId: string
    ) => Effect.Effect<Option.Option<{ readonly id: string; readonly apiKey: string }>>
    /** Which of these keys are still valid (not revoked), in one statement. */
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

      /**
       * A key's workspace, in one statement that only reads on most requests: `last_used_at` is written
       * when it is unset or more than a minute old (a write per request would lock the key's row, and
       * serialise every concurrent request of a workspace behind one commit).
       */
      const authenticate = Effect.fn("Workspaces.authenticate")(function* (secret: string) {
        const rows = yield* sql<{ id: string; workspace_id: string }>`
          WITH k AS (
            SELECT id, workspace_id, last_used_at FROM api_keys
            WHERE secret_sha256 = ${sha256(secret)} AND revoked_at IS NULL
          ), touched AS (
            UPDATE api_keys a SET last_used_at = now() FROM k
            WHERE a.id = k.id AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute')
          )
          SELECT id, workspace_id FROM k`
        const row = rows[0]
        return row === undefined ? Option.none() : Option.some({ workspaceId: row.workspace_id, keyId: row.id })
      }, Effect.orDie)

      const listApiKeys = Effect.fn("Workspaces.listApiKeys")(function* (workspaceId: string) {
        const workspace = yield* sql`SELECT 1 FROM workspaces WHERE id = ${workspaceId}`
        if (workspace.length === 0) return Option.none()
        const rows = yield* sql<ApiKeyRow>`
          SELECT id, prefix, created_at, last_used_at, revoked_at FROM api_keys
          WHERE workspace_id = ${workspaceId} ORDER BY id`
        return Option.some(rows.map(toApiKeySummary))
      }, Effect.orDie)

      const createApiKey = Effect.fn("Workspaces.createApiKey")(function* (workspaceId: string) {
        const keyId = uuidv7()
        const secret = newApiKeySecret()
        const rows = yield* sql<{ id: string }>`
          INSERT INTO api_keys (id, workspace_id, prefix, secret_sha256)
          SELECT ${keyId}, id, ${secret.slice(0, 10)}, ${sha256(secret)} FROM workspaces WHERE id = ${workspaceId}
          RETURNING id`
        return rows.length === 0 ? Option.none() : Option.some({ id: keyId, apiKey: secret })
      }, Effect.orDie)

      const validKeys = Effect.fn("Workspaces.validKeys")(function* (keyIds: ReadonlyArray<string>) {
        if (keyIds.length === 0) return new Set<string>()
        const rows = yield* sql<{ id: string }>`
          SELECT id FROM api_keys WHERE id = ANY(${textArray(keyIds)}::text[]) AND revoked_at IS NULL`
        return new Set(rows.map((row) => row.id))
      }, Effect.orDie)

      const revokeApiKey = Effect.fn("Workspaces.revokeApiKey")(function* (keyId: string) {
        // API processes that remember the key forget it when this commits (API_KEY_REVOKED_CHANNEL)
        const rows = yield* sql<ApiKeyRow>`
          WITH revoked AS (
            UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = ${keyId}
            RETURNING id, prefix, created_at, last_used_at, revoked_at
          )
          SELECT revoked.*, pg_notify(${API_KEY_REVOKED_CHANNEL}, revoked.id) FROM revoked`
        return Option.map(Option.fromNullishOr(rows[0]), toApiKeySummary)
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
