import { describe, expect, it } from 'vitest'
import { findPdfFont } from '../../dashboard/monthly-pdf.js'

describe('the 月报 PDF’s font', () => {
  const installed =
    (...files: string[]) =>
    (file: string) =>
      files.includes(file)

  it('takes MINEWATCH_PDF_FONT when its file is there, with the face of a collection after #', () => {
    expect(findPdfFont('/opt/fonts/simhei.ttf', installed('/opt/fonts/simhei.ttf'))).toEqual({ file: '/opt/fonts/simhei.ttf', face: undefined })
    expect(findPdfFont('/opt/fonts/cjk.ttc#NotoSansCJKsc-Regular', installed('/opt/fonts/cjk.ttc'))).toEqual({ file: '/opt/fonts/cjk.ttc', face: 'NotoSansCJKsc-Regular' })
    // set but missing: none, rather than one the person did not ask for
    expect(findPdfFont('/opt/fonts/missing.ttf', installed('/usr/share/fonts/truetype/wqy/wqy-microhei.ttc'))).toBeUndefined()
  })

  it('otherwise finds Debian’s CJK fonts in order of preference, or none', () => {
    expect(findPdfFont(undefined, installed('/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc', '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf'))).toEqual({
      file: '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc',
      face: 'WenQuanYiZenHei',
    })
    expect(findPdfFont(undefined, installed())).toBeUndefined()
  })
})
