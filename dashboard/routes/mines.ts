import type { FastifyPluginAsync } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Alert } from '../../alerting/book/alert.js'
import { LEVELS, RANK } from '../../alerting/rules/levels.js'
import type { ReportedCounts, ReportedTally } from '../../alerting/reported/book.js'
import type { ReportedAlert } from '../../ingest/uplink/reported.js'
import type { Judged } from '../../alerting/runner.js'
import type { Rule } from '../../alerting/rules/index.js'
import { judgedViews } from '../judged.js'
import { overview } from '../overview.js'
import { KINDS, type DeviceKind } from '../../ingest/contract/kinds.js'
import type { DevicePresence, GatewayPresence } from '../../ingest/presence.js'
import type { StoredReading } from '../../ingest/store.js'
import { isoInZone } from '../../ingest/zone-time.js'
import type { Access } from '../access.js'
import type { Auth } from '../auth.js'
import { HttpError } from '../errors.js'
import { errorSchema, mineViewSchema } from '../schemas.js'
import { dailyReport, reportCsv } from '../report.js'
import { monthRange, monthlyCsv, monthlyReport, monthlyXlsx } from '../monthly.js'
import { monthlyPdf, type PdfFont } from '../monthly-pdf.js'
import { resolvedSince } from '../record.js'
import type { ResolvedQuery } from '../../alerting/store.js'
import type { Plan } from '../plan-image.js'

/**
 * Mines and devices as people see them: `GET /api/mines` (for the regulators' map: status, worst
 * open warning, overdue, devices connected), `GET /api/mines/:id/devices` (connection, last
 * reading, staleness) and `GET /api/reports/daily?mine=&date=[&format=csv]`.
 */
export interface MinesSite {
  readonly regions: readonly { readonly id: string; readonly name: string }[]
  readonly mines: readonly {
    readonly id: string
    readonly name: string
    readonly region: string
    readonly status: 'producing' | 'suspended'
    readonly timezone: string
    readonly location: { readonly lat: number; readonly lon: number }
    readonly plan?: Plan | undefined
    readonly devices: readonly { readonly id: string; readonly name: string; readonly kind: DeviceKind; readonly interval: number; readonly position: { lat: number; lon: number } }[]
  }[]
  /** Gateways: one connection publishing for the devices listed (ingest/site.ts). */
  readonly gateways?: readonly { readonly id: string; readonly name: string; readonly devices: readonly string[] }[]
}

const reportQuery = z.strictObject({
  mine: z.string().min(1),
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'expected a date as YYYY-MM-DD' }),
  format: z.enum(['json', 'csv']).default('json'),
})

export const mineRoutes: FastifyPluginAsync<{
  site: MinesSite
  alerts: () => Alert[]
  presence: (deviceId: string) => DevicePresence | undefined
  /** A gateway's own connection (shown apart from its devices'). */
  gatewayPresence?: (gatewayId: string) => GatewayPresence | undefined
  latest: (deviceId: string) => Promise<StoredReading | undefined>
  /** A device's kind and rules, defaults included (the rules the engine runs). */
  deviceRules: (deviceId: string) => { kind: DeviceKind; rules: readonly Rule[] } | undefined
  /** What these devices' rules last judged (the rule engine's state). */
  judged: (deviceIds: readonly string[]) => Promise<Record<string, Record<string, Judged>>>
  /** The record of resolved warnings (the monthly report's older ones). */
  resolved: (q: ResolvedQuery) => Promise<Alert[]>
  /** A warning's calls (叫应), for the monthly report. */
  /** Each warning's calls (叫应), for the monthly report (cluster mode: as every node made them). */
  callsOf: (alertIds: readonly string[]) => Promise<ReadonlyMap<string, readonly { status: string; answered: boolean }[]>>
  /** Readings counted per bucket (a device's 数据到报率). */
  downsample: (q: { deviceId: string; metric: string; from: number; to: number; every: number; limit: number }) => Promise<{ count: number }[]>
  /** 联网在线率: the mine platforms' links carrying these mines, each with its share of [from, to) connected (a regulator's). */
  links?: (mineIds: readonly string[], from: number, to: number) => { id: string; name: string; online: number | null }[]
  /** 上报预警: the warnings the mine platforms reported (a regulator's; alerting/reported/book.ts). */
  reported?: {
    list(mineIds: ReadonlySet<string>, limit: number): ReportedAlert[]
    counts(mineId: string): ReportedCounts
    tally(mineIds: readonly string[], month: string): ReportedTally
  }
  /** A site-plan drawing's bytes, by the name the site gives it. */
  planImage: (image: string) => Promise<{ bytes: Buffer; type: string } | undefined>
  /** The CJK font the 月报's PDF embeds (none installed: the PDF is refused with what to install). */
  pdfFont: PdfFont | undefined
  now: () => number
  auth: Auth
  access: Access
}> = async (app, opts) => {
  // read at each request: the administered site may have been changed since (站点管理)
  const regionNames = () => new Map(opts.site.regions.map((r) => [r.id, r.name]))
  const visibleMine = async (request: Parameters<Auth['user']>[0], id: string) => {
    const user = await opts.auth.user(request)
    const mine = opts.site.mines.find((m) => m.id === id)
    if (!mine || !opts.access.canSee(user, id)) throw new HttpError('MW_NOT_FOUND', `没有编号为 ${id} 的矿山 (no such mine)`)
    return mine
  }

  /** A mine's reported warnings on the map: none where no mine platform reports. */
  const reportedSummary = (mineId: string) => {
    const c = opts.reported?.counts(mineId)
    if (!c) return { open: 0, worst: null, overdue: 0 }
    const worst = [...LEVELS].reverse().find((l) => c.byLevel[l] > 0) ?? null
    return { open: c.open, worst, overdue: c.overdue }
  }

  const typed = app.withTypeProvider<ZodTypeProvider>()
  const mineParams = z.object({ id: z.string().min(1).max(100) })
  typed.get(
    '/api/mines',
    { schema: { summary: '矿山 the mines the user may see, with their state', tags: ['mines'], response: { 200: z.array(mineViewSchema), 401: errorSchema } } },
    async (request) => {
      const user = await opts.auth.user(request)
      const alerts = opts.alerts().filter((a) => a.state !== 'resolved')
      const regionName = regionNames()
      return opts.site.mines
        .filter((m) => opts.access.canSee(user, m.id))
        .map((m) => {
          const open = alerts.filter((a) => a.mineId === m.id)
          const worst = open.reduce<Alert['level'] | null>((w, a) => (w === null || RANK[a.level] > RANK[w] ? a.level : w), null)
          return {
            id: m.id,
            name: m.name,
            region: m.region,
            regionName: regionName.get(m.region) ?? m.region,
            status: m.status,
            location: m.location,
            timeZone: m.timezone,
            // the drawing itself at /api/mines/:id/plan
            plan: m.plan ? { width: m.plan.width, height: m.plan.height, positions: m.plan.positions, image: m.plan.image } : null,
            alerts: {
              unresolved: open.length,
              worst,
              overdue: open.filter((a) => a.overdue).length,
              offline: open.filter((a) => a.class === 'offline').length,
              secretProduction: open.filter((a) => a.ruleKind === 'powerDuringSuspension').length,
            },
            devices: { known: m.devices.length, connected: m.devices.filter((d) => opts.presence(d.id)?.connected).length },
            reported: reportedSummary(m.id),
          }
        })
    },
  )

  typed.get(
    '/api/overview',
    { schema: { summary: '大屏 the figures of the mines the user covers: connected, 在线率, today by level, 当天处置率, overdue, 7 days, ranking', tags: ['mines'] } },
    async (request) => {
      const user = await opts.auth.user(request)
      const regionName = regionNames()
      const mines = opts.site.mines.filter((m) => opts.access.canSee(user, m.id)).map((m) => ({ ...m, regionName: regionName.get(m.region) ?? m.region }))
      return overview(opts.alerts(), mines, (id) => opts.presence(id)?.connected === true, opts.now())
    },
  )

  typed.get(
    '/api/mines/:id/reported-alerts',
    {
      schema: {
        summary: '上报预警 the warnings the mine’s own platform reported (联网): not yet resolved first, then those resolved in the last 7 days; as the mine handled them',
        tags: ['mines'],
        params: mineParams,
        querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(200) }),
      },
    },
    async (request) => {
      const mine = await visibleMine(request, request.params.id)
      const at = (ms: number | undefined) => (ms === undefined ? null : isoInZone(ms, mine.timezone))
      return {
        counts: opts.reported?.counts(mine.id) ?? { open: 0, byLevel: { blue: 0, yellow: 0, orange: 0, red: 0 }, overdue: 0 },
        alerts: (opts.reported?.list(new Set([mine.id]), request.query.limit) ?? []).map((a) => ({
          ...a,
          time: { raised: at(a.raisedAt), updated: at(a.updatedAt), deadline: at(a.deadline), acknowledged: at(a.acknowledged?.at), resolved: at(a.resolved?.at) },
        })),
      }
    },
  )

  typed.get(
    '/api/mines/:id/plan',
    { schema: { summary: '测点布置图 the mine’s site-plan drawing (PNG or JPEG), if one was uploaded', tags: ['mines'], params: mineParams } },
    async (request, reply) => {
      const mine = await visibleMine(request, request.params.id)
      const drawing = mine.plan ? await opts.planImage(mine.plan.image) : undefined
      if (!drawing) throw new HttpError('MW_NOT_FOUND', `矿山 ${mine.id} 没有上传测点布置图 (no site plan drawing: an admin uploads one in 站点管理)`)
      // the name changes with the content: a screen may keep what it has
      reply.header('content-type', drawing.type).header('cache-control', 'private, max-age=3600')
      return reply.send(drawing.bytes)
    },
  )

  typed.get(
    '/api/mines/:id/gateways',
    { schema: { summary: '网关 the gateways (数据采集仪, DTU) that publish for this mine’s devices: their own connection, apart from the devices’', tags: ['mines'], params: mineParams } },
    async (request) => {
      const mine = await visibleMine(request, request.params.id)
      const own = new Set(mine.devices.map((d) => d.id))
      return (opts.site.gateways ?? [])
        .filter((g) => g.devices.some((d) => own.has(d)))
        .map((g) => {
          const p = opts.gatewayPresence?.(g.id)
          // the devices of this mine only: a gateway of several mines shows each mine its own
          return { id: g.id, name: g.name, connected: p?.connected ?? false, since: p ? isoInZone(p.since, mine.timezone) : null, devices: g.devices.filter((d) => own.has(d)) }
        })
    },
  )

  typed.get('/api/mines/:id/devices', { schema: { summary: '设备 a mine’s devices: connection, last reading, staleness', tags: ['mines'], params: mineParams } }, async (request) => {
    const mine = await visibleMine(request, request.params.id)
    const now = opts.now()
    const judged = await opts.judged(mine.devices.map((d) => d.id))
    return Promise.all(
      mine.devices.map(async (d) => {
        const p = opts.presence(d.id)
        const last = await opts.latest(d.id)
        const grace = 2 * d.interval * 1000
        // waiting (等待首次数据): connected less than two reporting intervals ago and nothing heard
        // since; a device the platform has just met, or one back after a gap, is not late yet
        const waiting = p !== undefined && now - p.since <= grace && (last === undefined || last.ts < p.since)
        // stale: connected, but nothing for more than two reporting intervals
        const stale = last === undefined || now - last.ts > grace
        const state = !p?.connected || p.online === false ? 'offline' : waiting ? 'waiting' : stale ? 'stale' : 'online'
        return {
          id: d.id,
          name: d.name,
          kind: d.kind,
          kindLabel: KINDS[d.kind].label,
          metrics: Object.entries(KINDS[d.kind].metrics as Record<string, { type: string; unit: string; label: string }>).map(([name, m]) => ({ name, label: m.label, unit: m.unit, type: m.type })),
          interval: d.interval,
          position: d.position,
          state,
          judged: judgedViews(d.kind, opts.deviceRules(d.id)?.rules ?? [], judged[d.id] ?? {}, last?.values),
          connected: p?.connected ?? false,
          since: p ? isoInZone(p.since, mine.timezone) : null,
          last: last
            ? {
                ts: last.ts,
                time: isoInZone(last.ts, mine.timezone),
                values: last.values,
                units: Object.fromEntries(Object.keys(last.values).map((k) => [k, (KINDS[d.kind].metrics as Record<string, { unit: string }>)[k]?.unit ?? ''])),
              }
            : null,
        }
      }),
    )
  })

  /** A mine, or the mines of a region (and the regions under it) the person may see, as one scope. */
  const scopeOf = async (request: Parameters<Auth['user']>[0], mineId: string | undefined, regionId: string | undefined) => {
    if ((mineId === undefined) === (regionId === undefined)) throw new HttpError('MW_BAD_QUERY', '请指定 mine 或 region 之一 (name either mine or region)')
    if (mineId !== undefined) {
      const mine = await visibleMine(request, mineId)
      return { ...mine, mineIds: [mine.id] }
    }
    const user = await opts.auth.user(request)
    const mines = opts.site.mines.filter((m) => opts.access.inRegion(m.id, regionId!) && opts.access.canSee(user, m.id))
    if (mines.length === 0) throw new HttpError('MW_NOT_FOUND', `地区 ${regionId} 中没有您可查看的矿山 (no mine you may see in that region)`)
    const region = opts.site.regions.find((r) => r.id === regionId)
    return {
      id: regionId!,
      name: region?.name ?? regionId!,
      timezone: mines[0]!.timezone,
      mineIds: mines.map((m) => m.id),
      devices: mines.flatMap((m) => m.devices.map((d) => ({ ...d, name: `${m.name} · ${d.name}` }))),
    }
  }

  typed.get(
    '/api/reports/monthly',
    {
      schema: {
        summary: '月报 a mine’s month: warnings by level and rule, time to sign (median, 95th percentile), 当天处置率, overdue, calls, 数据到报率; JSON, CSV, .xlsx or PDF',
        tags: ['reports'],
        querystring: z.strictObject({
          mine: z.string().min(1).optional(),
          /** A region (its sub-regions included): the mines of it the person may see, together. */
          region: z.string().min(1).optional(),
          month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, { error: 'expected a month as YYYY-MM' }),
          format: z.enum(['json', 'csv', 'xlsx', 'pdf']).default('json'),
        }),
      },
    },
    async (request, reply) => {
      const q = request.query
      const mine = await scopeOf(request, q.mine, q.region)
      if (q.format === 'pdf' && !opts.pdfFont)
        throw new HttpError(
          'MW_PDF_NO_FONT',
          '没有可用的中文字体, 无法生成 PDF: 请安装 fonts-wqy-microhei (apt-get install fonts-wqy-microhei) 或设置 MINEWATCH_PDF_FONT (no CJK font for the PDF: install fonts-wqy-microhei or set MINEWATCH_PDF_FONT)',
        )
      const { from, to } = monthRange(q.month, mine.timezone)
      const until = Math.min(to, opts.now())
      const record = await resolvedSince(opts.resolved, mine.mineIds, from)
      // each device's readings that arrived, against what its interval promises, over the month so far
      const devices = await Promise.all(
        mine.devices.map(async (d) => {
          const metric = Object.keys(KINDS[d.kind].metrics)[0]!
          const buckets = until > from ? await opts.downsample({ deviceId: d.id, metric, from, to: until, every: 86_400_000, limit: 40 }) : []
          return { id: d.id, name: d.name, expected: Math.max(0, Math.floor((until - from) / (d.interval * 1000))), received: buckets.reduce((n, b) => n + b.count, 0) }
        }),
      )
      const links = opts.links?.(mine.mineIds, from, until) ?? []
      // what the mine platforms reported, where one reports (its link is in the report)
      const reported = links.length > 0 ? (opts.reported?.tally(mine.mineIds, q.month) ?? null) : null
      const alerts = [...opts.alerts(), ...record.alerts]
      const calls = await opts.callsOf([...new Set(alerts.filter((a) => a.mineId === mine.id).map((a) => a.id))])
      const report = { ...monthlyReport({ mine, month: q.month, alerts, calls: (id) => calls.get(id) ?? [], devices, links, reported }), recordComplete: record.complete }
      const name = `minewatch-${mine.id}-${q.month}`
      if (q.format === 'csv') return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(monthlyCsv(report))
      if (q.format === 'xlsx')
        return reply
          .header('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
          .header('content-disposition', `attachment; filename="${name}.xlsx"`)
          .send(await monthlyXlsx(report))
      if (q.format === 'pdf')
        return reply
          .header('content-type', 'application/pdf')
          .header('content-disposition', `attachment; filename="${name}.pdf"`)
          .send(await monthlyPdf(report, opts.pdfFont!, opts.now()))
      return report
    },
  )

  typed.get('/api/reports/daily', { schema: { summary: '日报 a mine’s warnings of a local day, as JSON or CSV', tags: ['reports'], querystring: reportQuery } }, async (request, reply) => {
    const q = { data: request.query }
    const mine = await visibleMine(request, q.data.mine)
    const report = dailyReport(opts.alerts(), mine.id, q.data.date, mine.timezone)
    if (q.data.format === 'csv') {
      reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="minewatch-${mine.id}-${q.data.date}.csv"`)
      return reportCsv(report)
    }
    return report
  })
}
