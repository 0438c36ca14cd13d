/** The workspace's credits: totals, the ledger of movements, and cost previews. */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { Id } from "@enrich/domain/ClientText"
import { ApiKeyAuth } from "../Auth.ts"
import { DeclaredOnly } from "../DeclaredOnly.ts"
import * as Errors from "../Errors.ts"
import * as S from "../Schemas.ts"
import * as C from "../schemas/Credits.ts"

export class CreditsGroup extends HttpApiGroup.make("credits")
  .add(
    HttpApiEndpoint.get("balance", "/credits", {
      success: C.CreditBalance,
      error: Errors.BadRequest
    }),
    HttpApiEndpoint.get("ledger", "/credits/ledger", {
      query: {
        limit: S.Limit(100),
        cursor: Schema.optionalKey(Id)
      },
      success: C.LedgerPage,
      error: Errors.BadRequest
    }),
    HttpApiEndpoint.post("preview", "/credits/preview", {
      payload: C.CreditPreviewBody,
      success: C.CreditPreview,
      error: Errors.BadRequest
    })
  )
  // before the auth middleware, so auth runs first (see DeclaredOnly.ts)
  .middleware(DeclaredOnly)
  .middleware(ApiKeyAuth)
  .prefix("/api") {}
