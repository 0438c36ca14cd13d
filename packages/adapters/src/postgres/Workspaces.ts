/**
 * Workspaces and their API keys (secret shown once, stored as a SHA-256 hash
 * and looked up by it). The opening credit grant goes through the CreditLedger.
 */
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { createHash, randomBytes } from "node:crypto"
import { uuidv7 } from "../Ids.ts"
import { CreditLedger } from "@enrich/domain/ports/CreditLedger"

export interface Workspace {
  readonly id: string
  readonly name: string
  readonly createdAt: string
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

      const authenticate = Effect.fn("Workspaces.authenticate")(function* (secret: string) {
        const rows = yield* sql<{ id: string; workspace_id: string }>`
          UPDATE api_keys SET last_used_at = now()
          WHERE secret_sha256 = ${sha256(secret)} AND revoked_at IS NULL
          RETURNING id, workspace_id`
        const row = rows[0]
        return row === undefined ? Option.none() : Option.some({ workspaceId: row.workspace_id, keyId: row.id })
      }, Effect.orDie)

      return Workspaces.of({ create, authenticate })
    })
  )
}
