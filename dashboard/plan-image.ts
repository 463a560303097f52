import { z } from 'zod'
import { idSchema } from '../ingest/contract/ids.js'

/**
 * A mine's site plan (测点布置图, issue 14 item 3): a drawing uploaded per mine (the CAD plan of
 * the pit or the dam exported as PNG or JPEG) with the devices placed on it, each as a fraction of
 * the drawing's width and height from its top left corner, so that the places stay where they
 * were whatever size the screen draws the drawing at. The image's file lives in the data
 * directory under a name made from its content (`<mine>-<sha256 prefix>.png`); the site holds the
 * name, the size and the places.
 */
export const PLAN_TYPES = { png: 'image/png', jpg: 'image/jpeg' } as const
export const PLAN_MAX_BYTES = 8 * 1024 * 1024

const fraction = z
  .number({ error: 'expected a fraction of the drawing (0 to 1)' })
  .min(0, { error: 'expected a fraction of the drawing (0 to 1)' })
  .max(1, { error: 'expected a fraction of the drawing (0 to 1)' })

export const planSchema = z.strictObject({
  image: z.string().regex(/^[a-z0-9][a-z0-9-]*\.(png|jpg)$/, { error: 'expected the name of an uploaded drawing, such as mine-a-1f2e3d4c5b6a.png' }),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** deviceId → where it stands on the drawing. */
  positions: z.record(idSchema, z.strictObject({ x: fraction, y: fraction })).default({}),
})
export type Plan = z.infer<typeof planSchema>

interface PlansSite {
  readonly mines: readonly { readonly plan?: Plan | undefined; readonly devices: readonly { readonly id: string }[] }[]
}

/** A place for a device the mine does not have is an error in the site, reported at the place. */
export function checkPlans(site: PlansSite, ctx: z.RefinementCtx): void {
  site.mines.forEach((m, i) => {
    for (const id of Object.keys(m.plan?.positions ?? {}))
      if (!m.devices.some((d) => d.id === id)) ctx.addIssue({ code: 'custom', path: ['mines', i, 'plan', 'positions', id], message: `"${id}" is not a device of this mine` })
  })
}

/**
 * What an uploaded file is, from its own bytes, and its size in pixels: PNG (its IHDR chunk) or
 * baseline/progressive JPEG (its SOF marker). Anything else, whatever its name or the type its
 * upload claimed (an HTML page, an SVG with a script), is refused.
 */
export function imageSize(bytes: Uint8Array): { ext: keyof typeof PLAN_TYPES; width: number; height: number } | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a && b.toString('latin1', 12, 16) === 'IHDR') {
    const width = b.readUInt32BE(16)
    const height = b.readUInt32BE(20)
    return width > 0 && height > 0 ? { ext: 'png', width, height } : undefined
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    // markers from the start of the image: each after the first has its length; SOF0–SOF15 but DHT (C4), JPG (C8), DAC (CC) carry the size
    for (let at = 2; at + 9 < b.length;) {
      if (b[at] !== 0xff) return undefined
      const marker = b[at + 1]!
      if (marker === 0xff) {
        at++
        continue
      }
      const length = b.readUInt16BE(at + 2)
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        const height = b.readUInt16BE(at + 5)
        const width = b.readUInt16BE(at + 7)
        return width > 0 && height > 0 ? { ext: 'jpg', width, height } : undefined
      }
      at += 2 + length
    }
  }
  return undefined
}
