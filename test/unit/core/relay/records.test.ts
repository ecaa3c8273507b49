import { describe, expect, it } from 'vitest'
import { acceptableRelays, decodeMemberRecord, decodeRoomRelays, encodeMemberRecord, encodeRoomRelays, MAX_ROOM_RELAYS } from '../../../../src/core/relay/records.js'

const key = (n: number) => Buffer.alloc(32, n)

describe('volunteer records', () => {
  it("a member's record names the listener and the relay, and nothing else decodes", () => {
    const value = encodeMemberRecord(key(1), key(2))
    expect(value.byteLength).toBe(65)
    const decoded = decodeMemberRecord(value)!
    expect(decoded.listener.equals(key(1))).toBe(true)
    expect(decoded.relay.equals(key(2))).toBe(true)
    expect(decodeMemberRecord(value.subarray(0, 64))).toBeNull()
    expect(decodeMemberRecord(Buffer.concat([value, Buffer.from([0])]))).toBeNull()
    const other = Buffer.from(value)
    other[0] = 2
    expect(decodeMemberRecord(other)).toBeNull()
  })

  it("a listener's list round-trips, is capped, and anything malformed from the network lists nothing", () => {
    const relays = [key(3), key(4), key(5)]
    expect(decodeRoomRelays(encodeRoomRelays(relays)).map((r) => r[0])).toEqual([3, 4, 5])
    expect(decodeRoomRelays(encodeRoomRelays([]))).toEqual([])
    const many = Array.from({ length: MAX_ROOM_RELAYS + 3 }, (_, i) => key(i))
    expect(decodeRoomRelays(encodeRoomRelays(many))).toHaveLength(MAX_ROOM_RELAYS)
    // A count that does not match the length, a count over the cap, a wrong version, too short.
    expect(decodeRoomRelays(Buffer.concat([Buffer.from([1, 2]), key(1)]))).toEqual([])
    expect(decodeRoomRelays(Buffer.concat([Buffer.from([1, MAX_ROOM_RELAYS + 1]), ...Array.from({ length: MAX_ROOM_RELAYS + 1 }, () => key(1))]))).toEqual([])
    expect(decodeRoomRelays(Buffer.concat([Buffer.from([9, 1]), key(1)]))).toEqual([])
    expect(decodeRoomRelays(Buffer.from([1]))).toEqual([])
  })

  it('a list read from the network is dialled only for keys that may be relays: each once, none forbidden', () => {
    const hex = (keys: Buffer[]) => keys.map((k) => k[0])
    expect(hex(acceptableRelays([key(1), key(2), key(1), key(3), key(4)], [key(3), key(9)]))).toEqual([1, 2, 4])
    expect(acceptableRelays([key(5)], [key(5)])).toEqual([])
    expect(acceptableRelays([Buffer.alloc(31, 1)], [])).toEqual([])
  })
})

