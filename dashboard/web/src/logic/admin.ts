/**
 * 站点管理's pure parts: what the admin's forms send, and how the audit reads. The server
 * validates everything as the site file is validated; the forms only turn text fields into the
 * numbers and lists the site file holds, so that its messages are about values, not types.
 */
export const OP_LABEL: Record<string, string> = {
  'device.add': '添加设备',
  'device.update': '修改设备',
  'device.secret': '重置设备密钥',
  'device.retire': '停用设备',
  'user.add': '添加用户',
  'user.update': '修改用户',
  'user.password': '重置密码',
  'user.retire': '停用用户',
  'mine.rules': '修改预警规则',
  'mine.plan': '修改测点布置图',
  'notify.set': '修改叫应设置',
  'site.import': '导入站点文件',
  'site.file': '站点文件已修改 (启动时载入)',
}

export const ROLE_LABEL = { dispatcher: '预警专席', director: '安全负责人', regulator: '监管人员', admin: '管理员' } as const

export interface DeviceForm {
  id: string
  kind: string
  name: string
  lat: string
  lon: string
  elevation: string
  interval: string
}

/** A number typed in a field; an empty or unreadable field is sent as text so the server names it. */
const num = (text: string): number | string => (text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text)

/** The body of POST /api/admin/mines/:mine/devices (all fields) or PATCH /api/admin/devices/:id (no id, no kind). */
export function deviceBody(form: DeviceForm, adding: boolean): Record<string, unknown> {
  const position = { lat: num(form.lat), lon: num(form.lon), ...(form.elevation.trim() ? { elevation: num(form.elevation) } : {}) }
  const fields = { name: form.name.trim(), position, interval: num(form.interval) }
  return adding ? { id: form.id.trim(), kind: form.kind, ...fields } : fields
}

/** The form for an existing device (editing) or a new one at the mine's location (adding). */
export function deviceForm(
  d?: { id: string; kind: string; name: string; position: { lat: number; lon: number; elevation?: number }; interval: number },
  at?: { lat: number; lon: number },
): DeviceForm {
  if (d)
    return {
      id: d.id,
      kind: d.kind,
      name: d.name,
      lat: String(d.position.lat),
      lon: String(d.position.lon),
      elevation: d.position.elevation === undefined ? '' : String(d.position.elevation),
      interval: String(d.interval),
    }
  return { id: '', kind: 'prism', name: '', lat: at ? String(at.lat) : '', lon: at ? String(at.lon) : '', elevation: '', interval: '600' }
}

/** An audit entry's before or after in a line or two: what an admin scanning the record needs. */
export function auditText(value: unknown): string {
  if (value === null || value === undefined) return '—'
  return JSON.stringify(value, null, 1).replace(/\n\s*/g, ' ')
}

/**
 * What an edit changed: of two versions of one object, the fields that differ on each side (an
 * edited device shows its new interval, not its whole record twice); anything else as it is.
 */
export function auditDiff(before: unknown, after: unknown): [unknown, unknown] {
  const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
  if (!plain(before) || !plain(after)) return [before, after]
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
  const pick = (o: Record<string, unknown>) => Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]))
  // the id says which one it is, changed or not
  const id = typeof after.id === 'string' ? { id: after.id } : {}
  return [
    { ...id, ...pick(before) },
    { ...id, ...pick(after) },
  ]
}
