import { EventEmitter } from 'node:events'
import relayModule from 'blind-relay'
import type { NoiseStream, RawStream } from 'hyperdht'
import { toHex } from '../store/keys.js'

/**
 * Which connections go through a relay, as each connection's own stream
 * says: a raw stream is relayed when a relay pairing connected it (hyperdht
 * hands it to blind-relay's Client.pair, and connects it to the relay once
 * paired) and it is still connected to that relay's address. A relayed
 * stream that hole-punches through moves to the peer's address: direct.
 *
 * hyperdht says nothing about it. Comparing addresses alone does not do: a
 * room member's volunteer relay runs on the member's own node, so the
 * member's direct chat and its relay are the very same UDP endpoint.
 */
interface RelayedVia {
  /** The relay's key, hex. */
  relay: string
  /** Our connection to the relay (its end is the relay going away). */
  socket: NoiseStream
}

const relayed = new WeakMap<object, RelayedVia>()
let watching = false

/** blind-relay's client, as far as this module uses it. */
interface RelayClient {
  readonly stream: NoiseStream
  pair(isInitiator: boolean, token: Buffer, stream: RawStream): EventEmitter
}

/**
 * Starts recording which raw streams relay pairings connect (once per
 * process; every pairing of every node goes through blind-relay's client).
 */
export function watchRelayPairings(): void {
  if (watching) return
  watching = true
  const proto = (relayModule as unknown as { Client: { prototype: RelayClient } }).Client.prototype
  const pair = proto.pair
  proto.pair = function (this: RelayClient, isInitiator: boolean, token: Buffer, stream: RawStream) {
    const request = pair.call(this, isInitiator, token, stream)
    const socket = this.stream
    request.once('data', () => relayed.set(stream, { relay: toHex(socket.remotePublicKey), socket }))
    return request
  }
}

/** The relay (hex key) a raw stream goes through now, or null for a direct one. */
export function relayOf(raw: RawStream | null): string | null {
  const via = raw ? relayed.get(raw) : undefined
  const toRelay = via?.socket.rawStream
  if (!raw || !via || !toRelay) return null
  return raw.remoteHost === toRelay.remoteHost && raw.remotePort === toRelay.remotePort ? via.relay : null
}

/**
 * Calls `onGone` when the relay a raw stream goes through ends our
 * connection to it (a clean stop) or stops answering, while the stream still
 * goes through it: the relayed stream carries no word of that (the relay only
 * forwards its packets). A stream that moved to a direct path is left alone.
 * Returns a function that stops watching.
 */
export function whenRelayGone(raw: RawStream, onGone: (relay: string) => void): () => void {
  const via = relayed.get(raw)
  if (!via) return () => {}
  const gone = () => {
    if (relayOf(raw) === via.relay) onGone(via.relay)
  }
  via.socket.once('end', gone)
  via.socket.once('error', gone)
  return () => {
    via.socket.off('end', gone)
    via.socket.off('error', gone)
  }
}
