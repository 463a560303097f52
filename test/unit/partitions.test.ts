import { describe, expect, it } from 'vitest'
import { planLeases, preferredOwner } from '../../alerting/partitions.js'

const MINES = Array.from({ length: 500 }, (_, i) => `mine-${i}`)
const share = (members: string[]) => {
  const n = new Map(members.map((m) => [m, 0]))
  for (const mine of MINES) n.set(preferredOwner(mine, members)!, n.get(preferredOwner(mine, members)!)! + 1)
  return n
}

describe('one owner per mine: who should own which (rendezvous hashing)', () => {
  it('gives every node the same answer whatever order it lists the members in', () => {
    for (const mine of MINES.slice(0, 50)) expect(preferredOwner(mine, ['a', 'b', 'c'])).toBe(preferredOwner(mine, ['c', 'a', 'b']))
    expect(preferredOwner('mine-1', [])).toBeUndefined()
  })

  it('spreads a province’s 500 mines evenly over three nodes (each within 20% of a third)', () => {
    for (const [, count] of share(['node-a', 'node-b', 'node-c'])) expect(Math.abs(count - 500 / 3)).toBeLessThan((500 / 3) * 0.2)
  })

  it('moves only the mines a node gains when it joins, and only those it had when it leaves', () => {
    const before = new Map(MINES.map((m) => [m, preferredOwner(m, ['node-a', 'node-b'])]))
    const after = new Map(MINES.map((m) => [m, preferredOwner(m, ['node-a', 'node-b', 'node-c'])]))
    for (const m of MINES) if (before.get(m) !== after.get(m)) expect(after.get(m)).toBe('node-c')
    // about a third move, none needlessly
    const moved = MINES.filter((m) => before.get(m) !== after.get(m)).length
    expect(moved).toBeGreaterThan(500 / 3 - 50)
    expect(moved).toBeLessThan(500 / 3 + 50)
  })
})

describe('one owner per mine: a node’s round of leases', () => {
  const mines = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6']
  const members = ['node-a', 'node-b']
  const mineFor = (node: string) => mines.filter((m) => preferredOwner(m, members) === node)

  it('takes the free mines it is preferred for, renews what it keeps, and leaves the others to their node', () => {
    const plan = planLeases('node-a', mines, members, new Map())
    expect(plan.acquire).toEqual(mineFor('node-a'))
    expect(plan.renew).toEqual([])
    const held = new Map(mineFor('node-a').map((m) => [m, 'node-a']))
    expect(planLeases('node-a', mines, members, held)).toEqual({ acquire: [], release: [], renew: mineFor('node-a') })
  })

  it('hands a mine back only to a live node preferred for it, and keeps the mines of a node that is gone until their leases are free', () => {
    // alone, node-a took everything
    const all = new Map(mines.map((m) => [m, 'node-a']))
    expect(planLeases('node-a', mines, ['node-a'], all).renew).toEqual(mines)
    // node-b joins: node-a hands back node-b's share, keeps its own
    expect(planLeases('node-a', mines, members, all)).toEqual({ acquire: [], release: mineFor('node-b'), renew: mineFor('node-a') })
    // node-b is gone (not a member): its mines' leases, once lapsed, are taken by node-a
    const free = new Map(mineFor('node-a').map((m) => [m, 'node-a']))
    expect(planLeases('node-a', mines, ['node-a'], free).acquire).toEqual(mineFor('node-b'))
  })

  it('takes a free mine another live node is preferred for after three rounds it left it free (a node that heartbeats but cannot take leases)', () => {
    const theirs = mineFor('node-b')
    expect(planLeases('node-a', mines, members, new Map(), new Map(theirs.map((m) => [m, 2]))).acquire).toEqual(mineFor('node-a'))
    expect(planLeases('node-a', mines, members, new Map(), new Map(theirs.map((m) => [m, 3]))).acquire).toEqual(mines)
  })

  it('never takes a mine another node holds', () => {
    const held = new Map(mines.map((m) => [m, 'node-b']))
    expect(planLeases('node-a', mines, members, held)).toEqual({ acquire: [], release: [], renew: [] })
  })
})
