/** Request and response bodies: the single source of validation and of the OpenAPI document. */
import { Schema } from "effect"
import { AttributeKey, EnrichmentContract, OutputTarget } from "@enrich/domain/catalog/Enrichment"
import { Id, JsonObject, TextUpTo } from "@enrich/domain/ClientText"
import { LeadInput } from "@enrich/domain/leads/Lead"
import { toUtcTimestamp } from "@enrich/domain/leads/LeadFilter"
import { Scope } from "@enrich/domain/runs/Scope"
import { Freshness } from "@enrich/domain/runs/Freshness"

const IsoDate = Schema.String
const Nullable = <S extends Schema.Top>(s: S) => Schema.NullOr(s)

/** `limit` query parameters: integers in [min, max]. */
export const Limit = (max: number) =>
  Schema.optionalKey(Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: max })))

/** 1..255 characters, in the body or the `Idempotency-Key` header. */
export const IdempotencyKey = TextUpTo(255).check(Schema.isMinLength(1))

// --- admin -------------------------------------------------------------------

export const CreateWorkspace = Schema.Struct({
  name: TextUpTo(200).check(Schema.isMinLength(1)),
  credits: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThanOrEqualTo(1_000_000_000_000))
  )
})
export const Workspace = Schema.Struct({ id: Schema.String, name: Schema.String, createdAt: IsoDate })
export const WorkspaceCreated = Schema.Struct({ workspace: Workspace, apiKey: Schema.String })
export const WorkspacesPage = Schema.Struct({
  workspaces: Schema.Array(Workspace),
  nextCursor: Nullable(Schema.String),
  hasMore: Schema.Boolean
})

// --- leads and lists ---------------------------------------------------------

export const Lead = Schema.Struct({
  id: Schema.String,
  type: Schema.Literals(["person", "company"]),
  name: Schema.Struct({
    full: Schema.optionalKey(Schema.String),
    first: Schema.optionalKey(Schema.String),
    last: Schema.optionalKey(Schema.String)
  }),
  title: Nullable(Schema.String),
  email: Nullable(Schema.String),
  domain: Nullable(Schema.String),
  linkedinUrl: Nullable(Schema.String),
  company: Schema.Struct({ name: Schema.optionalKey(Schema.String), domain: Schema.optionalKey(Schema.String) }),
  location: Schema.Struct({
    city: Schema.optionalKey(Schema.String),
    state: Schema.optionalKey(Schema.String),
    country: Schema.optionalKey(Schema.String)
  }),
  industry: Nullable(Schema.String),
  size: Nullable(Schema.String),
  contacts: Schema.Array(
    Schema.Struct({ type: Schema.optionalKey(Schema.Literals(["email", "phone"])), value: Schema.String })
  ),
  socials: Schema.Array(Schema.Struct({ url: Schema.String })),
  attributes: Schema.Record(Schema.String, Schema.Unknown),
  lists: Schema.Array(Schema.String),
  createdAt: IsoDate,
  updatedAt: IsoDate
})

export const LeadInList = Schema.Struct({
  ...Lead.fields,
  membership: Nullable(Schema.Struct({ id: Schema.String, attributes: Schema.Unknown }))
})

export const ListLeadType = Schema.Literals(["person", "company", "mixed"])

export const CreateList = Schema.Struct({
  name: Schema.optionalKey(TextUpTo(200).check(Schema.isMinLength(1))),
  description: Schema.optionalKey(TextUpTo(2000)),
  leadType: Schema.optionalKey(ListLeadType),
  leadIds: Schema.optionalKey(Schema.Array(Id).check(Schema.isMaxLength(10_000), Schema.isUnique()))
})
export const List = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  description: Nullable(Schema.String),
  leadType: ListLeadType,
  protected: Schema.Boolean,
  leadCount: Schema.Int,
  createdAt: IsoDate,
  updatedAt: IsoDate
})

export const ImportLeads = Schema.Struct({
  leads: Schema.Array(LeadInput).check(Schema.isMinLength(1), Schema.isMaxLength(5000)),
  listId: Schema.optionalKey(Id),
  preview: Schema.optionalKey(Schema.Boolean)
})
/** What a CSV import adds to the JSON import's answer: the rows read, the mapping, the rows not imported. */
const CsvReport = {
  /** data rows read (blank rows are skipped) */
  rows: Schema.optionalKey(Schema.Int),
  /** each column of the header, in order: the Lead field it fills, or null and why not */
  mapping: Schema.optionalKey(
    Schema.Array(
      Schema.Struct({
        column: Schema.String,
        field: Nullable(Schema.String),
        reason: Schema.optionalKey(Schema.Literals(["unknown", "duplicate", "skipped", "empty"]))
      })
    )
  ),
  /** the columns not imported (not mapped, or a second column for the same field) */
  unmapped: Schema.optionalKey(Schema.Array(Schema.String)),
  /** the rows that are not valid Leads: row 1 is the first after the header */
  rejected: Schema.optionalKey(
    Schema.Array(
      Schema.Struct({
        row: Schema.Int,
        reasons: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String }))
      })
    )
  )
}
export const ImportResult = Schema.Struct({
  created: Schema.Int,
  matched: Schema.Int,
  /** one per imported row, in order (a CSV import: the rows that are not `rejected`) */
  leadIds: Schema.Array(Schema.String),
  ...CsvReport
})
export const ImportPreview = Schema.Struct({
  preview: Schema.Struct({ leadCount: Schema.Int, personCount: Schema.Int, companyCount: Schema.Int }),
  /** a CSV preview: the first valid rows (at most 5) as the Leads they would import, by row number */
  sample: Schema.optionalKey(Schema.Array(Schema.Struct({ row: Schema.Int, lead: LeadInput }))),
  ...CsvReport
})
const truth = Schema.Literals(["true", "false"])
/** The query of a CSV import (`Content-Type: text/csv`): what a JSON import's body carries, and the mapping. */
export const CsvImportQuery = {
  listId: Schema.optionalKey(Id.annotate({ description: "Add the Leads to this List" })),
  type: Schema.optionalKey(
    Schema.Literals(["person", "company"]).annotate({
      description: "The type of every row without a type column value (default: inferred per row)"
    })
  ),
  map: Schema.optionalKey(
    Schema.Array(TextUpTo(1000)).check(Schema.isMaxLength(2000)).annotate({
      description:
        "COLUMN=FIELD overrides, repeated: a column to a Lead field (Mail=email, Score=attributes.score); COLUMN=- skips it"
    })
  ),
  delimiter: Schema.optionalKey(
    Schema.Literals([",", ";", "tab"]).annotate({ description: "Default: detected from the header line" })
  ),
  strict: Schema.optionalKey(truth.annotate({ description: "true: refuse the CSV when a column is not mapped" })),
  preview: Schema.optionalKey(truth.annotate({ description: "true: check and count, write nothing" }))
}
export type CsvImportQuery = Schema.Struct.Type<typeof CsvImportQuery>

export const ListLeadsPage = Schema.Struct({
  leads: Schema.Array(LeadInList),
  total: Schema.Int,
  hasMore: Schema.Boolean,
  nextCursor: Nullable(Schema.String)
})

// --- enrichments ---------------------------------------------------------------

export const EnrichmentCatalog = Schema.Struct({ enrichments: Schema.Array(EnrichmentContract) })

export const DispatchBody = Schema.Struct({
  enrichmentId: Id,
  scope: Scope,
  mode: Schema.optionalKey(Schema.Literals(["persisted", "preview"])),
  input: Schema.optionalKey(JsonObject),
  output: Schema.optionalKey(
    Schema.Struct({
      target: Schema.optionalKey(OutputTarget),
      attributeKey: Schema.optionalKey(AttributeKey)
    })
  ),
  writePolicy: Schema.optionalKey(Schema.Literals(["overwrite", "skip_existing"])),
  displayRequest: Schema.optionalKey(Schema.Struct({ fieldId: TextUpTo(200) })),
  idempotencyKey: Schema.optionalKey(IdempotencyKey),
  /**
   * Skip Leads that have a `completed` result of the same enrichment (slug and version) written to the same
   * place, at most `maxAgeDays` old: their items are `skipped` (`fresh_result`) and not charged. 0 runs everything.
   */
  freshness: Schema.optionalKey(Freshness)
})

/** `POST /api/enrichment/{id}/retry`: persisted (the default) or a preview of the count and the cost. */
export const RetryBody = Schema.Struct({
  mode: Schema.optionalKey(Schema.Literals(["persisted", "preview"]))
})

const dispatchFields = {
  enrichmentRunId: Schema.String,
  runId: Schema.String,
  status: Schema.String,
  leadCount: Schema.Int,
  triggerRunId: Nullable(Schema.String)
}
export const DispatchCreated = Schema.Struct({ ...dispatchFields, reusedExistingRun: Schema.Literal(false) })
export const DispatchReused = Schema.Struct({ ...dispatchFields, reusedExistingRun: Schema.Literal(true) })
export const DispatchPreview = Schema.Struct({
  enrichmentRunId: Schema.Null,
  runId: Schema.Null,
  status: Schema.Literal("preview"),
  leadCount: Schema.Int,
  triggerRunId: Schema.Null,
  reusedExistingRun: Schema.Literal(false),
  /** with a freshness window: the Leads it would skip as `fresh_result` (left out of `cost.required`) */
  freshCount: Schema.optionalKey(Schema.Int),
  cost: Schema.Struct({
    creditAction: Schema.String,
    unitCost: Schema.Int,
    required: Schema.Int,
    balance: Schema.Int,
    sufficient: Schema.Boolean
  })
})

const Counts = Schema.Struct({
  pending: Schema.Int,
  running: Schema.Int,
  completed: Schema.Int,
  skipped: Schema.Int,
  failed: Schema.Int
})

export const Run = Schema.Struct({
  id: Schema.String,
  status: Schema.String,
  /** a retry: the run whose failed items it runs again */
  retryOf: Nullable(Schema.String),
  /** the retries of this run, oldest first */
  retries: Schema.Array(Schema.String),
  mode: Schema.String,
  enrichment: Schema.Struct({ id: Schema.String, slug: Schema.String, version: Schema.Int, snapshot: Schema.Unknown }),
  scope: Schema.Struct({
    type: Schema.String,
    listId: Nullable(Schema.String),
    requested: Schema.Unknown,
    resolvedCount: Schema.Int,
    counts: Counts
  }),
  output: Schema.Struct({
    target: Schema.String,
    attributeKey: Schema.String,
    writePolicy: Schema.String,
    persistResults: Schema.Boolean
  }),
  cost: Schema.Struct({
    preview: Schema.Unknown,
    actual: Schema.Struct({ reserved: Schema.Int, captured: Schema.Int, released: Schema.Int })
  }),
  trigger: Schema.Struct({
    correlationId: Schema.String,
    triggerRunId: Nullable(Schema.String),
    dispatchMetadata: Schema.Unknown
  }),
  error: Nullable(Schema.Struct({ message: Schema.String, details: Schema.Unknown })),
  timing: Schema.Struct({
    startedAt: Nullable(IsoDate),
    completedAt: Nullable(IsoDate),
    cancelledAt: Nullable(IsoDate),
    settledAt: Nullable(IsoDate),
    createdAt: IsoDate,
    updatedAt: IsoDate
  })
})
export const RunStatusBody = Schema.Struct({ run: Run })

export const RunStatus = Schema.Literals(["pending", "running", "completed", "failed", "cancelled"])

/**
 * An ISO-8601 timestamp with a time zone (`2026-11-28T10:00:00Z`): a real calendar date and time, in the
 * years 0001..9999 in UTC (what PostgreSQL reads); handlers pass on its UTC form (`toUtcTimestamp`).
 */
export const Timestamp = Schema.String.check(
  Schema.isPattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/),
  Schema.makeFilter<string>((s) => (toUtcTimestamp(s) === undefined ? "not a valid date" : undefined))
)

export const RunsPage = Schema.Struct({
  runs: Schema.Array(Run),
  nextCursor: Nullable(Schema.String),
  hasMore: Schema.Boolean
})

export const CancelledRun = Schema.Struct({
  run: Schema.Struct({ id: Schema.String, status: Schema.Literal("cancelled"), cancelledAt: IsoDate })
})

/** An operator ends a run now (`POST /admin/runs/{id}/fail`): why, kept as the run's error message. */
export const EndRunBody = Schema.Struct({ reason: TextUpTo(500).check(Schema.isMinLength(1)) })

export const ItemStatus = Schema.Literals(["pending", "running", "completed", "skipped", "failed"])

export const Item = Schema.Struct({
  id: Schema.String,
  runId: Schema.String,
  leadId: Schema.String,
  listId: Nullable(Schema.String),
  membershipId: Nullable(Schema.String),
  status: Schema.String,
  result: Schema.Unknown,
  skippedReason: Nullable(Schema.String),
  error: Nullable(Schema.Struct({ message: Schema.String, details: Schema.Unknown })),
  attempts: Schema.Int,
  metadata: Schema.Struct({
    inputSnapshot: Schema.Unknown,
    leadSnapshot: Schema.Unknown,
    result: Schema.Unknown,
    provider: Schema.Unknown,
    providerSubmissionId: Nullable(Schema.String)
  }),
  timing: Schema.Struct({
    startedAt: Nullable(IsoDate),
    completedAt: Nullable(IsoDate),
    createdAt: IsoDate,
    updatedAt: IsoDate
  })
})
export const ItemsPage = Schema.Struct({
  items: Schema.Array(Item),
  page: Schema.Struct({ limit: Schema.Int, nextCursor: Nullable(Schema.String), hasMore: Schema.Boolean })
})

// --- system -------------------------------------------------------------------

export const Health = Schema.Struct({ status: Schema.Literal("ok") })
export const Ready = Schema.Struct({
  status: Schema.Literal("ready"),
  database: Schema.Boolean,
  migrations: Schema.Boolean
})
export const NotReady = Schema.Struct({
  status: Schema.Literal("not_ready"),
  database: Schema.Boolean,
  migrations: Schema.Boolean
})
