import { describe, expect, it } from 'vitest'
import { Access } from '../../dashboard/access.js'

/** A region's mines for its reports: the mines of the region and of every region under it, no other. */
describe('mines in a region', () => {
  it('counts a city’s mines in its province, not in a sibling city, and survives a loop in the site', () => {
    const access = new Access({
      regions: [{ id: 'sd' }, { id: 'yt', parent: 'sd' }, { id: 'wh', parent: 'sd' }, { id: 'a', parent: 'b' }, { id: 'b', parent: 'a' }],
      mines: [
        { id: 'jinshan', region: 'yt' },
        { id: 'rushan', region: 'wh' },
        { id: 'loop', region: 'a' },
      ],
    })
    expect(access.inRegion('jinshan', 'sd')).toBe(true)
    expect(access.inRegion('jinshan', 'yt')).toBe(true)
    expect(access.inRegion('jinshan', 'wh')).toBe(false)
    expect(access.inRegion('rushan', 'yt')).toBe(false)
    expect(access.inRegion('loop', 'sd')).toBe(false)
    expect(access.inRegion('nowhere', 'sd')).toBe(false)
  })
})
