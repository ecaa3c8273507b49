import type { default as DHT, HostPort, KeyPair, NoiseStream, RawStream, Server } from 'hyperdht'
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

/** Whether peers can reach the relay's UDP port without hole punching. */
export interface RelayReachability {
  reachable: boolean
  /** Its public address when reachable. */
  address: HostPort | null
  /** Why not, in plain words, when not reachable. */
  reason: string | null
}

/** How many times the firewall probe is asked before the relay is declared unreachable. */
const REACHABILITY_PROBES = 3
const REACHABILITY_PROBE_GAP_MS = 1000
/** On close, how long the peers get to end their connections to the relay before they are destroyed. */
const CLOSE_GRACE_MS = 1000

/**
 * dht-rpc 6.27 (under hyperdht 6.32.0 and 6.34.0) internals used to ask the network whether
 * this node's server socket takes unsolicited UDP: the same probe dht-rpc
 * runs itself once at start, where a race with the first bootstrap query
 * often skips it, and otherwise only after ~20 minutes of uptime.
 */
interface FirewallProbe {
  _updateNetworkState?: (onlyFirewall: boolean) => Promise<boolean>
  remoteAddress?: () => HostPort | null
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
  /** The peers' connections to the relay (their pairing requests ride on them). */
  private readonly peers = new Set<NoiseStream>()
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
      this.peers.add(socket)
      socket.once('close', () => this.peers.delete(socket))
      const session = this.relay.accept(socket, { id: socket.remotePublicKey })
      // Timeouts and resets are normal for relayed peers.
      session.on('error', () => {})
      socket.on('error', () => {})
    })
    this.server = server
    await server.listen(this.keyPair)
  }

  /**
   * Makes sure the DHT knows whether this relay takes unsolicited UDP, and
   * says. A node starts "firewalled" until DHT nodes confirm they can ping
   * its server port; while it believes it is firewalled, the relay answers
   * every peer with hole punching instead of its open address, which peers
   * behind randomizing NATs sometimes lose (CHANNEL_CLOSED / RELAY_ABORTED
   * after 13-15 s in the NAT lab). Nothing is claimed without the probe.
   */
  async checkReachability(sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<RelayReachability> {
    const dht = this.dht as unknown as DHT & FirewallProbe
    for (let i = 0; i < REACHABILITY_PROBES && dht.firewalled && !dht.randomized && !dht.destroyed; i++) {
      if (i > 0) await sleep(REACHABILITY_PROBE_GAP_MS)
      await dht._updateNetworkState?.(true).catch(() => false)
    }
    const address = dht.remoteAddress?.() ?? null
    if (!dht.firewalled && address) return { reachable: true, address, reason: null }
    const reason = dht.randomized
      ? 'this host is behind a NAT that gives every destination a different port'
      : dht.host === null
        ? 'the DHT nodes did not tell it its public address'
        : `DHT nodes could not reach its UDP port from outside (a firewall or NAT drops unsolicited UDP to ${dht.host})`
    return { reachable: false, address: null, reason }
  }

  stats(): RelayStats {
    let bytes = this.closedBytes
    for (const s of this.streams) bytes += s.bytesReceived
    return { active: this.relay.stats.pairings.active, total: this.relay.stats.pairings.matched, bytes }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.server?.close().catch(() => {})
      // End the peers' connections to the relay first, so that both ends of
      // every relayed pair hear at once that the relay is gone: their relayed
      // streams carry no word of it (the relay only forwards their packets).
      for (const socket of this.peers) socket.end()
      let timer: NodeJS.Timeout | undefined
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))
      await Promise.race([this.relay.close().catch(() => {}), grace])
      clearTimeout(timer)
      for (const socket of this.peers) socket.destroy()
      await leaveNetwork(this.dht)
    })()
    return this.closing
  }
}
