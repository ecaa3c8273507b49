import type { default as DHT, NoiseStream } from 'hyperdht'
import relayModule from 'blind-relay'
import { toHex } from './keys.js'

/** How long a link to a relay gets to open (its hole punch included). */
const LINK_OPEN_TIMEOUT_MS = 30_000
const LINK_KEEP_ALIVE_MS = 5000

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
 * The listener's one connection to a volunteer's relay, shared by every
 * relayed connection through it. hyperdht opens a new connection to the
 * relay for each relayed connection (server.js _relayConnection, connect.js
 * relayConnection) and destroys it when that connection ends. To a relay
 * behind a consistent NAT (a room member's) from a node behind a
 * randomizing one, each such connection needs a random hole punch, which
 * hyperdht lets a node do one at a time and then pause (20 s by default);
 * and a newcomer's own connection to the listener competes with it for that
 * one slot. So a node opens the link once, by itself, before it needs it,
 * and hands hyperdht a view of it per relayed connection whose end() and
 * destroy() cancel only that connection's pairing.
 */
export class RelayLink {
  readonly socket: NoiseStream
  private readonly client: RelayClient
  readonly opened: Promise<boolean>
  /** Relayed connections using the link now. */
  views = 0
  /** RoomRelays watches its end. */
  watched = false

  constructor(connect: (key: Buffer) => NoiseStream, relayKey: Buffer) {
    this.socket = connect(relayKey)
    this.socket.on('error', () => {})
    this.socket.setKeepAlive(LINK_KEEP_ALIVE_MS)
    this.client = (relayModule as unknown as { Client: ClientCache }).Client.from(this.socket, { id: this.socket.publicKey })
    // The relay closed our session (its channel), the socket aside: the link is no use any more.
    this.client.once?.('close', () => this.socket.destroy())
    this.opened = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), LINK_OPEN_TIMEOUT_MS)
      timer.unref()
      this.socket.once('open', () => resolve(true))
      this.socket.once('close', () => resolve(false))
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


/**
 * A node's links to relays (see RelayLink): while a link to a key is alive,
 * hyperdht's own `dht.connect(key)` (no options: how it reaches a relay)
 * gets a view of it instead of a new connection.
 */
export class RelayLinks {
  private readonly links = new Map<string, RelayLink>()
  /** dht.connect as it was before: opens real connections. */
  private readonly connect: (key: Buffer) => NoiseStream

  constructor(dht: DHT) {
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

  /** The live link to a relay, opened now if there is none. */
  open(key: Buffer): RelayLink {
    const hex = toHex(key)
    let link = this.links.get(hex)
    if (!link?.alive) {
      link = new RelayLink(this.connect, key)
      this.links.set(hex, link)
      const made = link
      made.socket.once('close', () => {
        if (this.links.get(hex) === made) this.links.delete(hex)
      })
    }
    return link
  }

  close(hex: string): void {
    this.links.get(hex)?.close()
    this.links.delete(hex)
  }

  closeAll(): void {
    for (const link of this.links.values()) link.close()
    this.links.clear()
  }
}
