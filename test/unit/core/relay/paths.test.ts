import { EventEmitter } from 'node:events'
import relayModule from 'blind-relay'
import type { NoiseStream, RawStream } from 'hyperdht'
import { afterAll, describe, expect, it } from 'vitest'
import { relayOf, watchRelayPairings, whenRelayGone } from '../../../../src/core/relay/paths.js'

// Which connections go through a relay, as each stream's own relay pairing
// says (issue 19 point 9). blind-relay's real pair() needs a relay session;
// here it is replaced by one that answers at once, before the wrapper is
// installed, so the wrapper's own logic is what runs.
type Proto = { pair: (isInitiator: boolean, token: Buffer, stream: unknown) => EventEmitter }
const proto = (relayModule as unknown as { Client: { prototype: Proto } }).Client.prototype
const realPair = proto.pair
proto.pair = () => new EventEmitter()
watchRelayPairings()
afterAll(() => {
  proto.pair = realPair
})

const RELAY_KEY = Buffer.alloc(32, 0xab)
const at = (host: string, port: number) => Object.assign(new EventEmitter(), { remoteHost: host, remotePort: port })

/** Our connection to a relay at host:port. */
function relayConnection(host: string, port: number): NoiseStream {
  return Object.assign(new EventEmitter(), { remotePublicKey: RELAY_KEY, rawStream: at(host, port) }) as unknown as NoiseStream
}

/** A raw stream paired at `relay` (the pairing completes), connected to `host:port`. */
function paired(relay: NoiseStream, host: string, port: number): RawStream & { remoteHost: string; remotePort: number } {
  const raw = at(host, port) as unknown as RawStream & { remoteHost: string; remotePort: number }
  const request = proto.pair.call({ stream: relay } as unknown as Proto, true, Buffer.alloc(32, 1), raw)
  request.emit('data', 7)
  return raw
}

describe('relayed paths, as the stream says', () => {
  it('a stream a relay pairing connected is relayed while it is at the relay, direct once it moved', () => {
    const relay = relayConnection('203.0.113.1', 4000)
    const raw = paired(relay, '203.0.113.1', 4000)
    expect(relayOf(raw)).toBe(RELAY_KEY.toString('hex'))
    raw.remoteHost = '198.51.100.7' // punched through: remote-changed
    raw.remotePort = 5000
    expect(relayOf(raw)).toBeNull()
  })

  it('a stream at the same address as a relay, that no pairing connected (a member whose volunteer relay shares its endpoint), is direct', () => {
    relayConnection('203.0.113.9', 4000)
    expect(relayOf(at('203.0.113.9', 4000) as unknown as RawStream)).toBeNull()
  })

  it("the relay going away ends only the streams still going through it: not one that moved, not a new one at the relay's address", () => {
    const relay = relayConnection('203.0.113.2', 4000)
    const through = paired(relay, '203.0.113.2', 4000)
    const moved = paired(relay, '203.0.113.2', 4000)
    moved.remoteHost = '198.51.100.8'
    // A member restarted at once on the same address: a new, direct stream there.
    const restarted = at('203.0.113.2', 4000) as unknown as RawStream
    const gone: string[] = []
    whenRelayGone(through, () => gone.push('through'))
    whenRelayGone(moved, () => gone.push('moved'))
    whenRelayGone(restarted, () => gone.push('restarted'))
    ;(relay as unknown as EventEmitter).emit('end')
    expect(gone).toEqual(['through'])
  })
})
