/**
 * Workspaces, their API keys (secret shown once, stored as a SHA-256 hash and
 * looked up by it) and their credit account (one row per workspace).
 */
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { createHash, randomBytes } from "node:crypto"
import { uuidv7 } from "../Ids.ts"

export interface Workspace {
  readonly id: string
  readonly name: string
  readonly createdAt: string
}

export interface CreditBalance {
  readonly balance: number
  readonly held: number
  readonly captured: number
  readonly granted: number
}

const sha256 = (secret: string) => createHash("sha256").update(secret).digest()

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
    readonly credits: (workspaceId: string) => Effect.Effect<CreditBalance>
  }
>()("@enrich/adapters/postgres/Workspaces") {
  static readonly layer = Layer.effect(
    Workspaces,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      const create = Effect.fn("Workspaces.create")(function* (input: {
        readonly name: string
        readonly credits: number
      }) {
        const id = uuidv7()
        const keyId = uuidv7()
        const secret = newApiKeySecret()
        const rows = yield* sql.withTransaction(
          Effect.gen(function* () {
            const rows = yield* sql<{ created_at: Date }>`
            INSERT INTO workspaces (id, name) VALUES (${id}, ${input.name}) RETURNING created_at`
            yield* sql`INSERT INTO credit_accounts (workspace_id, granted) VALUES (${id}, ${input.credits})`
            yield* sql`INSERT INTO api_keys (id, workspace_id, prefix, secret_sha256)
            VALUES (${keyId}, ${id}, ${secret.slice(0, 10)}, ${sha256(secret)})`
            return rows
          })
        )
        return {
          workspace: { id, name: input.name, createdAt: new Date(rows[0]!.created_at).toISOString() },
          apiKey: secret
        }
      }, Effect.orDie)

      const authenticate = Effect.fn("Workspaces.authenticate")(function* (secret: string) {
        const rows = yield* sql<{ id: string; workspace_id: string }>`
          UPDATE api_keys SET last_used_at = now()
          WHERE secret_sha256 = ${sha256(secret)} AND revoked_at IS NULL
          RETURNING id, workspace_id`
        const row = rows[0]
        return row === undefined ? Option.none() : Option.some({ workspaceId: row.workspace_id, keyId: row.id })
      }, Effect.orDie)

      const credits = Effect.fn("Workspaces.credits")(function* (workspaceId: string) {
        const rows = yield* sql<{ granted: string; held: string; captured: string }>`
          SELECT granted::text, held::text, captured::text FROM credit_accounts WHERE workspace_id = ${workspaceId}`
        const row = rows[0] ?? { granted: "0", held: "0", captured: "0" }
        const granted = Number(row.granted),
          held = Number(row.held),
          captured = Number(row.captured)
        return { balance: granted - held - captured, held, captured, granted }
      }, Effect.orDie)

      return Workspaces.of({ create, authenticate, credits })
    })
  )
}
