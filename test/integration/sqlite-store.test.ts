import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { SqliteStore } from '../../infra/sqlite-store.js'
import { storeContract } from '../contract/store.contract.js'
import { alertStoreContract } from '../contract/alert-store.contract.js'

const dirs = new Map<SqliteStore, string>()

storeContract(
  'embedded SQLite',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-sqlite-'))
    const store = new SqliteStore(join(dir, 'minewatch.db'))
    dirs.set(store, dir)
    return store
  },
  async (store) => {
    await store.close()
    rmSync(dirs.get(store as SqliteStore)!, { recursive: true, force: true })
  },
)

it('keeps what it wrote across a reopen of the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'minewatch-sqlite-'))
  const file = join(dir, 'minewatch.db')
  const first = new SqliteStore(file)
  await first.write([{ mineId: 'm', deviceId: 'd', kind: 'rain', ts: 1_800_000_000_000, values: { rainfall: 2.5 } }])
  await first.close()
  const second = new SqliteStore(file)
  expect(await second.latest('d')).toEqual({ ts: 1_800_000_000_000, values: { rainfall: 2.5 } })
  await second.close()
  rmSync(dir, { recursive: true, force: true })
})

alertStoreContract('embedded SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'minewatch-sqlite-'))
  const store = new SqliteStore(join(dir, 'minewatch.db'))
  return {
    appendAlertEvents: (e) => store.appendAlertEvents(e),
    latestAlertEvents: (since) => store.latestAlertEvents(since),
    alertHistory: (id) => store.alertHistory(id),
    resolvedAlerts: (q) => store.resolvedAlerts(q),
    close: async () => {
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
})
