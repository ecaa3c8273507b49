import type { default as DHT, KeyPair, RawStream, Server } from 'hyperdht'
import relayModule from 'blind-relay'
import { leaveNetwork } from './network.js'

export interface RelayStats {
  /** Relayed connections now. */
  active: number
  /** Relayed connections since start. */
  total: number
  /** Bytes received on relayed streams (each byte is forwarded once; all of it encrypted end to end). */
  bytes: number
}

/**
 * A blind relay on a stable key, as hyperdht's own relaying example runs it:
 * peers that cannot reach each other directly both connect here and their
 * raw streams are paired. The relay sees only encrypted bytes.
 */
export class RelayService {
  private server: Server | null = null
  private readonly relay: InstanceType<typeof relayModule.Server>
  private readonly streams = new Set<RawStream>()
  private closedBytes = 0
  private closing: Promise<void> | null = null

  constructor(
    readonly dht: DHT,
    readonly keyPair: KeyPair
  ) {
    this.relay = new relayModule.Server({
      createStream: (opts) => {
        const stream = dht.createRawStream({ ...opts, framed: true })
        this.streams.add(stream)
        stream.once('close', () => {
          this.closedBytes += stream.bytesReceived
          this.streams.delete(stream)
        })
        return stream
      }
    })
  }

  get publicKey(): Buffer {
    return this.keyPair.publicKey
  }

  async listen(): Promise<void> {
    const server = this.dht.createServer({}, (socket) => {
      const session = this.relay.accept(socket, { id: socket.remotePublicKey })
      // Timeouts and resets are normal for relayed peers.
      session.on('error', () => {})
      socket.on('error', () => {})
    })
    this.server = server
    await server.listen(this.keyPair)
  }

  stats(): RelayStats {
    let bytes = this.closedBytes
    for (const s of this.streams) bytes += s.bytesReceived
    return { active: this.relay.stats.pairings.active, total: this.relay.stats.pairings.matched, bytes }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.server?.close().catch(() => {})
      await this.relay.close().catch(() => {})
      await leaveNetwork(this.dht)
    })()
    return this.closing
  }
}
