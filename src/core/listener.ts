import { EventEmitter } from 'node:events'
import type { default as DHT, KeyPair, NoiseStream, Server } from 'hyperdht'
import type { ChatError } from './errors.js'
import { encodeLine, type Line } from './framing.js'
import { toHex } from './keys.js'
import { DEFAULT_IDLE_TIMEOUT_MS, PeerConnection, type PeerOptions } from './session.js'

const FULL_ROOM_LINGER_MS = 2000

export type RefusalReason = 'not-allowed' | 'full'

export interface ListenerEvents {
  listening: []
  'peer-joined': [peer: PeerConnection]
  'peer-left': [peer: PeerConnection, error: ChatError | null]
  /** Lines from a peer (all those one chunk completed). */
  messages: [peer: PeerConnection, lines: Line[]]
  /** A peer was turned away. */
  refused: [keyHex: string, reason: RefusalReason]
  /** The UDP path to a peer changed (relayed → direct). */
  'path-changed': [peer: PeerConnection]
  /** A peer exceeded its rate limit: `droppedLines` of its lines were dropped. */
  throttled: [peer: PeerConnection, droppedLines: number]
  /** No peer is backlogged any more (after one was): broadcasting may go on. */
  drain: []
  closed: []
}

export interface ListenerOptions extends PeerOptions {
  /** Who may connect (checked in hyperdht's firewall, before any session exists). Omitted: everybody. */
  allow?: (keyHex: string) => boolean
  /** Most peers at once; more are told the room is full and closed. */
  maxPeers?: number
  /** Room mode: forward each peer's lines and arrivals/departures to the other peers. */
  forward?: boolean
  /** How long close() lets peers flush before dropping them. */
  closeGraceMs?: number
  /** Relays to pair every incoming connection through (hyperdht's server relayThrough). */
  relayThrough?: Buffer[]
  /** host:port → relay key, filled in when known: tells relayed peers from direct ones. */
  relayAddresses?: Map<string, string>
}

/**
 * A room on one key. Lines typed locally go to every peer; lines from peers
 * are reported as 'messages' events and, in room mode, forwarded to the other
 * peers as plain text `[name] text`, so a raw example-style peer reads them.
 */
export class ChatListener extends EventEmitter<ListenerEvents> {
  readonly dht: DHT
  readonly keyPair: KeyPair
  readonly peers = new Set<PeerConnection>()
  refusedCount = 0
  private readonly opts: ListenerOptions
  private server: Server | null = null
  private closing: Promise<void> | null = null

  constructor(dht: DHT, keyPair: KeyPair, opts: ListenerOptions = {}) {
    super()
    this.dht = dht
    this.keyPair = keyPair
    this.opts = { idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS, ...opts }
  }

  get publicKey(): Buffer {
    return this.keyPair.publicKey
  }

  /** Announces the key on the DHT and starts accepting peers. */
  async listen(): Promise<void> {
    const allow = this.opts.allow
    const firewall = allow
      ? (remotePublicKey: Buffer) => {
          const hex = toHex(remotePublicKey)
          if (allow(hex)) return false
          this.refuse(hex, 'not-allowed')
          return true // reject: the peer never gets a session
        }
      : undefined
    const relays = this.opts.relayThrough
    const server = this.dht.createServer(
      {
        ...(firewall ? { firewall } : {}),
        ...(relays?.length ? { relayThrough: relays.length === 1 ? relays[0]! : relays } : {})
      },
      (stream) => this.accept(stream)
    )
    this.server = server
    await server.listen(this.keyPair)
    this.emit('listening')
  }

  /** Sends one line to every connected peer. Returns how many peers it went to. */
  broadcast(message: string | Uint8Array, except?: PeerConnection): number {
    return this.broadcastRaw(encodeLine(message), except)
  }

  /**
   * True while some peer has more than its soft mark queued. A caller with
   * more to broadcast (piped stdin) should wait for 'drain'; a peer that
   * stays backlogged without taking anything is dropped (PeerConnection
   * stallMs), which ends the wait.
   */
  get backlogged(): boolean {
    for (const peer of this.peers) if (peer.backlogged) return true
    return false
  }

  /** Sends already-terminated lines to every connected peer (one write each). */
  broadcastRaw(data: Uint8Array, except?: PeerConnection): number {
    let sent = 0
    for (const peer of this.peers) {
      if (peer === except || peer.isClosed) continue
      peer.sendBoundedRaw(data)
      sent++
    }
    return sent
  }

  /**
   * Stops accepting and unannounces (server.close()), closes every peer
   * (gracefully, then by force after a grace period), destroys the node.
   * Idempotent: every caller gets the same promise.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose()
    return this.closing
  }

  private async doClose(): Promise<void> {
    const unannounce = this.server ? this.server.close().catch(() => {}) : Promise.resolve()
    const peers = [...this.peers]
    for (const peer of peers) peer.end()
    const grace = this.opts.closeGraceMs ?? 500
    await Promise.race([
      Promise.all(peers.map((p) => p.closedPromise())),
      new Promise((resolve) => setTimeout(resolve, grace).unref())
    ])
    for (const peer of peers) peer.destroy()
    await unannounce
    await this.dht.destroy().catch(() => {})
    this.emit('closed')
  }

  private refuse(keyHex: string, reason: RefusalReason): void {
    this.refusedCount++
    this.emit('refused', keyHex, reason)
  }

  private accept(stream: NoiseStream): void {
    if (this.closing) {
      stream.destroy()
      return
    }
    const peer = new PeerConnection(stream, this.opts)
    const max = this.opts.maxPeers
    if (max !== undefined && this.peers.size >= max) {
      // Politely: tell them why before closing.
      peer.send(`* the room is full (${max} peer${max === 1 ? '' : 's'}); try again later`)
      peer.end()
      stream.on('error', () => {})
      // A peer that does not close its side in return is dropped shortly after.
      setTimeout(() => peer.destroy(), FULL_ROOM_LINGER_MS).unref()
      this.refuse(peer.remoteKeyHex, 'full')
      return
    }
    if (this.opts.relayAddresses) peer.setRelayAddresses(this.opts.relayAddresses)
    // The server only hands over streams that completed the handshake.
    peer.markConfirmed()
    this.peers.add(peer)
    const forward = this.opts.forward !== false
    peer.on('lines', (lines) => {
      this.emit('messages', peer, lines)
      if (forward && this.peers.size > 1) {
        // One buffer for the whole batch: one write per other peer.
        this.broadcastRaw(prefixLines(`[${peer.sender().name}] `, lines), peer)
      }
    })
    peer.on('throttled', (n) => this.emit('throttled', peer, n))
    peer.on('drain', () => {
      if (!this.backlogged) this.emit('drain')
    })
    peer.on('path-changed', () => this.emit('path-changed', peer))
    peer.on('close', (error) => {
      this.peers.delete(peer)
      if (forward && !this.closing) this.broadcast(`* ${peer.info().name} left`)
      this.emit('peer-left', peer, error)
      // A dropped slow peer may have been what broadcasting waited for.
      if (!this.backlogged) this.emit('drain')
    })
    if (forward) this.broadcast(`* ${peer.info().name} joined`, peer)
    this.emit('peer-joined', peer)
  }
}

/** `prefix + line + \n` for every line, in one buffer. */
export function prefixLines(prefix: string, lines: Line[]): Buffer {
  const head = Buffer.from(prefix)
  let total = 0
  for (const l of lines) total += head.byteLength + l.bytes.byteLength + 1
  const out = Buffer.allocUnsafe(total)
  let at = 0
  for (const l of lines) {
    head.copy(out, at)
    at += head.byteLength
    out.set(l.bytes, at)
    at += l.bytes.byteLength
    out[at++] = 0x0a
  }
  return out
}
