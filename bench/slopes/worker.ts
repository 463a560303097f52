import { makeSeries, type SeriesOptions } from '../../simulators/families.js'
import { evaluateSeries } from './evaluate.js'

/** A child of `npm run eval:slopes`: evaluates the series it is sent, one at a time, and reports each. */
process.on('message', (m: { options?: SeriesOptions; done?: true }) => {
  if (!m.options) process.exit(0)
  const r = evaluateSeries(makeSeries(m.options))
  const { readings: _readings, ...series } = r.series
  process.send!({ ...r, series })
})
