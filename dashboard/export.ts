import ExcelJS from 'exceljs'

/**
 * A history export (历史数据导出) as a person opens it in a spreadsheet: one row per reading or
 * bucket, the time in the mine's zone (the zone named in the header, the offset in each cell: a
 * spreadsheet has no time zones), each value in its own column with its unit in the header.
 */
export interface ExportTable {
  /** e.g. "东帮边坡 P-07 北向位移". */
  readonly title: string
  readonly timeZone: string
  /** Column headers after the time, units included: "浸润线埋深 (m)". */
  readonly columns: readonly string[]
  /** [local ISO time with offset, ...values] */
  readonly rows: readonly (readonly [string, ...(number | boolean | null)[]])[]
}

const cell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** CSV with a UTF-8 byte-order mark, so that Excel reads the Chinese headers as Chinese. */
export function exportCsv(t: ExportTable): string {
  const head = [`时间 (${t.timeZone})`, ...t.columns]
  return `\uFEFF${[head, ...t.rows].map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`
}

export async function exportXlsx(t: ExportTable): Promise<Buffer> {
  const book = new ExcelJS.Workbook()
  book.creator = 'minewatch'
  const sheet = book.addWorksheet('历史数据')
  sheet.addRow([t.title])
  sheet.addRow([`时间 (${t.timeZone})`, ...t.columns])
  sheet.getRow(1).font = { bold: true }
  sheet.getRow(2).font = { bold: true }
  for (const r of t.rows) sheet.addRow([...r])
  sheet.getColumn(1).width = 32
  for (let i = 2; i <= t.columns.length + 1; i++) sheet.getColumn(i).width = 18
  sheet.views = [{ state: 'frozen', ySplit: 2 }]
  return Buffer.from(await book.xlsx.writeBuffer())
}
