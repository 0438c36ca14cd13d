/**
 * The scale knob of heavy tests (`ENRICH_TEST_SCALE`, default 1): fuzz runs,
 * crash trials and large runs multiply their size by it, so `.ci/run` stays
 * fast on 2 cores and a full-scale run is one variable away.
 */
export const testScale = (): number => {
  const raw = Number(process.env["ENRICH_TEST_SCALE"] ?? "1")
  return Number.isFinite(raw) && raw > 0 ? raw : 1
}

export const scaled = (base: number): number => Math.max(1, Math.round(base * testScale()))
