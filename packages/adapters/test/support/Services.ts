/** The use cases on the Postgres stores, as the entry points compose them: what tests of the whole use the most. */
import { Layer } from "effect"
import { UseCasesLive } from "@enrich/application/UseCases"
import { Stores } from "../../src/Services.ts"

export const ServicesLive = UseCasesLive.pipe(Layer.provideMerge(Stores))
