import type { EngineDevice } from '../alerting/engine.js'
import type { Rule } from '../alerting/rules/index.js'
import { DRILL_SUFFIX, drillIdOf, hasDrillShadow, isDrillId } from '../ingest/contract/ids.js'
import type { Site } from './config/site-file.js'

/**
 * The drills' shadow of the site (docs/drills.md). Pure. In the demo every device gets a shadow
 * `<id>--drill` in the same mine, with the same kind, interval, secret and rules, named
 * "<name> (演练)"; every monitoring item a shadow over the shadows of its points. A drill replays
 * its scenario as the shadows, so its readings are series of their own and its warnings are
 * warnings of the shadows: the device's real history, its rules' state and its open warnings are
 * never touched, and the live simulators keep running through a drill.
 *
 * Shadows are known to the broker, the rules and the readings API, but not listed with the mine's
 * devices (the boards and the map count real devices only), and their warnings carry the mark in
 * the device's name. A device whose id is too long to take the suffix gets no shadow.
 */
export function withDrillShadows(site: Site): Site {
  for (const m of site.mines) {
    const clash = m.devices.find((d) => isDrillId(d.id))
    if (clash) throw new Error(`device "${clash.id}" of mine "${m.id}" ends in "${DRILL_SUFFIX}", which the demo keeps for drills; rename it`)
  }
  return {
    ...site,
    mines: site.mines.map((m) => ({
      ...m,
      devices: [...m.devices, ...m.devices.filter((d) => hasDrillShadow(d.id)).map((d) => ({ ...d, id: drillIdOf(d.id), name: `${d.name} (演练)` }))],
      items: [
        ...m.items,
        ...m.items.filter((item) => item.devices.every(hasDrillShadow)).map((item) => ({ ...item, id: drillIdOf(item.id), name: `${item.name} (演练)`, devices: item.devices.map(drillIdOf) })),
      ],
    })),
  }
}

/**
 * A shadow's rules: its device's, less the silence rules (a shadow is silent between drills by
 * design), with a pump's watched level device read from the shadow of that device.
 */
function shadowRules(rules: readonly Rule[]): Rule[] {
  return rules.filter((r) => r.kind !== 'silence' && r.kind !== 'videoOffline').map((r) => (r.kind === 'pumpFailure' ? { ...r, watch: { ...r.watch, device: drillIdOf(r.watch.device) } } : r))
}

export function drillEngineDevices(devices: readonly EngineDevice[]): EngineDevice[] {
  return devices.map((d) => (isDrillId(d.id) ? { ...d, rules: shadowRules(d.rules) } : d))
}
