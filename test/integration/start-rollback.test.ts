import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { startTestPlatform } from '../helpers/platform.js'

/**
 * A start that fails half-way (here the HTTP port is taken, the last stage to open) stops what the
 * stages before it had started: the store, the journals, the broker and its MQTT listeners, the
 * rules' timers. Nothing is left holding a port or a timer.
 */
const kinds = () => process.getActiveResourcesInfo().filter((k) => k !== 'TTYWrap')
const count = (list: string[]) => list.reduce<Record<string, number>>((m, k) => ((m[k] = (m[k] ?? 0) + 1), m), {})

describe('a failed start', () => {
  it('undoes its earlier stages and passes the error on', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as { port: number }).port
    const before = count(kinds())
    await expect(startTestPlatform({ httpPort: port })).rejects.toMatchObject({ code: 'EADDRINUSE' })
    // closing handles takes a turn of the event loop or two
    await new Promise((r) => setImmediate(r))
    await new Promise((r) => setImmediate(r))
    const after = count(kinds())
    // nothing more of any kind than before (a timer of the test runner's may have ended meanwhile)
    const added = Object.entries(after).filter(([k, n]) => n > (before[k] ?? 0))
    expect(added).toEqual([])
    await new Promise<void>((resolve) => taken.close(() => resolve()))
  })
})
