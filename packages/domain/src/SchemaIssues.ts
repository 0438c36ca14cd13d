/**
 * A Schema failure as the `{ path, message }` issues every client-facing error
 * names (`filter.where[1].op`, `input.min_likelihood`): paths rendered under a
 * prefix, array indices in brackets.
 */
import { SchemaIssue } from "effect"

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

export interface PathIssue {
  readonly path: string
  readonly message: string
}

/** The issues of a Schema failure, each path rendered under `prefix`. */
export const pathIssues = (issue: SchemaIssue.Issue, prefix: string): Array<PathIssue> =>
  formatter(issue).issues.map((i) => ({
    path: [prefix, ...(i.path ?? []).map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))].join(""),
    message: i.message
  }))
