import type { default as DHT } from 'hyperdht'
import { toHex } from './keys.js'

/**
 * hyperdht says nothing about whether a connection is relayed, so p2pchat
 * derives it: a relayed raw stream is connected to the relay's address, a
 * direct one to the peer's. We learn each relay's address as our node sees it
 * the same way hyperdht reaches the relay (a connection to its key), and
 * compare. When a relayed connection upgrades, the raw stream emits
 * 'remote-changed' and the comparison is made again.
 */
export async function resolveRelayAddresses(dht: DHT, relays: Buffer[], timeoutMs: number): Promise<Map<string, string>> {
  const found = new Map<string, string>()
  await Promise.all(
    relays.map(
      (key) =>
        new Promise<void>((resolve) => {
          const socket = dht.connect(key)
          const done = () => {
            clearTimeout(timer)
            socket.destroy()
            resolve()
          }
          const timer = setTimeout(done, timeoutMs)
          socket.on('error', () => {})
          socket.once('open', () => {
            const raw = socket.rawStream
            if (raw?.remoteHost) found.set(`${raw.remoteHost}:${raw.remotePort}`, toHex(key))
            done()
          })
          socket.once('close', done)
        })
    )
  )
  return found
}
