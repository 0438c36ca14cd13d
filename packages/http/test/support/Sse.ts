/** Reading a run's live events (SSE) over a real socket, for tests. */

export interface SseEvent {
  readonly id: string | undefined
  readonly event: string | undefined
  readonly data: any
}

/**
 * Opens an SSE stream (resuming after `lastEventId` when given). `next()` resolves with the next event,
 * `undefined` once the server has ended the response, and fails when neither happens within `timeoutMs`
 * (a stream that never ends fails the test instead of hanging it); `rest()` reads every event until the end.
 * A refused stream (not 200) has its JSON error body in `error`, and no events.
 */
export const openEvents = async (url: string, key: string, lastEventId?: string) => {
  const controller = new AbortController()
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, accept: "text/event-stream" }
  if (lastEventId !== undefined) headers["last-event-id"] = lastEventId
  const response = await fetch(url, { headers, signal: controller.signal })
  const error: any = response.status === 200 ? undefined : await response.json()
  const reader = error === undefined ? response.body!.getReader() : undefined
  const decoder = new TextDecoder()
  let buffer = ""
  const read = async (): Promise<SseEvent | undefined> => {
    for (;;) {
      const end = buffer.indexOf("\n\n")
      if (end >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const fields = new Map<string, string>()
        for (const line of block.split("\n")) {
          const colon = line.indexOf(":")
          if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart())
        }
        if (!fields.has("data")) continue
        return { id: fields.get("id"), event: fields.get("event"), data: JSON.parse(fields.get("data")!) }
      }
      if (reader === undefined) return undefined
      const chunk = await reader.read()
      if (chunk.done) return undefined
      buffer += decoder.decode(chunk.value, { stream: true })
    }
  }
  const next = (timeoutMs = 10_000) => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort()
        reject(new Error(`the event stream neither sent an event nor ended within ${timeoutMs} ms`))
      }, timeoutMs)
    })
    return Promise.race([read(), timeout]).finally(() => clearTimeout(timer))
  }
  const rest = async () => {
    const events: Array<SseEvent> = []
    for (let event = await next(); event !== undefined; event = await next()) events.push(event)
    return events
  }
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    /** The answer's header `name`. */
    header: (name: string): string | null => response.headers.get(name),
    error,
    next,
    rest,
    /** Leaves the stream, as a client that goes away. */
    close: () => controller.abort()
  }
}
