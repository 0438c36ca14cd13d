/**
 * An Enrichment is a typed catalog contract: what it reads, what it writes,
 * what it costs. The catalog itself (which enrichments exist) lives in the
 * adapters; the rules that use a contract live here.
 */
import { Schema } from "effect"

export const Subject = Schema.Literals(["person", "company"])
export type Subject = typeof Subject.Type

export const OutputTarget = Schema.Literals(["lead_attribute", "membership_attribute"])
export type OutputTarget = typeof OutputTarget.Type

export const ChargeOn = Schema.Literals(["dispatch", "completed", "found"])
export type ChargeOn = typeof ChargeOn.Type

export const AttributeKey = Schema.String.check(Schema.isPattern(/^[a-z][a-z0-9_]{0,63}$/))

export const CostModel = Schema.Struct({
  creditAction: Schema.String,
  unitCost: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  chargeOn: ChargeOn
})
export type CostModel = typeof CostModel.Type

export const ToolBinding = Schema.Struct({
  type: Schema.Literals(["builtin", "http", "waterfall"]),
  taskId: Schema.String
})

export const EnrichmentContract = Schema.Struct({
  id: Schema.String,
  slug: Schema.String,
  name: Schema.String,
  description: Schema.String,
  subject: Subject,
  version: Schema.Int,
  enabled: Schema.Boolean,
  visibility: Schema.Literals(["public", "hidden", "internal"]),
  reads: Schema.Array(Schema.String),
  inputSchema: Schema.Unknown,
  outputSchema: Schema.Unknown,
  defaultOutput: Schema.Struct({ target: OutputTarget, attributeKey: Schema.String }),
  defaultOutputAttributeKey: Schema.String,
  outputOverridePolicy: Schema.Struct({ targets: Schema.Array(OutputTarget), attributeKey: Schema.Boolean }),
  costModel: CostModel,
  toolBinding: ToolBinding
})
export type EnrichmentContract = typeof EnrichmentContract.Type

/** Public discovery leaves hidden and internal enrichments out, and so does dispatch. */
export const isDiscoverable = (contract: EnrichmentContract): boolean =>
  contract.enabled && contract.visibility === "public"

/** `q` matches slug, name or description, case-insensitively. */
export const matchesQuery = (contract: EnrichmentContract, q: string): boolean => {
  const needle = q.toLowerCase()
  return [contract.slug, contract.name, contract.description].some((text) => text.toLowerCase().includes(needle))
}
