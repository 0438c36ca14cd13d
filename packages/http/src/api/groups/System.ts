/** Health, readiness and Prometheus metrics. */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "effect/http-api"
import { MetricsAuth } from "../Auth.ts"
import * as S from "../Schemas.ts"

export class SystemGroup extends HttpApiGroup.make("system", { topLevel: true }).add(
  HttpApiEndpoint.get("healthz", "/healthz", { success: S.Health }),
  HttpApiEndpoint.get("readyz", "/readyz", { success: [S.Ready, S.NotReady.pipe(HttpApiSchema.status(503))] }),
  HttpApiEndpoint.get("metrics", "/metrics", {
    success: Schema.String.pipe(HttpApiSchema.asText({ contentType: "text/plain; version=0.0.4" }))
  }).middleware(MetricsAuth)
) {}
