/** A tiny fetch-based client for tests that talk to a real server over a socket. */
export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

export const makeClient = (baseUrl: string) => {
  const call = async (
    method: string,
    path: string,
    options: {
      readonly key?: string | undefined
      readonly body?: unknown
      readonly raw?: string
      readonly headers?: Record<string, string>
    } = {}
  ): Promise<Reply> => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.key !== undefined) headers["authorization"] = `Bearer ${options.key}`
    let body: string | undefined
    if (options.raw !== undefined) body = options.raw
    else if (options.body !== undefined) body = JSON.stringify(options.body)
    if (body !== undefined) headers["content-type"] ??= "application/json"
    const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) })
    const text = await response.text()
    let parsed: unknown = text
    try {
      parsed = text === "" ? null : JSON.parse(text)
    } catch {
      // not JSON (for example /docs)
    }
    return { status: response.status, headers: response.headers, body: parsed }
  }
  return {
    baseUrl,
    get: (path: string, options?: Parameters<typeof call>[2]) => call("GET", path, options),
    post: (path: string, options?: Parameters<typeof call>[2]) => call("POST", path, options),
    patch: (path: string, options?: Parameters<typeof call>[2]) => call("PATCH", path, options),
    delete: (path: string, options?: Parameters<typeof call>[2]) => call("DELETE", path, options)
  }
}
export type TestClient = ReturnType<typeof makeClient>

/** Polls `check` until it returns a value, or fails after `timeoutMs`. */
export const eventually = async <A>(check: () => Promise<A | undefined>, timeoutMs = 30_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
