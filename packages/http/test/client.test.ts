/** The typed client, derived from the API definition, against a real server. */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { EnrichClient } from "../src/client.ts"
import { ADMIN_TOKEN, ApiOnlyTestServer, TestServer } from "./support/TestServer.ts"

layer(ApiOnlyTestServer, { timeout: 120_000, excludeTestServices: true })("Typed client (integration)", (it) => {
  it.effect("a_service_drives_the_api_through_the_typed_client_and_gets_typed_errors", () =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServer
      const { apiKey } = yield* Effect.gen(function* () {
        const admin = yield* EnrichClient
        return yield* admin.admin.createWorkspace({ payload: { name: "Typed", credits: 5 } })
      }).pipe(Effect.provide(EnrichClient.layer({ baseUrl, adminToken: ADMIN_TOKEN })))

      yield* Effect.gen(function* () {
        const enrich = yield* EnrichClient
        const { enrichments } = yield* enrich.enrichments.catalog({ query: { id: "email_validation" } })
        assert.strictEqual(enrichments[0]!.costModel.creditAction, "EMAIL_VALIDATION")
        // the query is the options of a CSV import: empty with a JSON body
        const imported = yield* enrich.lists.import({
          payload: { leads: [{ type: "person", email: "typed@corp.example" }] },
          query: {}
        })
        assert.ok("leadIds" in imported)
        const leadIds = "leadIds" in imported ? imported.leadIds : []
        const dispatched = yield* enrich.enrichments.dispatch({
          payload: { enrichmentId: "email_validation", scope: { type: "explicit_leads", leadIds } },
          headers: {}
        })
        assert.strictEqual(dispatched.leadCount, 1)
        const runId = dispatched.runId as string
        const { run } = yield* enrich.enrichments.status({ params: { id: runId } })
        assert.strictEqual(run.scope.resolvedCount, 1)
        const missing = yield* Effect.flip(enrich.enrichments.status({ params: { id: "no-such-run" } }))
        assert.strictEqual((missing as { readonly code?: string }).code, "NOT_FOUND")
        const rejected = yield* Effect.flip(
          enrich.enrichments.dispatch({
            payload: { enrichmentId: "nope", scope: { type: "explicit_leads", leadIds } },
            headers: {}
          })
        )
        assert.strictEqual((rejected as { readonly code?: string }).code, "ENRICHMENT_NOT_FOUND")
      }).pipe(Effect.provide(EnrichClient.layer({ baseUrl, apiKey })))
    })
  )
})
