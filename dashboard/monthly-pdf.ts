import { existsSync } from 'node:fs'
import PDFDocument from 'pdfkit'
import { LEVEL_NAME, LEVELS, type Level } from '../alerting/rules/levels.js'
import { isoInZone } from '../ingest/zone-time.js'
import { monthRange, type MonthlyReport } from './monthly.js'

/**
 * 月报 as a PDF (issue 15 item 5), made by the platform with a maintained PDF library (pdfkit) so
 * that a regulator's 月通报 can be filed as it was produced, without a browser: A4, the figures of
 * the screen and the spreadsheet, the warnings by level as a bar chart, every device's 数据到报率,
 * page numbers. Chinese needs a CJK font embedded (a subset, so the file stays small); the built-in
 * PDF fonts have no Chinese glyphs at all.
 */

/** A CJK font the PDF embeds: a file, and for a collection (.ttc) the PostScript name of the face in it. */
export interface PdfFont {
  readonly file: string
  readonly face?: string | undefined
}

/** Debian's CJK fonts, in order of preference (fonts-wqy-microhei, fonts-wqy-zenhei, fonts-noto-cjk, fonts-droid-fallback). */
const KNOWN_FONTS: readonly PdfFont[] = [
  { file: '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc', face: 'WenQuanYiMicroHei' },
  { file: '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc', face: 'WenQuanYiZenHei' },
  { file: '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc', face: 'NotoSansCJKsc-Regular' },
  { file: '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf' },
]

/**
 * The font for PDFs: `MINEWATCH_PDF_FONT` when set (`/path/font.ttf`, or `/path/fonts.ttc#PostScriptName`),
 * else the first of Debian's CJK fonts installed; none, or the file set is missing: undefined (the PDF is then refused with what to install).
 */
export function findPdfFont(setting: string | undefined, exists: (file: string) => boolean = existsSync): PdfFont | undefined {
  if (setting) {
    const [file, face] = setting.split('#')
    return exists(file!) ? { file: file!, face } : undefined
  }
  return KNOWN_FONTS.find((f) => exists(f.file))
}

const LEVELS_DOWN: readonly Level[] = ['red', 'orange', 'yellow', 'blue']
const LEVEL_COLOR: Readonly<Record<Level, string>> = { red: '#e53935', orange: '#fb8c00', yellow: '#fdd835', blue: '#1e88e5' }
const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(1)}%`)
const mins = (x: number | null) => (x === null ? '—' : `${x.toFixed(1)} 分钟`)
const MARGIN = 50

export function monthlyPdf(r: MonthlyReport & { readonly recordComplete?: boolean }, font: PdfFont, generatedAt: number): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    bufferPages: true,
    info: { Title: `${r.mineName} ${r.month} 安全风险监测预警月报`, Author: 'minewatch', Creator: 'minewatch', CreationDate: new Date(generatedAt) },
    lang: 'zh-CN',
  })
  const chunks: Buffer[] = []
  doc.on('data', (c: Buffer) => chunks.push(c))
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)))
    doc.on('error', reject)
  })
  doc.registerFont('cjk', font.file, font.face)
  doc.font('cjk')

  const width = doc.page.width - 2 * MARGIN
  const bottom = () => doc.page.height - MARGIN - 20
  let y = MARGIN
  /** Room for `h` points more on this page, or a new page. */
  const room = (h: number) => {
    if (y + h <= bottom()) return
    doc.addPage()
    y = MARGIN
  }
  const heading = (text: string) => {
    room(40)
    y += 10
    doc.fontSize(13).fillColor('#000').text(text, MARGIN, y)
    y += 22
  }
  /** A table row; widths as fractions of the page's width; the first row of a table is its header. */
  const row = (cells: readonly string[], widths: readonly number[], head = false) => {
    room(18)
    if (head) doc.rect(MARGIN, y - 2, width, 18).fill('#eceff1')
    let x = MARGIN
    doc.fontSize(10).fillColor(head ? '#37474f' : '#000')
    cells.forEach((c, i) => {
      const w = widths[i]! * width
      doc.text(c, x + 4, y + 2, { width: w - 8, height: 14, ellipsis: true, lineBreak: false, align: i === 0 ? 'left' : 'right' })
      x += w
    })
    y += 18
    doc
      .moveTo(MARGIN, y - 2)
      .lineTo(MARGIN + width, y - 2)
      .lineWidth(0.5)
      .strokeColor('#cfd8dc')
      .stroke()
  }
  const pairs = (items: readonly (readonly [string, string])[]) => {
    row(['项目', '数值'], [0.7, 0.3], true)
    for (const [k, v] of items) row([k, v], [0.7, 0.3])
  }

  // title, scope and period
  const { from, to } = monthRange(r.month, r.timeZone)
  doc.fontSize(18).fillColor('#000').text(`${r.mineName} ${r.month} 安全风险监测预警月报`, MARGIN, y, { width })
  y = doc.y + 6
  const day = (ms: number) => isoInZone(ms, r.timeZone).slice(0, 10)
  const minute = (ms: number) => isoInZone(ms, r.timeZone).slice(0, 16).replace('T', ' ')
  // the month's last day (its end is the next month's first instant); a month not yet over is counted up to now
  const until = generatedAt < to ? ` (截至 ${minute(generatedAt)})` : ''
  doc
    .fontSize(9)
    .fillColor('#546e7a')
    .text(`统计区间 ${day(from)} 至 ${day(to - 1)}${until} (${r.timeZone}) · 生成于 ${minute(generatedAt)} · minewatch`, MARGIN, y, { width })
  y = doc.y + 12

  // the four figures asked for first
  const kpis: [string, string, string][] = [
    ['预警总数', `${r.raised} 条`, `红 ${r.byLevel.red} · 橙 ${r.byLevel.orange} · 黄 ${r.byLevel.yellow} · 蓝 ${r.byLevel.blue}`],
    ['当天处置率', pct(r.handledRate), `${r.resolvedSameDay} / ${r.raised} 条`],
    ['签收用时中位数', mins(r.signMinutes.median), `95% 分位 ${mins(r.signMinutes.p95)}`],
    ['数据到报率', pct(r.reportingRate), `${r.devices.length} 台设备`],
  ]
  const boxW = (width - 3 * 8) / 4
  kpis.forEach(([label, value, note], i) => {
    const x = MARGIN + i * (boxW + 8)
    doc.roundedRect(x, y, boxW, 62, 4).lineWidth(0.8).strokeColor('#90a4ae').stroke()
    doc
      .fontSize(9)
      .fillColor('#546e7a')
      .text(label, x + 8, y + 6, { width: boxW - 16 })
    doc
      .fontSize(16)
      .fillColor('#000')
      .text(value, x + 8, y + 20, { width: boxW - 16 })
    doc
      .fontSize(7.5)
      .fillColor('#546e7a')
      .text(note, x + 8, y + 44, { width: boxW - 16, height: 12, ellipsis: true, lineBreak: false })
  })
  y += 74
  if (r.recordComplete === false) {
    doc.fontSize(9).fillColor('#c62828').text('注意: 本月预警过多, 记录只读取了最近的 20,000 条, 以上数字可能偏少。', MARGIN, y, { width })
    y = doc.y + 6
  }

  heading('一、预警按等级')
  const most = Math.max(1, ...LEVELS_DOWN.map((l) => r.byLevel[l]))
  const barX = MARGIN + 70
  const barW = width - 70 - 40
  for (const l of LEVELS_DOWN) {
    room(20)
    doc
      .fontSize(10)
      .fillColor('#000')
      .text(`${LEVEL_NAME[l]}预警`, MARGIN, y + 2, { width: 66 })
    const w = (r.byLevel[l] / most) * barW
    if (w > 0) doc.rect(barX, y, w, 14).fill(LEVEL_COLOR[l])
    doc
      .fontSize(10)
      .fillColor('#000')
      .text(`${r.byLevel[l]} 条`, barX + w + 6, y + 2, { width: 60 })
    y += 20
  }

  heading('二、预警按规则')
  if (r.byRule.length === 0) row(['本月没有预警', ''], [0.7, 0.3])
  else {
    row(['规则', '预警 (条)'], [0.7, 0.3], true)
    for (const x of r.byRule) row([`${x.name} (${x.ruleKind})`, String(x.count)], [0.7, 0.3])
  }

  heading('三、签收与处置')
  pairs([
    ['已签收 (条)', String(r.signMinutes.signed)],
    ['签收用时中位数', mins(r.signMinutes.median)],
    ['签收用时 95% 分位', mins(r.signMinutes.p95)],
    ['当天处置 (条)', String(r.resolvedSameDay)],
    ['当天处置率', pct(r.handledRate)],
    ['超期 (条)', String(r.overdue)],
    ['月末未处置 (条)', String(r.open)],
  ])

  heading('四、叫应通知')
  pairs([
    ['通知 (次)', String(r.calls.made)],
    ['送达 (次)', String(r.calls.delivered)],
    ['发送失败 (次)', String(r.calls.failed)],
    ['通过通知链接签收 (次)', String(r.calls.answered)],
  ])

  heading('五、设备数据到报率')
  const widths = [0.55, 0.15, 0.15, 0.15]
  row(['设备', '应到 (条)', '实到 (条)', '到报率'], widths, true)
  for (const d of r.devices) {
    if (y + 18 > bottom()) {
      room(18)
      row(['设备 (续)', '应到 (条)', '实到 (条)', '到报率'], widths, true)
    }
    row([d.name, String(d.expected), String(d.received), pct(d.rate)], widths)
  }
  row(['合计', '', '', pct(r.reportingRate)], widths)

  if (r.links.length > 0) {
    heading('六、联网在线率')
    const lw = [0.7, 0.3]
    row(['矿山平台联网', '在线率'], lw, true)
    for (const l of r.links) {
      room(18)
      row([l.name, pct(l.online)], lw)
    }
  }

  if (r.reported) {
    heading(r.links.length > 0 ? '七、矿山平台上报预警' : '六、矿山平台上报预警')
    const t = r.reported
    const rw = [0.7, 0.3]
    row(['项目', '数值'], rw, true)
    for (const [label, n] of [
      ['上报预警 (条)', t.raised],
      ...LEVELS.slice()
        .reverse()
        .map((l) => [`${LEVEL_NAME[l]}预警 (条)`, t.byLevel[l]] as const),
      ['已处置 (条)', t.resolved],
      ['当天处置 (条)', t.resolvedSameDay],
      ['超期 (条)', t.overdue],
    ] as const) {
      room(18)
      row([label, String(n)], rw)
    }
  }

  // page numbers, once the pages are known
  const range = doc.bufferedPageRange()
  for (let i = 0; i < range.count; i++) {
    doc.switchToPage(range.start + i)
    // in the bottom margin: with the margin kept, pdfkit would start a new page for it
    doc.page.margins.bottom = 0
    doc
      .fontSize(8)
      .fillColor('#78909c')
      .text(`${r.mineName} ${r.month} 月报 · 第 ${i + 1} 页 共 ${range.count} 页`, MARGIN, doc.page.height - MARGIN, { width, align: 'center', lineBreak: false })
  }
  doc.end()
  return done
}
