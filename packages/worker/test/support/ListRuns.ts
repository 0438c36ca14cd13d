/** A workspace of `leads` person Leads with a work email each, and a run dispatched over its `all` List. */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { Workspaces } from "@enrich/adapters/postgres/Workspaces"
import { DispatchRun } from "@enrich/application/runs/DispatchRun"
import { dispatchRequest } from "@enrich/adapters/testing/DispatchRequests"

/** Leads `<workspace>-1` … `<workspace>-<count>`, each with the email `p<n>@corp.example`. */
export const insertLeads = (workspaceId: string, count: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO leads (id, workspace_id, type, contacts)
      SELECT ${workspaceId} || '-' || g, ${workspaceId}, 'person',
             jsonb_build_array(jsonb_build_object('type', 'email', 'value', 'p' || g || '@corp.example'))
      FROM generate_series(1, ${count}) g`
  })

/**
 * A workspace (credits: one per Lead unless given), its Leads, and a run over all of them (the default
 * enrichment, email validation); `before` runs between the Leads and the dispatch.
 */
export const listRun = (
  name: string,
  leads: number,
  options: {
    readonly credits?: number
    readonly before?: (workspaceId: string) => Effect.Effect<void, unknown, SqlClient.SqlClient>
  } = {}
) =>
  Effect.gen(function* () {
    const { workspace } = yield* (yield* Workspaces).create({ name, credits: options.credits ?? leads })
    yield* insertLeads(workspace.id, leads)
    if (options.before !== undefined) yield* options.before(workspace.id)
    const dispatched = yield* (yield* DispatchRun).dispatch(
      workspace.id,
      dispatchRequest({ scope: { type: "list", listId: "all" } })
    )
    assert.strictEqual(dispatched._tag, "Accepted")
    const runId = dispatched._tag === "Accepted" ? dispatched.runId : ""
    return { workspace, runId, run: { runId, workspaceId: workspace.id } }
  })
