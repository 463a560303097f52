/**
 * A mine's plan without a drawing: the devices' positions as metres east and north of their
 * centre (an equirectangular projection about it: over a mine's few kilometres it is off by far
 * less than a device's symbol), so that distances read true, instead of degrees of longitude and
 * latitude that stretch one way. Axes of equal scale: a square around the devices.
 */
export interface PlanPoint {
  readonly id: string
  readonly x: number
  readonly y: number
}

const M_PER_DEG_LAT = 110_540
const M_PER_DEG_LON_EQUATOR = 111_320

export function localPlan(devices: readonly { readonly id: string; readonly position: { readonly lat: number; readonly lon: number } }[]): { points: PlanPoint[]; extent: [number, number] } {
  if (devices.length === 0) return { points: [], extent: [-50, 50] }
  const lat0 = devices.reduce((s, d) => s + d.position.lat, 0) / devices.length
  const lon0 = devices.reduce((s, d) => s + d.position.lon, 0) / devices.length
  const kx = M_PER_DEG_LON_EQUATOR * Math.cos((lat0 * Math.PI) / 180)
  const points = devices.map((d) => ({ id: d.id, x: (d.position.lon - lon0) * kx, y: (d.position.lat - lat0) * M_PER_DEG_LAT }))
  // one half-width for both axes, with room for the symbols and labels at the edges
  const half = Math.max(50, ...points.map((p) => Math.max(Math.abs(p.x), Math.abs(p.y)))) * 1.15
  return { points, extent: [-half, half] }
}

export interface Rect {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

const overlaps = (a: Rect, b: Rect) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height

/**
 * Where a device's label goes on the plan (pixels): right of its symbol if that is free, else left,
 * above or below it, else stepped up or down beside it until it clears the labels already placed
 * and every symbol; the offset from where it was drawn. Greedy in the devices' order: the first
 * keeps its place. Labels that collided ran together on the plan of a mine whose devices stand
 * tens of metres apart (the issue's "overlapping and clipped labels").
 */
export function placeLabel(label: Rect, symbol: Rect, placed: readonly Rect[], symbols: readonly Rect[], bounds: Rect): { dx: number; dy: number; rect: Rect } {
  const gap = 4
  const right = { x: symbol.x + symbol.width + gap, y: symbol.y + symbol.height / 2 - label.height / 2 }
  const left = { x: symbol.x - gap - label.width, y: right.y }
  const above = { x: symbol.x + symbol.width / 2 - label.width / 2, y: symbol.y - gap - label.height }
  const below = { x: above.x, y: symbol.y + symbol.height + gap }
  const candidates = [right, left, above, below]
  for (let k = 1; k <= 8; k++) for (const side of [right, left]) for (const sign of [-1, 1]) candidates.push({ x: side.x, y: side.y + sign * k * (label.height + 1) })
  const inside = (r: Rect) => r.x >= bounds.x && r.y >= bounds.y && r.x + r.width <= bounds.x + bounds.width && r.y + r.height <= bounds.y + bounds.height
  const free = (r: Rect) => inside(r) && !placed.some((p) => overlaps(p, r)) && !symbols.some((s) => overlaps(s, r))
  const chosen = candidates.map((c) => ({ ...c, width: label.width, height: label.height })).find(free) ?? { ...right, width: label.width, height: label.height }
  return { dx: chosen.x - label.x, dy: chosen.y - label.y, rect: chosen }
}

/**
 * Where a drawing goes in a box of this size (pixels): as large as fits with its proportions kept,
 * centred, `margin` clear of the edges. The devices' places are fractions of this rectangle.
 */
export function fitDrawing(box: { width: number; height: number }, drawing: { width: number; height: number }, margin = 8): Rect {
  const k = Math.max(0, Math.min((box.width - 2 * margin) / drawing.width, (box.height - 2 * margin) / drawing.height))
  const width = drawing.width * k
  const height = drawing.height * k
  return { x: (box.width - width) / 2, y: (box.height - height) / 2, width, height }
}
