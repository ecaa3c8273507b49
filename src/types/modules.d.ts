// Minimal typings for the untyped Holepunch modules p2pchat uses.

declare module 'hypercore-id-encoding' {
  const idEncoding: {
    encode(key: Uint8Array): string
    decode(id: string | Uint8Array): Buffer
    normalize(id: string | Uint8Array): string
    isValid(id: unknown): boolean
  }
  export = idEncoding
}

declare module 'hyperdht' {
  import type { EventEmitter } from 'node:events'
  import type { Duplex } from 'node:stream'

  export interface KeyPair {
    publicKey: Buffer
    secretKey: Buffer
  }

  export interface HostPort {
    host: string
    port: number
  }

  export interface RawStream extends EventEmitter {
    readonly remoteHost: string | null
    readonly remotePort: number
    readonly rtt: number
    readonly bytesReceived: number
    readonly bytesTransmitted: number
    readonly packetsReceived: number
    readonly destroyed: boolean
  }

  /** @hyperswarm/secret-stream NoiseSecretStream (a streamx Duplex). */
  export interface NoiseStream extends Duplex {
    readonly publicKey: Buffer
    readonly remotePublicKey: Buffer
    readonly rawStream: RawStream
    readonly connected: boolean
    setKeepAlive(ms: number): void
    setTimeout(ms: number): void
  }

  /** The Noise handshake payload (lib/messages.js noisePayload); `udx` absent = no data channel. */
  export interface HandshakePayload {
    version: number
    error: number
    firewall: number
    udx: Record<string, unknown> | null
    [field: string]: unknown
  }

  /** lib/noise-wrap.js: what connect's and createServer's `createHandshake` option returns. */
  export interface Handshake {
    send(payload: HandshakePayload): Buffer
    recv(noise: Buffer): HandshakePayload
    final(): unknown
  }

  export interface ServerOptions {
    firewall?: (remotePublicKey: Buffer, remoteHandshakePayload: HandshakePayload | null) => boolean
    relayThrough?: Buffer | Buffer[] | null
  }

  export interface Server extends EventEmitter {
    listen(keyPair?: KeyPair): Promise<void>
    close(): Promise<void>
    /** Asks the announcer to announce again now (within its 3 s loop). */
    refresh(): void
    address(): ({ publicKey: Buffer } & HostPort) | null
    readonly publicKey: Buffer | null
  }

  export interface DHTOptions {
    bootstrap?: Array<string | HostPort>
    keyPair?: KeyPair
    host?: string
    port?: number
    ephemeral?: boolean
    firewalled?: boolean
    anyPort?: boolean
    connectionKeepAlive?: number | false
  }

  export default class DHT extends EventEmitter {
    constructor(opts?: DHTOptions)
    static keyPair(seed?: Buffer): KeyPair
    static bootstrapper(port: number, host: string, opts?: DHTOptions): DHT
    static BOOTSTRAP: string[]
    readonly defaultKeyPair: KeyPair
    readonly destroyed: boolean
    readonly ephemeral: boolean
    readonly firewalled: boolean
    readonly host: string | null
    readonly port: number
    readonly randomized: boolean
    ready(): Promise<void>
    fullyBootstrapped(): Promise<void>
    address(): HostPort & { family: number }
    connect(
      publicKey: Buffer,
      opts?: {
        keyPair?: KeyPair
        relayThrough?: Buffer | Buffer[] | null
        createHandshake?: (keyPair: KeyPair, remotePublicKey: Buffer) => Handshake
      }
    ): NoiseStream
    /** A DHT query for the nodes closest to the key; a reply's `value` is the peer record the node holds, or null. */
    findPeer(publicKey: Buffer): { finished(): Promise<void>; closestReplies: Array<{ value: Buffer | null }> }
    createRawStream(opts?: Record<string, unknown>): RawStream
    createServer(opts?: ServerOptions, onconnection?: (socket: NoiseStream) => void): Server
    destroy(opts?: { force?: boolean }): Promise<void>
    toArray(): HostPort[]
  }
}

declare module 'hyperdht/lib/noise-wrap.js' {
  import type { Handshake, KeyPair } from 'hyperdht'
  export default class NoiseWrap implements Handshake {
    constructor(keyPair: KeyPair, remotePublicKey: Buffer | null)
    send: Handshake['send']
    recv: Handshake['recv']
    final: Handshake['final']
  }
}

declare module 'blind-relay' {
  import type { EventEmitter } from 'node:events'
  export class Server extends EventEmitter {
    constructor(opts: { createStream(opts: Record<string, unknown>): unknown })
    accept(stream: unknown, opts: { id: Buffer }): EventEmitter
    close(): Promise<void>
    stats: {
      sessions: { opened: number; closed: number; accepted: number }
      pairings: { active: number; matched: number; pending: number }
    }
  }
  const relay: { Server: typeof Server }
  export default relay
}
