/**
 * Events as they are stored: a type name (the `_tag`), a schema version and
 * JSON data. `versionedEvents` pairs an event union with the current version
 * of each type and the upcasters that lift older stored versions, one version
 * at a time (`Type@1` turns version-1 data into version-2 data, …), so history
 * written by any earlier release stays readable.
 */
import { Effect, Schema } from "effect"

export class UnknownEventVersion extends Schema.TaggedError<UnknownEventVersion>()("UnknownEventVersion", {
  type: Schema.String,
  /** as stored: not necessarily a valid version */
  version: Schema.Finite
}) {}

export type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>

export interface StoredEvent {
  readonly type: string
  readonly version: number
  readonly data: Record<string, unknown>
}

export const versionedEvents = <S extends Schema.Top & { readonly Type: { readonly _tag: string } }>(options: {
  readonly schema: S
  /** the current version of every event type */
  readonly versions: { readonly [K in S["Type"]["_tag"]]: number }
  /** `Type@version` → data of version+1 */
  readonly upcasters: { readonly [key: string]: Upcaster }
}) => {
  const decodeCurrent = Schema.decodeUnknownEffect(options.schema as unknown as Schema.Codec<S["Type"], unknown>)
  const versions = options.versions as Record<string, number | undefined>

  /** Reads a stored event of any known version as the current event. */
  const decode = (type: string, version: number, data: unknown) =>
    Effect.gen(function* () {
      const current = versions[type]
      if (current === undefined || !Number.isInteger(version) || version < 1 || version > current) {
        return yield* new UnknownEventVersion({ type, version })
      }
      let payload = { ...(data as Record<string, unknown>) }
      for (let v = version; v < current; v++) {
        const up = options.upcasters[`${type}@${v}`]
        if (up === undefined) return yield* new UnknownEventVersion({ type, version: v })
        payload = up(payload)
      }
      return yield* decodeCurrent({ ...payload, _tag: type })
    })

  /** The stored form of an event: type, current version and JSON data without the tag. */
  const encode = (event: S["Type"]): StoredEvent => {
    const { _tag, ...data } = event
    return { type: _tag, version: versions[_tag] ?? 1, data }
  }

  return { decode, encode }
}
