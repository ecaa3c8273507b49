/**
 * The two signed DHT records of volunteer relaying (see docs/relaying.md):
 * a member's "my relay R serves the room of listener L" (mutablePut at the
 * member's key) and the listener's list of its room's relays (at its key).
 * Both are read from the network: decoding accepts nothing malformed.
 */

/** Most relays a listener lists for its room. */
export const MAX_ROOM_RELAYS = 8
const RECORD_VERSION = 1
const KEY_BYTES = 32

/** The member's record: version, the listener's key, the relay's key. */
export function encodeMemberRecord(listener: Buffer, relay: Buffer): Buffer {
  return Buffer.concat([Buffer.from([RECORD_VERSION]), listener, relay])
}

export function decodeMemberRecord(value: Buffer): { listener: Buffer; relay: Buffer } | null {
  if (value.byteLength !== 1 + 2 * KEY_BYTES || value[0] !== RECORD_VERSION) return null
  return { listener: value.subarray(1, 1 + KEY_BYTES), relay: value.subarray(1 + KEY_BYTES) }
}

/** The listener's record: version, count, the relays' keys. */
export function encodeRoomRelays(relays: Buffer[]): Buffer {
  const list = relays.slice(0, MAX_ROOM_RELAYS)
  return Buffer.concat([Buffer.from([RECORD_VERSION, list.length]), ...list])
}

/** The relays in a listener's record; none for anything malformed (it came from the network). */
export function decodeRoomRelays(value: Buffer): Buffer[] {
  if (value.byteLength < 2 || value[0] !== RECORD_VERSION) return []
  const count = value[1]!
  if (count > MAX_ROOM_RELAYS || value.byteLength !== 2 + count * KEY_BYTES) return []
  const out: Buffer[] = []
  for (let i = 0; i < count; i++) out.push(Buffer.from(value.subarray(2 + i * KEY_BYTES, 2 + (i + 1) * KEY_BYTES)))
  return out
}

/**
 * The relays of a list read from the network that may be dialled: each
 * once, in order, and none of `forbidden` (the reader's own key, the
 * listener's, members' chat keys: dialling one of those as a relay would
 * make the reader connect to itself, or to a chat identity, never to a
 * volunteer's relay, which runs on a key of its own).
 */
export function acceptableRelays(relays: Buffer[], forbidden: Buffer[]): Buffer[] {
  const seen = new Set(forbidden.map((k) => k.toString('hex')))
  const out: Buffer[] = []
  for (const relay of relays) {
    const hex = relay.toString('hex')
    if (relay.byteLength !== KEY_BYTES || seen.has(hex)) continue
    seen.add(hex)
    out.push(relay)
  }
  return out
}

let lastSeq = 0
/** A record's sequence number: the clock in ms, always growing, so a newer record replaces an older one (also across restarts). */
export function nextSeq(now: number): number {
  lastSeq = Math.max(now, lastSeq + 1)
  return lastSeq
}

