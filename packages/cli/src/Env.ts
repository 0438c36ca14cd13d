/**
 * Where the CLI talks to: `ENRICH_API_URL` (default http://127.0.0.1:8787), `ENRICH_API_KEY`
 * (the workspace commands), `ENRICH_ADMIN_TOKEN` (the operator commands), `DATABASE_URL`
 * (`audit`, `replay`, `migrate`), and shared flag parsers.
 */
import { Config, Context, Effect, Layer, Option } from "effect"
import { Flag } from "effect/cli"
import type { EnrichClient } from "@enrich/http/client"
import { errorBody, fail, fromClientError } from "./Output.ts"

export interface Settings {
  readonly baseUrl: string
  readonly apiKey: string | undefined
  readonly adminToken: string | undefined
}

export class CliSettings extends Context.Service<CliSettings, Settings>()("@enrich/cli/CliSettings") {
  static readonly layer = Layer.effect(
    CliSettings,
    Effect.gen(function* () {
      const nonEmpty = (name: string) =>
        Config.option(Config.String(name)).pipe(
          Config.map((o) => Option.getOrUndefined(Option.filter(o, (s) => s !== "")))
        )
      const baseUrl = yield* Config.String("ENRICH_API_URL").pipe(Config.withDefault("http://127.0.0.1:8787"))
      return CliSettings.of({
        baseUrl: baseUrl.replace(/\/+$/, ""),
        apiKey: yield* nonEmpty("ENRICH_API_KEY"),
        adminToken: yield* nonEmpty("ENRICH_ADMIN_TOKEN")
      })
    }).pipe(Effect.orDie)
  )
}

type Client = EnrichClient["Service"]

const withClient = <A, E>(
  need: "apiKey" | "adminToken",
  f: (client: Client, settings: Settings) => Effect.Effect<A, E>
) =>
  Effect.gen(function* () {
    const settings = yield* CliSettings
    if (settings[need] === undefined) {
      const variable = need === "apiKey" ? "ENRICH_API_KEY" : "ENRICH_ADMIN_TOKEN"
      return yield* fail(errorBody("UNAUTHORIZED", `${variable} is not set`), 401)
    }
    // loaded on use: the API definition is most of the CLI's start-up time
    const { EnrichClient } = yield* Effect.promise(() => import("@enrich/http/client"))
    return yield* Effect.gen(function* () {
      const client = yield* EnrichClient
      return yield* f(client, settings)
    }).pipe(
      Effect.provide(EnrichClient.layer(settings)),
      Effect.catch((error) => fromClientError(error))
    )
  })

/** Calls the workspace API (`ENRICH_API_KEY`); its errors become the API's error JSON and exit codes. */
export const api = <A, E>(f: (client: Client, settings: Settings) => Effect.Effect<A, E>) => withClient("apiKey", f)

/** Calls the admin API (`ENRICH_ADMIN_TOKEN`). */
export const admin = <A, E>(f: (client: Client, settings: Settings) => Effect.Effect<A, E>) =>
  withClient("adminToken", f)

// --- flags -----------------------------------------------------------------------

/** A flag whose value is one JSON argument (`--scope '{"type":"list","listId":"…"}'`). */
export const jsonFlag = (name: string, description: string) =>
  Flag.String(name).pipe(
    Flag.mapTryCatch(
      (text): unknown => JSON.parse(text),
      (error) => `--${name} must be JSON: ${error instanceof Error ? error.message : String(error)}`
    ),
    Flag.withDescription(description),
    Flag.optional
  )

export const textFlag = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.optional)

export const intFlag = (name: string, description: string) =>
  Flag.Int(name).pipe(Flag.withDescription(description), Flag.optional)

/** Ids as a JSON array or comma-separated. */
export const idsFlag = (name: string, description: string) =>
  Flag.String(name).pipe(
    Flag.mapTryCatch(
      (text): ReadonlyArray<string> => {
        const trimmed = text.trim()
        if (trimmed.startsWith("[")) return JSON.parse(trimmed) as ReadonlyArray<string>
        return trimmed
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "")
      },
      (error) => `--${name} must be a JSON array or comma-separated ids: ${String(error)}`
    ),
    Flag.withDescription(description),
    Flag.optional
  )

export const limitFlag = intFlag("limit", "Page size")
export const cursorFlag = textFlag("cursor", "Position to page from (the previous page's nextCursor)")

/** An object of the given fields whose value is Some (kebab-case flags → camelCase body fields). */
export const fields = (entries: Record<string, Option.Option<unknown>>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(entries)) {
    if (Option.isSome(value)) out[key] = value.value
  }
  return out
}

/** A body built from flags, handed to the typed client, which validates it against the API schema. */
export const body = <T>(value: unknown): T => value as T
