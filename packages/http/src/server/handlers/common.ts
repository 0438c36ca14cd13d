/** Error bodies shared by the handlers. */
import type { PlanRejected } from "@enrich/domain/runs/Planner"
import { apiError } from "../../api/Errors.ts"

export const notFound = (what: string) => apiError("NOT_FOUND", `${what} not found`)

export const planRejection = (e: PlanRejected) =>
  apiError(e.code, e.message, e.details === undefined ? undefined : { details: e.details })
