/**
 * The four warning levels as people see them (GB 39496-2020 §5.5.4 and AQ 2063: 红 > 橙 > 黄 > 蓝).
 * Colours are the ones the levels are named after, picked to stay apart on a projector and for
 * the common red-green colour blindness (the level is also always written out).
 */
export type Level = 'blue' | 'yellow' | 'orange' | 'red'
export const LEVELS: readonly Level[] = ['blue', 'yellow', 'orange', 'red']
export const RANK: Record<Level, number> = { blue: 1, yellow: 2, orange: 3, red: 4 }
export const LEVEL_NAME: Record<Level, string> = { blue: '蓝色', yellow: '黄色', orange: '橙色', red: '红色' }
export const LEVEL_COLOR: Record<Level, string> = { blue: '#1e88e5', yellow: '#fdd835', orange: '#fb8c00', red: '#e53935' }
/** A mine with nothing open. */
export const CALM_COLOR = '#43a047'

export const STATE_NAME = { open: '待签收', acknowledged: '已签收', assigned: '已指派', resolved: '已处置' } as const
export const CLASS_NAME = { warning: '预警', offline: '断线', quality: '数据质量' } as const

export function worst(levels: Iterable<Level>): Level | null {
  let w: Level | null = null
  for (const l of levels) if (w === null || RANK[l] > RANK[w]) w = l
  return w
}

export const levelColor = (level: Level | null): string => (level ? LEVEL_COLOR[level] : CALM_COLOR)
