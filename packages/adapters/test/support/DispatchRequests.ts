/** A dispatch request as tests write them: `email_validation`, persisted, overwrite, no key — unless said otherwise. */
import type { DispatchRequest } from "@enrich/application/runs/DispatchRun"

export const dispatchRequest = (
  request: Pick<DispatchRequest, "scope"> & Partial<Omit<DispatchRequest, "scope">>
): DispatchRequest => ({
  enrichmentId: "email_validation",
  mode: "persisted",
  input: {},
  output: undefined,
  writePolicy: "overwrite",
  displayRequest: undefined,
  idempotencyKey: undefined,
  ...request
})
