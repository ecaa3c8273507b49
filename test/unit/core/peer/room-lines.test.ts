import { describe, expect, it } from 'vitest'
import { roomLine } from '../../../../src/core/peer/room-lines.js'

describe('roomLine (what a peer joining a room is told)', () => {
  it('says nothing when the newcomer is alone (a one-to-one chat gets no extra line)', () => {
    expect(roomLine([])).toBeNull()
  })

  it('names the others, with the count', () => {
    expect(roomLine(['alice'])).toBe('* in the room: alice (1 other)')
    expect(roomLine(['alice', '9c21ab04'])).toBe('* in the room: alice, 9c21ab04 (2 others)')
  })

  it('stays one short line in a big room: ten names, then how many more', () => {
    const names = Array.from({ length: 250 }, (_, i) => `peer${i}`)
    const line = roomLine(names)
    expect(line).toMatch(/^\* in the room: peer0, peer1, .*, peer9 and 240 more \(250 others\)$/)
    expect(line).not.toContain('\n')
    expect(line).not.toContain('peer10')
  })
})
