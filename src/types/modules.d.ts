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

  export interface KeyPair {
    publicKey: Buffer
    secretKey: Buffer
  }

  export interface HostPort {
    host: string
    port: number
  }

  /**
   * The streamx Duplex that hyperdht, @hyperswarm/secret-stream and udx-native
   * are built on. Deliberately NOT Node's stream API: properties such as
   * writableNeedDrain, writableLength or writableFinished do not exist on it
   * (they would read as undefined), so they are not declared here.
   */
  export interface StreamxDuplex extends EventEmitter {
    /** Queues data; false once the queue reached its high-water mark (wait for 'drain'). */
    write(data: Uint8Array | string): boolean
    end(data?: Uint8Array | string): this
    destroy(err?: Error): void
    pause(): this
    resume(): this
    readonly destroyed: boolean
    readonly destroying: boolean
    /**
     * streamx internals (it has no public equivalents): `buffered` is the
     * number of bytes in the writable queue, not yet handed to `_write`;
     * `error` is set by destroy() (to STREAM_DESTROYED when given none) and
     * stays null when the stream closed cleanly (both sides ended).
     */
    readonly _writableState: { readonly buffered: number; readonly highWaterMark: number; readonly error: Error | null }
  }

  /** udx-native UDXStream: the transport under a connection. */
  export interface RawStream extends StreamxDuplex {
    readonly remoteHost: string | null
    readonly remotePort: number
    readonly rtt: number
    readonly bytesReceived: number
    readonly bytesTransmitted: number
    readonly packetsReceived: number
    /** Bytes sent and not yet acknowledged (changes as acknowledgements arrive). */
    readonly inflight: number
    /**
     * Resolves true when the peer's UDX has acknowledged every byte written
     * so far (false when the stream is destroyed first; a flush still pending
     * when the stream closes never settles).
     */
    flush(): Promise<boolean>
  }

  /** @hyperswarm/secret-stream NoiseSecretStream (a streamx Duplex). */
  export interface NoiseStream extends StreamxDuplex {
    readonly publicKey: Buffer
    readonly remotePublicKey: Buffer
    /** null until the connection is established. */
    readonly rawStream: RawStream | null
    readonly connected: boolean
    /**
     * The Noise handshake hash (32 bytes), the same on both ends of one
     * connection; null until the handshake is done (set before 'open' on a
     * dialled stream, at creation on one a server hands out).
     */
    readonly handshakeHash: Buffer | null
    /** Encrypted bytes handed to the raw stream so far (grows only when the transport takes more). */
    readonly rawBytesWritten: number
    setKeepAlive(ms: number): void
    setTimeout(ms: number): void
    /**
     * Waits until every write queued so far has been handed to the raw stream,
     * then for rawStream.flush(): true once the peer's transport acknowledged it all.
     */
    flush(): Promise<boolean>
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
    /** Stores `value` (≤ 1000 bytes) signed by `keyPair` at hash(publicKey); a node keeps the highest `seq`. */
    mutablePut(keyPair: KeyPair, value: Buffer, opts?: { seq?: number }): Promise<{ publicKey: Buffer; seq: number }>
    /** The value stored for `publicKey` with a valid signature (the highest seq found with `latest`), or null. */
    mutableGet(publicKey: Buffer, opts?: { latest?: boolean; seq?: number }): Promise<{ value: Buffer; seq: number } | null>
    /** Peers announced under a topic: a query stream of replies, each listing the announcers that node holds. */
    lookup(topic: Buffer): EventEmitter & {
      on(event: 'data', listener: (reply: { peers: Array<{ publicKey: Buffer; relayAddresses: HostPort[] }> }) => void): unknown
      finished(): Promise<void>
    }
    /** Stores a signed announcement of `keyPair.publicKey` under a topic (one per key, replaced only by that key's holder). */
    announce(topic: Buffer, keyPair: KeyPair, relayAddresses?: HostPort[]): { finished(): Promise<void> }
    unannounce(topic: Buffer, keyPair: KeyPair): Promise<void>
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
  /** A pairing request: two requests with one token (one initiator, one not) are paired. */
  export interface PairMessage {
    isInitiator: boolean
    token: Buffer
    id: number
    seq: number
  }
  /**
   * blind-relay 1.6 internals p2pchat's volunteer relays use to choose which
   * pairing requests to serve: protomux calls `_pair.onmessage` afresh for
   * every message, and `_pairing` holds the requests still waiting for their
   * other half.
   */
  export class Session extends EventEmitter {
    readonly closed: boolean
    _pair: { onmessage(message: PairMessage, channel: unknown): unknown }
    destroy(err?: Error): void
    end(): Promise<void>
  }
  export class Server extends EventEmitter {
    constructor(opts: { createStream(opts: Record<string, unknown>): unknown })
    accept(stream: unknown, opts: { id: Buffer }): Session
    close(): Promise<void>
    _pairing: Map<string, { links: Array<{ session: Session } | null> }>
    stats: {
      sessions: { opened: number; closed: number; accepted: number }
      pairings: { active: number; matched: number; pending: number }
    }
  }
  const relay: { Server: typeof Server }
  export default relay
}

declare module 'sodium-native' {
  /** BLAKE2b: fills `output` (16–64 bytes) with the hash of `input`, keyed with `key` (16–64 bytes) when given. */
  export function crypto_generichash(output: Buffer, input: Buffer, key?: Buffer): void
  const sodium: {
    crypto_generichash: typeof crypto_generichash
    crypto_generichash_KEYBYTES_MAX: number
    crypto_hash_sha512(output: Buffer, input: Buffer): void
    crypto_hash_sha512_BYTES: number
    /** Elligator 2 + cofactor clearing: 32 uniform bytes to a point of the prime-order subgroup. */
    crypto_core_ed25519_from_uniform(point: Buffer, r: Buffer): void
    /** true for a canonical point of the main subgroup, not of small order. */
    crypto_core_ed25519_is_valid_point(point: Buffer): boolean
    crypto_core_ed25519_scalar_random(scalar: Buffer): void
    crypto_core_ed25519_BYTES: number
    crypto_core_ed25519_UNIFORMBYTES: number
    crypto_core_ed25519_SCALARBYTES: number
    /** q = n·p without clamping; throws when the result is the identity element. */
    crypto_scalarmult_ed25519_noclamp(q: Buffer, n: Buffer, p: Buffer): void
    crypto_sign_detached(signature: Buffer, message: Buffer, secretKey: Buffer): void
    crypto_sign_verify_detached(signature: Buffer, message: Buffer, publicKey: Buffer): boolean
    crypto_sign_seed_keypair(publicKey: Buffer, secretKey: Buffer, seed: Buffer): void
    crypto_sign_BYTES: number
    crypto_sign_PUBLICKEYBYTES: number
    crypto_sign_SECRETKEYBYTES: number
    crypto_secretbox_easy(c: Buffer, m: Buffer, n: Buffer, k: Buffer): void
    /** false when the box does not authenticate. */
    crypto_secretbox_open_easy(m: Buffer, c: Buffer, n: Buffer, k: Buffer): boolean
    crypto_secretbox_NONCEBYTES: number
    sodium_memcmp(a: Buffer, b: Buffer): boolean
    sodium_memzero(buffer: Buffer): void
  }
  export default sodium
}
