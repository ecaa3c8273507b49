import { EventEmitter } from 'node:events'
import type { default as DHT, NoiseStream } from 'hyperdht'
import { toHex } from '../store/keys.js'

/**
 * hyperdht says nothing about whether a connection is relayed, so p2pchat
 * derives it. A relayed raw stream is connected to the address of the very
 * socket hyperdht opened to the relay; a direct one to the peer's address.
 * hyperdht opens that relay socket with `dht.connect(relayKey)` on the same
 * node (for a relay either side configured), so we watch the node's
 * connect() and record, for every connection to a key that is not the peer
 * we dial, the remote address it opened to. A fresh connection of our own
 * to the relay would not do: a firewalled relay answers each connection on
 * a different port (seen in the NAT lab).
 *
 * Returns the live map (host:port → relay key hex) to classify paths with.
 * It also says when a relay ended its connection to us or stopped answering
 * ('gone'): the relayed streams themselves carry no word of that, the relay
 * only forwards their packets, so without this a relayed chat would learn it
 * only from its idle timeout.
 */
export class RelayAddresses extends Map<string, string> {
  readonly events = new EventEmitter<{ gone: [address: string] }>()
}

export function trackRelaySockets(dht: DHT, isPeer: (key: Buffer) => boolean = () => false): RelayAddresses {
  const relays = new RelayAddresses()
  relays.events.setMaxListeners(0)
  const connect = dht.connect.bind(dht)
  dht.connect = ((publicKey: Buffer, opts?: Parameters<DHT['connect']>[1]): NoiseStream => {
    const socket = connect(publicKey, opts)
    if (!isPeer(publicKey)) {
      socket.once('open', () => {
        const raw = socket.rawStream
        if (!raw?.remoteHost) return
        const address = `${raw.remoteHost}:${raw.remotePort}`
        relays.set(address, toHex(publicKey))
        // The relay ended it (a clean stop) or it timed out (keep-alives
        // unanswered); hyperdht's own destroy of a finished pairing is neither.
        const gone = () => relays.events.emit('gone', address)
        socket.once('end', gone)
        socket.once('error', gone)
      })
    }
    return socket
  }) as DHT['connect']
  return relays
}
