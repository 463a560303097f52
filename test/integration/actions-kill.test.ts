import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, describe, expect, it } from 'vitest'
import { eventually } from '../helpers/eventually.js'
import { runPlatform, testEnv, type PlatformProcess } from '../helpers/process.js'

/**
 * What a person did and the platform confirmed survives a kill -9 (README, "Warnings"): 签收, 指派
 * and 处置完成 are answered only once their event is fsynced in the journal. Each step is sent for
 * three warnings at once, and the process is killed the moment the first answer arrives: an
 * answer given before the write (as once) loses the step in most such crashes.
 */
const ADMIN = 'actions-kill-admin-token'
const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

/** Three devices of the demo site and a reading of each far past its red threshold. */
const BREACHES = [
  { id: 'yt-piezo-zk03', values: { depth: 3.5 } },
  { id: 'yt-reservoir-01', values: { level: 100.2 } },
  { id: 'yt-beach-01', values: { length: 60, freeboard: 1.8 } },
]

async function api(port: number, path: string, body?: object): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  return { status: res.status, json: await res.json() }
}

async function start(env: Record<string, string>): Promise<{ p: PlatformProcess; http: number; mqtt: number }> {
  const p = runPlatform(env)
  const ports = await p.started()
  return { p, http: ports.http, mqtt: ports.mqtt }
}

/** Sends one step for every warning at once and kills the process at the first answer; returns the ids answered 200. */
async function stepThenKill(run: { p: PlatformProcess; http: number }, ids: readonly string[], step: string, body: object): Promise<string[]> {
  const confirmed: string[] = []
  let killed = false
  await Promise.allSettled(
    ids.map(async (id) => {
      const res = await api(run.http, `/api/alerts/${id}/${step}`, body)
      if (res.status === 200) confirmed.push(id)
      if (!killed) {
        killed = true
        run.p.child.kill('SIGKILL')
      }
    }),
  )
  await run.p.exited
  return confirmed
}

describe('a confirmed action survives kill -9', () => {
  it('签收, 指派 and 处置完成 answered 200 are all there after a crash right after the answer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-actions-'))
    dirs.push(dir)
    const env = testEnv(dir, { MINEWATCH_ADMIN_TOKEN: ADMIN })
    let run = await start(env)
    const now = Date.now()
    for (const b of BREACHES) {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${run.mqtt}`, { username: b.id, password: `${b.id}-demo`, reconnectPeriod: 0 })
      await c.publishAsync(`mines/yt-jinshan/devices/${b.id}/telemetry`, JSON.stringify({ ts: now, values: b.values }), { qos: 1 })
      await c.endAsync()
    }
    let ids: string[] = []
    await eventually(async () => {
      const open = (await api(run.http, '/api/alerts?mine=yt-jinshan&level=red')).json.alerts as { id: string }[]
      ids = open.map((a) => a.id)
      return ids.length === BREACHES.length
    }, 20_000)

    const steps = [
      { step: 'acknowledge', body: {}, state: 'acknowledged' },
      { step: 'assign', body: { to: '坝体巡查组 李工' }, state: 'assigned' },
      { step: 'resolve', body: { note: '现场核查, 已降低库水位' }, state: 'resolved' },
    ]
    for (const s of steps) {
      const confirmed = await stepThenKill(run, ids, s.step, s.body)
      expect(confirmed.length, `${s.step}: at least one answer came before the kill`).toBeGreaterThan(0)
      run = await start(env)
      const all = (await api(run.http, '/api/alerts?mine=yt-jinshan&state=all')).json.alerts as { id: string; state: string }[]
      const stateOf = new Map(all.map((a) => [a.id, a.state]))
      for (const id of confirmed) expect(stateOf.get(id), `${s.step} of ${id} was answered 200`).toBe(s.state)
      // the ones cut off by the kill (made or not) are done now, so that the next step applies to all
      for (const id of ids.filter((i) => stateOf.get(i) !== s.state)) expect((await api(run.http, `/api/alerts/${id}/${s.step}`, s.body)).status).toBe(200)
    }
    run.p.child.kill('SIGTERM')
    expect(await run.p.exited).toBe(0)
  }, 120_000)

  it('a site change answered 200 (a device added, its secret shown) is there after a kill -9 right after the answer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-actions-'))
    dirs.push(dir)
    const env = testEnv(dir, { MINEWATCH_ADMIN_TOKEN: ADMIN })
    let run = await start(env)
    const device = { id: 'yt-piezo-zk09', kind: 'piezometer', name: '浸润线 ZK09', position: { lat: 37.35, lon: 120.85 }, interval: 60 }
    const added = await api(run.http, '/api/admin/mines/yt-jinshan/devices', device)
    run.p.child.kill('SIGKILL')
    await run.p.exited
    expect(added.status).toBe(200)
    run = await start(env)
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${run.mqtt}`, { username: device.id, password: added.json.secret, reconnectPeriod: 0 })
    await c.endAsync()
    const audit = (await api(run.http, '/api/admin/audit')).json.entries as { op: string; target: string }[]
    expect(audit).toMatchObject([{ op: 'device.add', target: 'device:yt-piezo-zk09' }])
    run.p.child.kill('SIGTERM')
    expect(await run.p.exited).toBe(0)
  }, 120_000)
})
