/**
 * Idempotent dispatch: the same key with the same request returns the original
 * run; the same key with a different request is refused. The fingerprint is
 * taken over the decoded request with defaults applied, minus the key itself,
 * in a canonical form (object keys sorted) so field order does not matter.
 */
export const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`
  }
  return JSON.stringify(value)
}

/** The text whose hash is the request fingerprint. */
export const fingerprintSource = (
  request: { readonly idempotencyKey?: string | undefined } & Record<string, unknown>
) => {
  const { idempotencyKey: _ignored, ...rest } = request
  return canonicalJson(rest)
}

export type IdempotencyVerdict =
  | { readonly _tag: "New" }
  | { readonly _tag: "Replay"; readonly runId: string }
  | { readonly _tag: "KeyReused" }

/** What a stored key means for this request. */
export const judgeKey = (
  stored: { readonly fingerprint: string; readonly runId: string } | undefined,
  fingerprint: string
): IdempotencyVerdict =>
  stored === undefined
    ? { _tag: "New" }
    : stored.fingerprint === fingerprint
      ? { _tag: "Replay", runId: stored.runId }
      : { _tag: "KeyReused" }
