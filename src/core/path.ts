import type { default as DHT, NoiseStream } from 'hyperdht'
import { toHex } from './keys.js'

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
 */
export function trackRelaySockets(dht: DHT, isPeer: (key: Buffer) => boolean = () => false): Map<string, string> {
  const relays = new Map<string, string>()
  const connect = dht.connect.bind(dht)
  dht.connect = ((publicKey: Buffer, opts?: Parameters<DHT['connect']>[1]): NoiseStream => {
    const socket = connect(publicKey, opts)
    if (!isPeer(publicKey)) {
      socket.once('open', () => {
        const raw = socket.rawStream
        if (raw?.remoteHost) relays.set(`${raw.remoteHost}:${raw.remotePort}`, toHex(publicKey))
      })
    }
    return socket
  }) as DHT['connect']
  return relays
}
