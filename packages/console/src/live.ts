/**
 * A run's live snapshots over `GET /api/enrichment/{id}/events` (Server-Sent Events), read with `fetch`
 * through the typed client — EventSource cannot send the Authorization header — and parsed by
 * `eventsource-parser`. Each `snapshot` event's data is the run's status body (`{ run }`); the stream
 * ends after the settled one. On a dropped stream the caller falls back to polling.
 */
import { EventSourceParserStream } from "eventsource-parser/stream"
import { api, problem, type Run, type RunBody } from "./api.ts"

export const followRun = async (
  id: string,
  onSnapshot: (run: Run) => void,
  signal: AbortSignal
): Promise<{ readonly ended: "settled" | "dropped"; readonly error?: string }> => {
  try {
    const { data, error, response } = await api.GET("/api/enrichment/{id}/events", {
      params: { path: { id } },
      parseAs: "stream",
      signal
    })
    if (data === undefined || data === null || !response.ok)
      return { ended: "dropped", error: problem(error, response) }
    const events = data.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())
    let settled = false
    for await (const event of events) {
      if (event.event !== "snapshot") continue
      const body = JSON.parse(event.data) as RunBody
      settled = body.run.timing.settledAt !== null
      onSnapshot(body.run)
    }
    return { ended: settled ? "settled" : "dropped" }
  } catch (cause) {
    if (signal.aborted) return { ended: "dropped" }
    return { ended: "dropped", error: cause instanceof Error ? cause.message : String(cause) }
  }
}
