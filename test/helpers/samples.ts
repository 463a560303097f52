import type { DeviceKind } from '../../ingest/contract/kinds.js'

/** One complete, valid set of values per device kind of docs/device-contract.md, every metric present. */
export const SAMPLE_VALUES: Record<DeviceKind, Record<string, number | boolean>> = {
  prism: { dN: 1.25, dE: -0.5, dH: 0.75 },
  gnss: { dN: 0.8, dE: 0.1, dU: -2.5, fix: 4, sats: 17 },
  piezometer: { depth: 6.42 },
  reservoir: { level: 312.75 },
  beach: { length: 86.5, freeboard: 1.8 },
  rain: { rainfall: 0.5 },
  pump: { running: true, flow: 120.4, current: 35.2 },
  power: { voltage: 398.2, current: 120.5, power: 72.1, energy: 183420.7 },
  video: { online: true, recording: false, fps: 25 },
}
