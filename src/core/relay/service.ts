import { EventEmitter } from 'node:events'
import type { default as DHT, HostPort, KeyPair, NoiseStream, RawStream, Server } from 'hyperdht'
import relayModule, { type PairMessage, type Session } from 'blind-relay'
import { toHex } from '../store/keys.js'
import { leaveNetwork } from '../dht/network.js'

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

/**
 * Whom a relay serves. Without a policy (`p2pchat relay`) it pairs any two
 * requests with one token. A room member's volunteer relay has one: it pairs
 * only requests of which one comes from the room's listener, and caps what
 * it carries.
 */
export interface RelayPolicy {
  /** Relay only pairs one end of which connects to the relay with this key (the room's listener). */
  onlyFor: Buffer
  /** Most relayed pairs at once; more are refused. */
  maxPairs: number
  /** Most bytes per second one pair may average over RATE_WINDOW_MS; a pair over it is cut. */
  maxBytesPerSec: number
}

/** What a relay does, for its screen and --json. Keys are hex; `peer` is the end that is not the listener (with a policy). */
export interface RelayServiceEvents {
  paired: [peer: string, other: string, active: number]
  unpaired: [peer: string, bytes: number, active: number]
  /** A request it would not serve: no pair with the room's listener, or the cap reached. */
  refused: [peer: string, reason: 'outsider' | 'full']
  /** A pair averaged more than the policy's rate: its streams were closed. */
  cut: [peer: string, bytesPerSec: number]
}

/** How long a request from anyone but the listener waits for the listener's half of its pair. */
const OUTSIDER_WAIT_MS = 10_000
/** The window the rate cap averages over, and how often it is checked. */
const RATE_WINDOW_MS = 10_000
const RATE_CHECK_MS = 1000

interface LivePair {
  token: string
  /** Each end's key (hex), as it connected to the relay. */
  ends: string[]
  streams: RawStream[]
  /** (time, bytes) samples for the rate cap. */
  samples: Array<{ at: number; bytes: number }>
  over: boolean
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
 * Connects a pair's stream toward one end at once, to the address that end's
 * connection to the relay comes from (where hyperdht sends its relayed
 * packets from), instead of on that end's first packet, as blind-relay does.
 * An end that hole-punched before the pairing completed never sends one, so
 * what the other end already sent through the relay (its stream header)
 * would be dropped here, and that other end could never move to the direct
 * path (it waits for those packets to be acknowledged): a half-open pair.
 * See docs/relaying.md#both-ends-must-agree-on-the-path.
 */
function connectLink(stream: RawStream, socket: NoiseStream, remoteId: number): void {
  const raw = socket.rawStream as (RawStream & { socket?: unknown; connected?: boolean; connect?: (...a: unknown[]) => void }) | null
  const link = stream as RawStream & { connected?: boolean; connect?: (...a: unknown[]) => void }
  if (!raw?.socket || !raw.remoteHost || link.connected || typeof link.connect !== 'function') return
  try {
    link.connect(raw.socket, remoteId, raw.remotePort, raw.remoteHost)
  } catch {
    // blind-relay connects it on that end's first packet, as before
  }
}

/**
 * A blind relay on a stable key, as hyperdht's own relaying example runs it:
 * peers that cannot reach each other directly both connect here and their
 * raw streams are paired. The relay sees only encrypted bytes.
 */
export class RelayService extends EventEmitter<RelayServiceEvents> {
  private server: Server | null = null
  private readonly relay: InstanceType<typeof relayModule.Server>
  private readonly streams = new Set<RawStream>()
  /** The peers' connections to the relay (their pairing requests ride on them). */
  private readonly peers = new Set<NoiseStream>()
  private closedBytes = 0
  private closing: Promise<void> | null = null
  /** With a policy: sessions opened by the room's listener. */
  private readonly listenerSessions = new WeakSet<Session>()
  /** With a policy: requests from others, waiting for the listener's half (by token). */
  private readonly waiting = new Map<string, { deliver(): void; session: Session; peer: string; timer: NodeJS.Timeout }>()
  private readonly pairs = new Map<string, LivePair>()
  private rateTimer: NodeJS.Timeout | null = null

  constructor(
    readonly dht: DHT,
    readonly keyPair: KeyPair,
    private readonly policy: RelayPolicy | null = null,
    private readonly now: () => number = Date.now
  ) {
    super()
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
    const policy = this.policy
    // With a policy, a bounded number of connections: each is cheap, but not free.
    const firewall = policy ? () => this.peers.size >= policy.maxPairs * 4 : undefined
    const server = this.dht.createServer(firewall ? { firewall } : {}, (socket) => {
      this.peers.add(socket)
      socket.once('close', () => this.peers.delete(socket))
      const session = this.relay.accept(socket, { id: socket.remotePublicKey })
      // Timeouts and resets are normal for relayed peers.
      session.on('error', () => {})
      socket.on('error', () => {})
      const peer = toHex(socket.remotePublicKey)
      if (policy) this.guard(session, peer, socket.remotePublicKey.equals(policy.onlyFor))
      session.on('pair', (_isInitiator: boolean, token: Buffer, stream: RawStream, remoteId: number) => {
        connectLink(stream, socket, remoteId)
        this.linked(token.toString('hex'), peer, stream)
      })
    })
    this.server = server
    await server.listen(this.keyPair)
  }

  /**
   * Serves a pairing request only when its pair includes the room's
   * listener: the listener's own requests at once; anyone else's when the
   * listener's half with the same token is there, or arrives within
   * OUTSIDER_WAIT_MS (the two ends ask at about the same time, in either
   * order). A request that is refused closes its channel, which its sender
   * sees at once as CHANNEL_CLOSED.
   */
  private guard(session: Session, peer: string, fromListener: boolean): void {
    const policy = this.policy!
    if (fromListener) this.listenerSessions.add(session)
    const serve = session._pair.onmessage
    const refuse = (reason: 'outsider' | 'full') => {
      this.emit('refused', peer, reason)
      session.destroy()
    }
    session._pair.onmessage = (message: PairMessage, channel: unknown) => {
      const token = message.token.toString('hex')
      const deliver = () => {
        if (!session.closed) serve(message, channel)
      }
      const waiting = this.waiting.get(token)
      if (fromListener) {
        if (this.relay.stats.pairings.active >= policy.maxPairs) {
          // Full. The listener's session carries all its pairs through this
          // relay (one shared link): leave it be and drop just this request
          // (hyperdht gives up on it after 15 s); the newcomer's half goes.
          if (waiting) {
            this.waiting.delete(token)
            clearTimeout(waiting.timer)
            this.emit('refused', waiting.peer, 'full')
            waiting.session.destroy()
          } else this.emit('refused', peer, 'full')
          return
        }
        deliver()
        if (waiting) {
          this.waiting.delete(token)
          clearTimeout(waiting.timer)
          waiting.deliver()
        }
        return
      }
      const half = this.relay._pairing.get(token)
      if (half?.links.some((link) => link && this.listenerSessions.has(link.session))) return deliver()
      if (waiting || this.waiting.size >= policy.maxPairs * 2) return refuse(waiting ? 'outsider' : 'full')
      const timer = setTimeout(() => {
        this.waiting.delete(token)
        refuse('outsider')
      }, OUTSIDER_WAIT_MS)
      timer.unref()
      this.waiting.set(token, { deliver, session, peer, timer })
      session.once('close', () => {
        if (this.waiting.get(token)?.session !== session) return
        clearTimeout(timer)
        this.waiting.delete(token)
      })
    }
  }

  /** One end of a pair is set up (blind-relay says so once per end). */
  private linked(token: string, peer: string, stream: RawStream): void {
    let pair = this.pairs.get(token)
    if (!pair) {
      pair = { token, ends: [], streams: [], samples: [], over: false }
      this.pairs.set(token, pair)
    }
    pair.ends.push(peer)
    pair.streams.push(stream)
    const live = pair
    stream.once('close', () => this.unlinked(live))
    if (pair.streams.length !== 2) return
    const [end, other] = this.sides(pair)
    this.emit('paired', end, other, this.pairs.size)
    if (this.policy && !this.rateTimer) {
      this.rateTimer = setInterval(() => this.checkRates(), RATE_CHECK_MS)
      this.rateTimer.unref()
    }
  }

  private unlinked(pair: LivePair): void {
    if (this.pairs.get(pair.token) !== pair) return
    this.pairs.delete(pair.token)
    for (const s of pair.streams) s.destroy()
    const bytes = pair.streams.reduce((n, s) => n + s.bytesReceived, 0)
    if (pair.streams.length === 2) this.emit('unpaired', this.sides(pair)[0], bytes, this.pairs.size)
    if (this.pairs.size === 0 && this.rateTimer) {
      clearInterval(this.rateTimer)
      this.rateTimer = null
    }
  }

  /** [the end that is not the room's listener (or the first), the other]. */
  private sides(pair: LivePair): [string, string] {
    const listener = this.policy ? toHex(this.policy.onlyFor) : null
    const [a = '', b = ''] = pair.ends
    return a === listener ? [b, a] : [a, b]
  }

  /** Cuts a pair that averaged more than the policy's rate over the last RATE_WINDOW_MS. */
  private checkRates(): void {
    const max = this.policy?.maxBytesPerSec
    if (!max) return
    const at = this.now()
    for (const pair of [...this.pairs.values()]) {
      const bytes = pair.streams.reduce((n, s) => n + s.bytesReceived, 0)
      pair.samples.push({ at, bytes })
      while (pair.samples.length > 1 && at - pair.samples[0]!.at > RATE_WINDOW_MS) pair.samples.shift()
      const first = pair.samples[0]!
      // Judged over a full window only: a burst (a pasted file) is fine.
      if (at - first.at < RATE_WINDOW_MS - RATE_CHECK_MS) continue
      const rate = ((bytes - first.bytes) * 1000) / (at - first.at)
      if (rate <= max) continue
      this.emit('cut', this.sides(pair)[0], Math.round(rate))
      this.unlinked(pair)
    }
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

  /**
   * Stops relaying: ends the peers' connections, unannounces the key and,
   * unless `keepNode` (a volunteer shares its node with a chat), destroys
   * the DHT node.
   */
  close(opts: { keepNode?: boolean; unannounceMs?: number } = {}): Promise<void> {
    this.closing ??= (async () => {
      if (this.rateTimer) clearInterval(this.rateTimer)
      for (const w of this.waiting.values()) clearTimeout(w.timer)
      this.waiting.clear()
      let unannounced: NodeJS.Timeout | undefined
      await Promise.race([
        this.server?.close().catch(() => {}),
        new Promise((resolve) => (unannounced = setTimeout(resolve, opts.unannounceMs ?? 2 ** 31 - 1)))
      ])
      clearTimeout(unannounced)
      // End the peers' connections to the relay first, so that both ends of
      // every relayed pair hear at once that the relay is gone: their relayed
      // streams carry no word of it (the relay only forwards their packets).
      for (const socket of this.peers) socket.end()
      let timer: NodeJS.Timeout | undefined
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))
      await Promise.race([this.relay.close().catch(() => {}), grace])
      clearTimeout(timer)
      for (const socket of this.peers) socket.destroy()
      if (!opts.keepNode) await leaveNetwork(this.dht)
    })()
    return this.closing
  }
}
