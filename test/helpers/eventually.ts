/** Polls `check` until it stops throwing (or returns truthy), for results that arrive asynchronously. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const value = await check()
      if (value !== false && value !== undefined && value !== null) return value
      if (Date.now() > deadline) throw new Error(`condition still false after ${timeoutMs} ms`)
    } catch (err) {
      if (Date.now() > deadline) throw err
    }
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
