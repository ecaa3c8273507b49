import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_LINE_BYTES } from '../../../../src/core/peer/framing.js'
import { MAX_ROOM_NAME_BYTES, MAX_SENDER_PREFIX_BYTES, ROOM_LINE_MAX_BYTES, roomLine, senderPrefix } from '../../../../src/core/peer/room-lines.js'

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

describe('senderPrefix (what a forwarded line starts with)', () => {
  it('is `[name] `, at most MAX_SENDER_PREFIX_BYTES long, so ROOM_LINE_MAX_BYTES holds any maximal line forwarded', () => {
    expect(senderPrefix('alice')).toBe('[alice] ')
    const longest = 'a'.repeat(MAX_ROOM_NAME_BYTES)
    expect(Buffer.byteLength(senderPrefix(longest))).toBe(MAX_SENDER_PREFIX_BYTES)
    expect(ROOM_LINE_MAX_BYTES).toBe(DEFAULT_MAX_LINE_BYTES + MAX_SENDER_PREFIX_BYTES)
  })

  it('cuts a name that would be longer (never the line), at a character boundary', () => {
    const prefix = senderPrefix('é'.repeat(40))
    expect(Buffer.byteLength(prefix)).toBeLessThanOrEqual(MAX_SENDER_PREFIX_BYTES)
    expect(prefix).toBe(`[${'é'.repeat(16)}] `)
  })
})
