import { EventStoreMemoryLive } from "../../src/memory/EventStoreMemory.ts"
import { eventStoreConformance } from "../support/EventStoreConformance.ts"

eventStoreConformance("In-memory event store", EventStoreMemoryLive)
