import { EventEmitter } from 'node:events'
import type { default as DHT, KeyPair, NoiseStream, Server } from 'hyperdht'
import type { ChatError } from './errors.js'
import type { Line } from './framing.js'
import { PeerConnection, type PeerOptions } from './session.js'

export interface ListenerEvents {
  listening: []
  'peer-joined': [peer: PeerConnection]
  'peer-left': [peer: PeerConnection, error: ChatError | null]
  message: [peer: PeerConnection, line: Line]
  closed: []
}

export interface ListenerOptions extends PeerOptions {
  /** How long close() lets peers flush before dropping them. */
  closeGraceMs?: number
}

/**
 * Accepts any number of peers on one key. Lines typed locally go to every
 * peer; lines from peers are reported as 'message' events.
 */
export class ChatListener extends EventEmitter<ListenerEvents> {
  readonly dht: DHT
  readonly keyPair: KeyPair
  readonly peers = new Set<PeerConnection>()
  private readonly opts: ListenerOptions
  private server: Server | null = null
  private closing: Promise<void> | null = null

  constructor(dht: DHT, keyPair: KeyPair, opts: ListenerOptions = {}) {
    super()
    this.dht = dht
    this.keyPair = keyPair
    this.opts = opts
  }

  get publicKey(): Buffer {
    return this.keyPair.publicKey
  }

  /** Announces the key on the DHT and starts accepting peers. */
  async listen(): Promise<void> {
    const server = this.dht.createServer({}, (stream) => this.accept(stream))
    this.server = server
    await server.listen(this.keyPair)
    this.emit('listening')
  }

  /** Sends one line to every connected peer. Returns how many peers it went to. */
  broadcast(message: string | Uint8Array): number {
    let sent = 0
    for (const peer of this.peers) {
      if (peer.isClosed) continue
      peer.send(message)
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

  private accept(stream: NoiseStream): void {
    if (this.closing) {
      stream.destroy()
      return
    }
    const peer = new PeerConnection(stream, this.opts)
    // The server only hands over streams that completed the handshake.
    peer.markConfirmed()
    this.peers.add(peer)
    peer.on('line', (line) => this.emit('message', peer, line))
    peer.on('close', (error) => {
      this.peers.delete(peer)
      this.emit('peer-left', peer, error)
    })
    this.emit('peer-joined', peer)
  }
}
