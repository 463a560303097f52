import { describe, expect, it } from 'vitest'
import { engineDevices, engineItems } from '../../alerting/config.js'
import { drillEngineDevices, withDrillShadows } from '../../infra/drill-site.js'
import { demoSite } from '../helpers/scenario-run.js'

/** The drills' shadow of the site (docs/drills.md): what a drill runs as, apart from the devices. */
describe('the drills’ shadow of the site', () => {
  const site = demoSite()
  const shadowed = withDrillShadows(site)

  it('adds a shadow of every device, in its mine, with its kind, interval and secret, named as a drill', () => {
    for (const [i, mine] of site.mines.entries()) {
      const devices = shadowed.mines[i]!.devices
      expect(devices).toHaveLength(2 * mine.devices.length)
      for (const d of mine.devices) {
        expect(devices).toContainEqual(d)
        expect(devices).toContainEqual({ ...d, id: `${d.id}--drill`, name: `${d.name} (演练)` })
      }
    }
  })

  it('shadows every monitoring item over the shadows of its points', () => {
    const m = site.mines[0]!
    const withItem = {
      ...site,
      mines: [
        { ...m, items: [{ id: 'east-wall', name: '东帮', devices: [m.devices[0]!.id, m.devices[1]!.id], escalation: { blueToYellow: 4, yellowToOrange: 3, orangeToRed: 2 } }] },
        ...site.mines.slice(1),
      ],
    }
    const items = engineItems(withDrillShadows(withItem))
    const real = engineItems(withItem)
    expect(real).toHaveLength(1)
    expect(items).toHaveLength(2)
    for (const item of real) expect(items).toContainEqual({ ...item, id: `${item.id}--drill`, name: `${item.name} (演练)`, devices: item.devices.map((d) => `${d}--drill`) })
  })

  it('gives a shadow its device’s rules less silence, and a pump’s watched level from the shadow of its gauge', () => {
    const devices = drillEngineDevices(engineDevices(shadowed))
    const byId = new Map(devices.map((d) => [d.id, d]))
    for (const d of engineDevices(site)) {
      expect(byId.get(d.id)).toEqual(d)
      const shadow = byId.get(`${d.id}--drill`)!
      expect(shadow.rules.map((r) => r.id)).toEqual(d.rules.filter((r) => r.kind !== 'silence' && r.kind !== 'videoOffline').map((r) => r.id))
    }
    const pump = devices.find((d) => d.id.endsWith('--drill') && d.rules.some((r) => r.kind === 'pumpFailure'))!
    const rule = pump.rules.find((r) => r.kind === 'pumpFailure')!
    expect(rule.kind === 'pumpFailure' && rule.watch.device).toMatch(/--drill$/)
  })

  it('refuses a site whose own device id ends in the drills’ suffix', () => {
    const clash = { ...site, mines: [{ ...site.mines[0]!, devices: [{ ...site.mines[0]!.devices[0]!, id: 'p-07--drill' }] }] }
    expect(() => withDrillShadows(clash)).toThrow(/p-07--drill/)
  })
})
