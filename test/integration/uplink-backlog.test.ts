import { createServer } from 'node:net'
import { Aedes } from 'aedes'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/influxdb.js'
import { Uplink, UPLINK_DEFAULTS } from '../../infra/uplink/uplink.js'
import { MINEWATCH_MAPPING } from '../../ingest/uplink/mapping.js'
import { eventually } from '../helpers/eventually.js'
import { memoryLog, openJournal, reading, tempDir } from '../helpers/journal.js'

/**
 * The uplink's backlog bound (docs/uplink.md, MINEWATCH_UPLINK_MAX_BACKLOG_MB): with the upstream
 * unreachable for good, the journal keeps no more than the bound for it, on a real journal.
 */
const dirs: { remove(): void }[] = []
afterEach(() => dirs.splice(0).forEach((d) => d.remove()))

describe('the uplink backlog bound', () => {
  it('lets the journal go past the bound while the line is down, and counts and logs what was given up when it is back', async () => {
    const d = tempDir()
    dirs.push(d)
    const port = await freePort()
    const journal = await openJournal(d.dir, { segmentBytes: 1024 }, memoryLog(), {}, { uplink: 0 })
    const log = memoryLog()
    // nothing listens on the port yet: the line is down
    const uplink = new Uplink(
      { ...UPLINK_DEFAULTS, url: `mqtt://127.0.0.1:${port}`, username: 'u', password: 'p', mapping: MINEWATCH_MAPPING, maxBacklogBytes: 4096, maxBackoffMs: 300 },
      { journal, dir: `${d.dir}/uplink`, log, now: Date.now, timeZoneOf: () => 'Asia/Shanghai', forwards: () => true },
      0,
    )
    await uplink.start()
    let end = 0
    for (let i = 0; i < 200; i++) end = await journal.append([reading(i)])
    // the store has everything: only the uplink's floor holds segments
    journal.confirm(end, 200)
    await eventually(async () => journal.start > 0)
    expect(end - journal.start).toBeLessThanOrEqual(4096 + 1024)
    expect(uplink.status()).toMatchObject({ connected: false, backlogBytes: end })
    // the line comes back (a plain aedes upstream): what the journal let go is given up, counted and
    // logged; the rest goes, oldest first
    const broker = await Aedes.createBroker()
    const server = createServer(broker.handle)
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    const received: number[] = []
    broker.on('publish', (packet) => {
      if (packet.topic.endsWith('/telemetry')) for (const r of JSON.parse(packet.payload.toString()) as { ts: number }[]) received.push(r.ts)
    })
    try {
      await eventually(async () => uplink.status().backlogBytes === 0, 15_000)
      const status = uplink.status()
      expect(status.droppedBytes).toBeGreaterThan(0)
      expect(status.droppedBytes).toBeLessThan(end)
      expect(log.lines.some((l) => /not sent upstream/.test(l.msg))).toBe(true)
      // the newest readings arrived, the oldest were given up, in order
      expect(received.at(-1)).toBe(reading(199).ts)
      expect(received[0]).toBeGreaterThan(reading(0).ts)
      expect(received).toEqual([...received].sort((a, b) => a - b))
      expect(status.sentReadings).toBe(received.length)
    } finally {
      await uplink.stop()
      await journal.close()
      await new Promise<void>((resolve) => server.close(() => broker.close(() => resolve())))
    }
  })
})
