/** The OpenAPI document: valid OpenAPI 3.1, and every route of the API is in it. */
import { assert, layer } from "@effect/vitest"
import { Validator } from "@seriousme/openapi-schema-validator"
import { Effect } from "effect"
import { HttpApi } from "effect/http-api"
import { EnrichApi } from "../src/api/Api.ts"
import { ApiOnlyTestServer, TestServer } from "./support/TestServer.ts"

/** Every (method, path) the API defines, with `:id` written `{id}` as OpenAPI does. */
const definedRoutes = () => {
  const routes: Array<string> = []
  HttpApi.reflect(EnrichApi, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) =>
      routes.push(`${endpoint.method.toLowerCase()} ${endpoint.path.replace(/:(\w+)/g, "{$1}")}`)
  })
  return routes
}

layer(ApiOnlyTestServer, { timeout: 120_000, excludeTestServices: true })("OpenAPI document (integration)", (it) => {
  it.effect("the_served_document_validates_as_openapi_3_1_and_lists_every_route_with_its_errors", () =>
    Effect.gen(function* () {
      const api = yield* TestServer
      const reply = yield* Effect.promise(() => api.get("/openapi.json"))
      assert.strictEqual(reply.status, 200)
      const document = reply.body
      assert.match(document.openapi, /^3\.1\./)
      const validator = new Validator()
      const result = yield* Effect.promise(() => validator.validate(document))
      assert.isTrue(result.valid, JSON.stringify(result.errors, null, 2)?.slice(0, 2000))

      const documented = new Set(
        Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, operations]) =>
          Object.keys(operations).map((method) => `${method} ${path}`)
        )
      )
      const routes = definedRoutes()
      assert.isAbove(routes.length, 10)
      for (const route of routes) assert.isTrue(documented.has(route), `${route} is missing from /openapi.json`)

      const dispatch = document.paths["/api/enrichment"].post
      for (const status of ["200", "202", "400", "401", "402", "403", "409", "422", "429", "502"]) {
        assert.property(dispatch.responses, status, `POST /api/enrichment documents ${status}`)
      }
      assert.property(document.components.securitySchemes, "bearer")

      // the import takes JSON or a CSV stream; the CSV's options are its query
      const importOp = document.paths["/api/lists/import"].post
      assert.deepStrictEqual(Object.keys(importOp.requestBody.content).sort(), ["application/json", "text/csv"])
      assert.deepStrictEqual(
        importOp.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`),
        ["query:listId", "query:type", "query:map", "query:delimiter", "query:strict", "query:preview"]
      )
      for (const status of ["200", "400", "401", "413"]) assert.property(importOp.responses, status)
      assert.include(importOp.description, "text/csv")
    })
  )
})
