import { describe, expect, it } from 'vitest'
import { adminView, applyChange, readSiteText, redact, siteText } from '../../infra/config/site-changes.js'
import { parseSite } from '../../infra/config/site-file.js'
import { auditDiff, deviceBody, deviceForm } from '../../dashboard/web/src/logic/admin.js'
import { fitDrawing } from '../../dashboard/web/src/logic/plan.js'
import { imageSize } from '../../dashboard/plan-image.js'
import { flatPng } from '../helpers/png.js'
import { testSite } from '../helpers/site.js'

const HASH = 'scrypt$4096$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='

/**
 * 站点管理's changes as pure functions (infra/config/site-changes.ts): each gives the next site
 * validated by the site file's own schema, or the schema's errors with their paths; the audit's
 * before and after show secrets only as set.
 */
describe('site changes', () => {
  it('adds, edits and retires a device; a retired device leaves its monitoring items', async () => {
    const site = await testSite()
    site.mines[0]!.items.push({ id: 'slope-1', name: '东帮', devices: ['a-prism', 'a-gnss', 'a-piezo'] } as never, { id: 'pair', name: '两点', devices: ['a-gnss', 'a-prism'] } as never)
    const added = applyChange(site, { op: 'device.add', mine: 'mine-a', device: { id: 'a-prism-2', kind: 'prism', name: 'P-2', position: { lat: 37, lon: 120 }, interval: 600 }, secretHash: HASH })
    if (!added.ok) throw new Error(added.errors.join())
    expect(added.site.mines[0]!.devices.at(-1)).toMatchObject({ id: 'a-prism-2', rules: [], secretHash: HASH })
    expect(added.after).toMatchObject({ id: 'a-prism-2', secretHash: '(已设置)' })
    expect(site.mines[0]!.devices.map((d) => d.id)).not.toContain('a-prism-2')

    const edited = applyChange(added.site, { op: 'device.update', id: 'a-prism-2', set: { interval: 300, name: undefined } })
    if (!edited.ok) throw new Error(edited.errors.join())
    expect(edited.site.mines[0]!.devices.at(-1)).toMatchObject({ interval: 300, name: 'P-2' })

    const retired = applyChange(edited.site, { op: 'device.retire', id: 'a-gnss' })
    if (!retired.ok) throw new Error(retired.errors.join())
    // the item of three keeps two points; the pair, left with one, is dissolved
    expect(retired.site.mines[0]!.items).toMatchObject([{ id: 'slope-1', devices: ['a-prism', 'a-piezo'] }])
    expect(retired.after).toBeNull()
    const again = applyChange(retired.site, { op: 'device.retire', id: 'a-gnss' })
    expect(again).toMatchObject({ ok: false, code: 'MW_NOT_FOUND' })
  })

  it('takes a retired device off the gateways’ lists, and refuses to leave a gateway with none', async () => {
    const site = parseSite({ ...(await testSite()), gateways: [{ id: 'dtu', name: 'DTU', secretHash: HASH, devices: ['a-pump', 'a-power'] }] })
    if (!site.ok) throw new Error(site.errors.join())
    const one = applyChange(site.site, { op: 'device.retire', id: 'a-pump' })
    if (!one.ok) throw new Error(one.errors.join())
    expect(one.site.gateways).toMatchObject([{ id: 'dtu', devices: ['a-power'] }])
    expect(adminView(one.site)).toMatchObject({ gateways: [{ id: 'dtu', devices: ['a-power'] }] })
    expect(JSON.stringify(adminView(one.site))).not.toContain(HASH)
    const none = applyChange(one.site, { op: 'device.retire', id: 'a-power' })
    expect(none).toMatchObject({ ok: false, code: 'MW_SITE_INVALID' })
    if (!none.ok) expect(none.errors.join()).toContain('gateways[0].devices: expected at least one device')
  })

  it("refuses what the site file refuses, with the file's paths, whichever change brings it", async () => {
    const site = await testSite()
    const device = { id: 'x-1', kind: 'prism' as const, name: 'x', position: { lat: 95, lon: 120 }, interval: 0 }
    const bad = applyChange(site, { op: 'device.add', mine: 'mine-b', device, secretHash: HASH })
    expect(bad).toMatchObject({ ok: false, code: 'MW_SITE_INVALID' })
    expect(!bad.ok && bad.errors).toEqual(['mines[1].devices[1].position.lat: latitude must be within ±90°', 'mines[1].devices[1].interval: expected a positive number'])
    // a person given a mine that does not exist; a rule on a kind that does not exist
    expect(applyChange(site, { op: 'user.update', id: 'disp-a', set: { mines: ['nowhere'] } })).toMatchObject({ ok: false, errors: ['users[0].mines[0]: unknown mine "nowhere"'] })
    expect(applyChange(site, { op: 'mine.rules', mine: 'mine-a', kind: 'drone' as never, rules: [{ kind: 'silence', id: 's' }] })).toMatchObject({ ok: false, code: 'MW_SITE_INVALID' })
    // a dispatcher of no mine
    expect(applyChange(site, { op: 'user.add', user: { id: 'p', name: 'P', role: 'dispatcher', mines: [], regions: [] }, passwordHash: HASH })).toMatchObject({
      ok: false,
      errors: ['users[5].mines: a dispatcher works for at least one mine'],
    })
  })

  it('sets and clears a mine’s rules for a kind, the audit holding both versions', async () => {
    const site = await testSite()
    const rule = { kind: 'threshold', id: 'pond', source: { metric: 'level' }, direction: 'above', thresholds: { red: 99.8 }, basis: '设计值' }
    const set = applyChange(site, { op: 'mine.rules', mine: 'mine-a', kind: 'reservoir', rules: [rule] })
    if (!set.ok) throw new Error(set.errors.join())
    expect(set).toMatchObject({ target: 'rules:mine-a/reservoir', before: [], after: [rule] })
    const cleared = applyChange(set.site, { op: 'mine.rules', mine: 'mine-a', kind: 'reservoir', rules: [] })
    if (!cleared.ok) throw new Error(cleared.errors.join())
    expect(cleared.site.mines[0]!.rules.reservoir).toBeUndefined()
    expect(cleared.before).toMatchObject([rule])
  })

  it('replaces the 叫应 settings whole, checked as the site file checks them, the audit holding both versions', async () => {
    const site = await testSite()
    const notify = {
      channels: [{ id: 'hook', type: 'webhook', url: 'https://hooks.example.cn/mw' }],
      contacts: [{ id: 'duty', name: '专席', via: [{ channel: 'hook' }] }],
      policies: [{ id: 'p', mines: ['mine-a'], levels: ['red'], steps: [{ after: 0, notify: ['duty'] }] }],
    }
    const set = applyChange(site, { op: 'notify.set', notify })
    if (!set.ok) throw new Error(set.errors.join())
    expect(set.site.notify).toMatchObject({ ...notify, rosters: [] })
    expect(set).toMatchObject({ target: 'notify', before: { channels: [], contacts: [], policies: [] }, after: notify })
    expect(adminView(set.site)).toMatchObject({ notify: { contacts: [{ id: 'duty' }] } })
    // a person reached on a channel that is not there, a policy for a mine that is not there: refused with their paths
    const bad = applyChange(site, {
      op: 'notify.set',
      notify: { ...notify, contacts: [{ id: 'duty', name: '专席', via: [{ channel: 'sms' }] }], policies: [{ ...notify.policies[0], mines: ['mine-z'] }] },
    })
    expect(bad).toMatchObject({ ok: false, code: 'MW_SITE_INVALID' })
    if (!bad.ok)
      expect(bad.errors).toEqual(
        expect.arrayContaining([expect.stringContaining('notify.contacts[0].via[0].channel: unknown channel "sms"'), expect.stringContaining('notify.policies[0].mines[0]: unknown mine "mine-z"')]),
      )
  })

  it('exports a site the site file parser reads back as the same site, and shows it without hashes', async () => {
    const site = await testSite()
    for (const format of ['yaml', 'json'] as const) {
      const read = readSiteText(siteText(site, format, '2026-12-02T12:00:00Z'))
      expect(read.ok && parseSite(read.value)).toEqual({ ok: true, site })
    }
    expect(readSiteText('mines: [')).toMatchObject({ ok: false })
    const view = JSON.stringify(adminView(site))
    expect(view).not.toContain('scrypt$')
    expect(view).toContain('"effective"')
    expect(redact({ a: [{ secretHash: 'x', b: 1 }], passwordHash: 'y' })).toEqual({ a: [{ secretHash: '(已设置)', b: 1 }], passwordHash: '(已设置)' })
  })
})

describe("the admin screen's forms and audit", () => {
  it('sends typed numbers, and leaves unreadable ones as text for the server to name', () => {
    const form = { ...deviceForm(undefined, { lat: 37.35, lon: 120.85 }), id: ' p-9 ', name: 'P-9', interval: '60', elevation: '' }
    expect(deviceBody(form, true)).toEqual({ id: 'p-9', kind: 'prism', name: 'P-9', position: { lat: 37.35, lon: 120.85 }, interval: 60 })
    expect(deviceBody({ ...form, interval: 'abc', elevation: '212.4' }, false)).toEqual({ name: 'P-9', position: { lat: 37.35, lon: 120.85, elevation: 212.4 }, interval: 'abc' })
  })

  it('shows what an edit changed, with the id, and anything else whole', () => {
    expect(auditDiff({ id: 'd', name: 'a', interval: 60 }, { id: 'd', name: 'a', interval: 300 })).toEqual([
      { id: 'd', interval: 60 },
      { id: 'd', interval: 300 },
    ])
    expect(auditDiff(null, { id: 'd' })).toEqual([null, { id: 'd' }])
    expect(auditDiff([1], [2])).toEqual([[1], [2]])
  })
})

describe('the site plan drawing', () => {
  it('knows a PNG and a JPEG by their own bytes and size, and nothing else whatever it claims', () => {
    expect(imageSize(flatPng(640, 480))).toEqual({ ext: 'png', width: 640, height: 480 })
    // a JPEG's start: SOI, an APP0 segment, then SOF0 with height 300 and width 500
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x4a, 0x46, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0x2c, 0x01, 0xf4, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    expect(imageSize(jpeg)).toEqual({ ext: 'jpg', width: 500, height: 300 })
    expect(imageSize(Buffer.from('<html><script>alert(1)</script></html>'))).toBeUndefined()
    expect(imageSize(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined()
    expect(imageSize(flatPng(4, 4).subarray(0, 20))).toBeUndefined()
  })

  it('fits a drawing in a panel with its proportions kept, centred', () => {
    expect(fitDrawing({ width: 416, height: 316 }, { width: 2000, height: 1000 })).toEqual({ x: 8, y: 58, width: 400, height: 200 })
    expect(fitDrawing({ width: 416, height: 316 }, { width: 300, height: 600 })).toEqual({ x: 133, y: 8, width: 150, height: 300 })
  })

  it('keeps the places when a new drawing comes, checks them, and forgets a retired device’s', async () => {
    const site = await testSite()
    const drawn = applyChange(site, { op: 'mine.plan', mine: 'mine-a', plan: { image: 'mine-a-0123456789ab.png', width: 800, height: 600 } })
    if (!drawn.ok) throw new Error(drawn.errors.join())
    const placed = applyChange(drawn.site, { op: 'mine.plan', mine: 'mine-a', plan: { positions: { 'a-prism': { x: 0.25, y: 0.5 } } } })
    if (!placed.ok) throw new Error(placed.errors.join())
    const redrawn = applyChange(placed.site, { op: 'mine.plan', mine: 'mine-a', plan: { image: 'mine-a-ba9876543210.png', width: 1600, height: 1200 } })
    expect(redrawn.ok && redrawn.site.mines[0]!.plan).toEqual({ image: 'mine-a-ba9876543210.png', width: 1600, height: 1200, positions: { 'a-prism': { x: 0.25, y: 0.5 } } })
    expect(applyChange(placed.site, { op: 'mine.plan', mine: 'mine-a', plan: { positions: { 'b-prism': { x: 0.1, y: 0.1 } } } })).toMatchObject({
      ok: false,
      errors: ['mines[0].plan.positions.b-prism: "b-prism" is not a device of this mine'],
    })
    expect(applyChange(placed.site, { op: 'mine.plan', mine: 'mine-a', plan: { positions: { 'a-prism': { x: 1.5, y: 0 } } } })).toMatchObject({ ok: false, code: 'MW_SITE_INVALID' })
    const retired = applyChange(placed.site, { op: 'device.retire', id: 'a-prism' })
    expect(retired.ok && retired.site.mines[0]!.plan!.positions).toEqual({})
    const none = applyChange(placed.site, { op: 'mine.plan', mine: 'mine-a', plan: null })
    expect(none.ok && none.site.mines[0]!.plan).toBeUndefined()
  })
})
