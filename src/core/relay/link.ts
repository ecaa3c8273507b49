import type { default as DHT, NoiseStream } from 'hyperdht'
import relayModule from 'blind-relay'
import { toHex } from '../store/keys.js'

/**
 * One connection to a relay, opened before any relayed connection needs it
 * and shared by every relayed connection through that relay.
 *
 * Why: hyperdht would open a new connection to the relay inside each relayed
 * dial and give the punch to it and the pairing together 15 s; a random hole
 * punch (a randomizing NAT on one side) often takes longer, and its retry then
 * falls in hyperdht's 20 s random-punch pause. Opened ahead, the link has the
 * punch's whole window and the pairing is one round trip. The story and the
 * measurements: docs/relaying.md#why-a-relay-link-is-opened-first.
 *
 * hyperdht gets a view of the link per relayed connection (see RelayLinks),
 * whose end() and destroy() cancel only that connection's pairing.
 */
export class RelayLink {
  readonly socket: NoiseStream
  private readonly client: RelayClient
  readonly opened: Promise<boolean>
  /** Why it did not open or closed (hyperdht's error), when it said. */
  error: unknown = null
  /** Relayed connections using the link now. */
  views = 0
  /** Its owner watches its end (RoomRelays). */
  watched = false

  constructor(connect: (key: Buffer) => NoiseStream, relayKey: Buffer, openTimeoutMs: number) {
    this.socket = connect(relayKey)
    this.socket.on('error', (err: unknown) => {
      this.error ??= err
    })
    this.socket.setKeepAlive(LINK_KEEP_ALIVE_MS)
    this.client = (relayModule as unknown as { Client: ClientCache }).Client.from(this.socket, { id: this.socket.publicKey })
    // The relay closed our session (its channel), the socket aside: the link is no use any more.
    this.client.once?.('close', () => this.socket.destroy())
    this.opened = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), openTimeoutMs)
      timer.unref()
      this.socket.once('open', () => {
        clearTimeout(timer)
        resolve(true)
      })
      this.socket.once('close', () => {
        clearTimeout(timer)
        resolve(false)
      })
    }).then((open) => {
      if (!open) this.socket.destroy()
      return open
    })
  }

  get alive(): boolean {
    return !this.socket.destroyed
  }

  /** A view of the link for one relayed connection. */
  view(): NoiseStream {
    const { socket, client } = this
    let token: Buffer | null = null
    let released = false
    this.views++
    const release = () => {
      // This connection is done with the relay (ended, failed, or moved to a direct path).
      if (!released) this.views--
      released = true
      if (token && !socket.destroyed) {
        try {
          client.unpair(token)
        } catch {
          // the link is gone: so is the pairing
        }
      }
      token = null
      return view
    }
    const view = new Proxy(socket, {
      get(target, prop) {
        if (prop === 'destroy' || prop === 'end') return release
        const value = Reflect.get(target, prop, target) as unknown
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
      }
    })
    // hyperdht asks blind-relay for the client of the stream it got: this view's pairing goes through the link's client.
    const perView: RelayClient = {
      pair: (isInitiator, t, stream) => {
        token = t
        return client.pair(isInitiator, t, stream)
      },
      unpair: (t) => client.unpair(t)
    }
    ;(relayModule as unknown as { Client: ClientCache }).Client._clients.set(view, perView)
    return view
  }

  close(): void {
    this.socket.destroy()
  }
}

/** How often a link sends keep-alives (hyperdht's relaySocket uses the same). */
const LINK_KEEP_ALIVE_MS = 5000
/**
 * How long a link gets to open: a random hole punch probes for ~35 s
 * (hyperdht's holepuncher: 1750 probes 20 ms apart) before it gives up.
 */
export const RELAY_LINK_OPEN_TIMEOUT_MS = 40_000

/** blind-relay's client cache (internal): which client a stream's pairing requests go through. */
interface ClientCache {
  _clients: WeakMap<object, RelayClient>
  from(stream: object, opts: { id: Buffer }): RelayClient
}
interface RelayClient {
  pair(isInitiator: boolean, token: Buffer, stream: unknown): unknown
  unpair(token: Buffer): void
  once?(event: 'close', listener: () => void): unknown
}

/**
 * A node's links to relays, by relay key. Installs itself in front of
 * `dht.connect`: when hyperdht connects to a relay we hold a live link to,
 * it gets a view of that link instead of a new connection.
 */
export class RelayLinks {
  private readonly links = new Map<string, RelayLink>()
  private readonly connect: (key: Buffer) => NoiseStream

  constructor(
    dht: DHT,
    private readonly openTimeoutMs = RELAY_LINK_OPEN_TIMEOUT_MS
  ) {
    const connect = dht.connect.bind(dht)
    this.connect = (key) => connect(key)
    dht.connect = ((publicKey: Buffer, opts?: Parameters<DHT['connect']>[1]): NoiseStream => {
      const link = opts === undefined ? this.links.get(toHex(publicKey)) : undefined
      return link?.alive ? link.view() : connect(publicKey, opts)
    }) as DHT['connect']
  }

  get(hex: string): RelayLink | undefined {
    return this.links.get(hex)
  }

  /** The live link to a relay, or a new one (opening: await its `opened`). */
  ensure(relay: Buffer): RelayLink {
    const hex = toHex(relay)
    let link = this.links.get(hex)
    if (!link?.alive) {
      link = new RelayLink(this.connect, relay, this.openTimeoutMs)
      this.links.set(hex, link)
    }
    return link
  }

  /** Forgets a link (when it is still the one held for its relay) and closes it. */
  drop(hex: string, link: RelayLink): void {
    this.forget(hex, link)
    link.close()
  }

  /** Forgets a link that closed by itself, if it is still the one held. */
  forget(hex: string, link: RelayLink): void {
    if (this.links.get(hex) === link) this.links.delete(hex)
  }

  close(): void {
    for (const link of this.links.values()) link.close()
    this.links.clear()
  }
}

/**
 * How long before hyperdht lets this node start another random hole punch
 * (0: now), for a node behind a randomizing NAT, every punch of which is
 * one: hyperdht refuses a random punch within its interval (20 s) of the
 * last one, and a connection to a relay made meanwhile fails at once.
 */
export function randomPunchPauseLeft(dht: DHT, now = Date.now()): number {
  const internals = dht as unknown as { _lastRandomPunch?: unknown; _randomPunchInterval?: unknown }
  const last = internals._lastRandomPunch
  const interval = internals._randomPunchInterval
  if (!dht.randomized || typeof last !== 'number' || typeof interval !== 'number') return 0
  return Math.max(0, last + interval - now)
}
