/** Health and readiness. */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "effect/http-api"
import * as S from "../Schemas.ts"

export class SystemGroup extends HttpApiGroup.make("system", { topLevel: true }).add(
  HttpApiEndpoint.get("healthz", "/healthz", { success: S.Health }),
  HttpApiEndpoint.get("readyz", "/readyz", { success: [S.Readiness, S.Readiness.pipe(HttpApiSchema.status(503))] })
) {}
