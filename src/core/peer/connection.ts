import { EventEmitter } from 'node:events'
import type { NoiseStream } from 'hyperdht'
import { DeliveryTracker, lineCount, type Batch } from './delivery.js'
import { ChatError, fromDhtError } from '../errors.js'
import { DEFAULT_MAX_LINE_BYTES, LineDecoder, encodeLine, encodeLines, type Line } from './framing.js'
import { toHex } from '../store/keys.js'
import { relayOf, whenRelayGone } from '../relay/paths.js'
import { safetyWords } from './safety.js'
import { PeerRateLimiter, type RateLimits } from './ratelimit.js'

export interface PeerEvents {
  /** The peer answered on the encrypted stream: data flows both ways. */
  open: []
  /** The lines completed by one chunk of data (batched: the hot path). */
  lines: [lines: Line[]]
  /** The peer finished sending (half-close); its final unterminated line was already delivered. */
  end: []
  /** The send queue emptied after a write had to wait: more can be sent. */
  drain: []
  /** The UDP path changed (e.g. a relayed connection upgraded to direct). */
  'path-changed': [info: PeerInfo]
  /** Lines from the peer were dropped because it exceeded its rate limits. */
  throttled: [droppedLines: number]
  /** Closed for good. `error` is set when it did not end cleanly. */
  close: [error: ChatError | null]
}

export interface PeerInfo {
  /** Public key, hex. */
  key: string
  shortKey: string
  connectedAt: number
  /** host:port of the UDP path, when known. */
  address: string | null
  /** Smoothed round-trip time in whole ms (0 on loopback), when the stream has one. */
  rttMs: number | null
  /** Contact name, else the short key. */
  name: string
  /** How the bytes travel: straight to the peer, or through a relay (null: not known yet). */
  path: 'direct' | 'relayed' | null
  /** The relay's key (hex) when relayed. */
  relay: string | null
  /** Whose relay it is, when known (a room member's volunteer relay), for the path indicator. */
  relayName?: string | null
  /** The connection's safety words (see safety.ts): the same on both ends; null before the handshake. */
  safetyWords?: string[] | null
}

/** What the UI needs to show a line's sender. */
export interface Sender {
  key: string
  name: string
}

export interface PeerOptions {
  maxLineBytes?: number
  /** Display name for a key (contact name, else short key). */
  nameOf?: (keyHex: string) => string
  /** Incoming rate limits; omitted: unlimited. */
  limits?: RateLimits
  /** Close the stream when nothing (not even a keep-alive) arrives for this long. */
  idleTimeoutMs?: number
  /** Most bytes queued for a peer that does not read; past it the peer is dropped. */
  maxQueueBytes?: number
  /** Past this many queued bytes the peer is backlogged: callers should wait for 'drain'. */
  softQueueBytes?: number
  /** A backlogged peer whose transport takes nothing from its queue for this long is dropped. */
  stallMs?: number
  /** Declare the path dead when data waits unacknowledged this long (see deadPathLimit); false: only the idle timeout. */
  deadPath?: DeadPathRule | false
  /** Whose relay a relay key (hex) is, when known: shown in the path indicator. */
  relayName?: (relayHex: string) => string | null
}

/**
 * When data waits for an acknowledgement, how long before the path counts as
 * dead: `factor` round trips, within [minMs, maxMs]. A live peer acknowledges
 * within a round trip or two (plus a retransmission timeout, at least 1 s in
 * UDX, when a packet is lost); a dead one never does.
 */
export interface DeadPathRule {
  factor: number
  minMs: number
  maxMs: number
}

export const DEFAULT_DEAD_PATH: DeadPathRule = { factor: 20, minMs: 3000, maxMs: 5000 }

/** The dead-path limit for a round-trip time (ms; null or 0 on loopback: the minimum). */
export function deadPathLimit(rttMs: number | null, rule: DeadPathRule = DEFAULT_DEAD_PATH): number {
  return Math.min(rule.maxMs, Math.max(rule.minMs, (rttMs ?? 0) * rule.factor))
}

/** hyperdht peers send a keep-alive every 5 s: two missed ones and a margin means gone. */
export const DEFAULT_IDLE_TIMEOUT_MS = 12_000
export const DEFAULT_MAX_QUEUE_BYTES = 1024 * 1024
export const DEFAULT_SOFT_QUEUE_BYTES = 256 * 1024
/** A live transport moves at least a packet in a few seconds; a stopped peer moves nothing. */
export const DEFAULT_STALL_MS = 5000
const STALL_CHECK_MS = 500
const DEAD_PATH_CHECK_MS = 250
const KEEP_ALIVE_MS = 5000

/**
 * One peer on an encrypted HyperDHT stream, speaking the line protocol.
 * Used by both roles: the listener wraps each incoming stream, `connect`
 * wraps the one it dials.
 */
export class PeerConnection extends EventEmitter<PeerEvents> {
  readonly stream: NoiseStream
  readonly connectedAt: number
  /** Which lines sent with sendLines() the peer's transport has acknowledged. */
  readonly delivery: DeliveryTracker
  private readonly decoder: LineDecoder
  private error: ChatError | null = null
  private closed = false
  private confirmed = false
  private readonly nameOf: (keyHex: string) => string
  private readonly limiter: PeerRateLimiter | null
  private readonly maxQueueBytes: number
  private readonly softQueueBytes: number
  private readonly stallMs: number
  private stallTimer: NodeJS.Timeout | null = null
  private readonly relayName: ((relayHex: string) => string | null) | null
  private pathTimer: NodeJS.Timeout | null = null

  constructor(stream: NoiseStream, opts: PeerOptions = {}, private readonly now: () => number = Date.now) {
    super()
    this.stream = stream
    this.connectedAt = now()
    this.decoder = new LineDecoder(opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES)
    this.nameOf = opts.nameOf ?? ((hex) => hex.slice(0, 8))
    this.limiter = opts.limits ? new PeerRateLimiter(opts.limits, now()) : null
    this.maxQueueBytes = opts.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES
    this.softQueueBytes = Math.min(opts.softQueueBytes ?? DEFAULT_SOFT_QUEUE_BYTES, this.maxQueueBytes)
    this.stallMs = opts.stallMs ?? DEFAULT_STALL_MS
    this.relayName = opts.relayName ?? null
    this.delivery = new DeliveryTracker({ flush: () => acknowledgedFlush(stream) }, now)
    if (opts.idleTimeoutMs) {
      stream.setTimeout(opts.idleTimeoutMs)
      // Our own keep-alives make the peer's idle timeout meaningful: hyperdht
      // sets none on a server stream that starts relayed (lib/server.js).
      stream.setKeepAlive(KEEP_ALIVE_MS)
    }

    stream.on('data', (chunk: Buffer) => {
      const limiter = this.limiter
      const lines = this.decoder.push(chunk)
      if (!limiter) {
        if (lines.length > 0) this.emit('lines', lines)
        return
      }
      const now = this.now()
      const admitted = lines.filter((line) => limiter.admit(line.bytes.byteLength + 1, now))
      if (admitted.length > 0) this.emit('lines', admitted)
      const dropped = lines.length - admitted.length
      if (dropped > 0) this.emit('throttled', dropped)
      if (limiter.flooding(now)) this.destroy(ChatError.flooding())
    })
    stream.on('end', () => {
      const last = this.decoder.end()
      if (last.length > 0) this.emit('lines', last)
      this.emit('end')
      // A chat is over when either side is done: finish ours too, so the
      // stream closes cleanly instead of waiting to be torn down.
      this.end()
    })
    stream.on('drain', () => this.emit('drain'))
    stream.on('error', (err: unknown) => {
      this.error ??= err instanceof Error && err.message === 'Stream timed out' ? ChatError.vanished(opts.idleTimeoutMs ?? 0) : fromDhtError(err)
    })
    if (opts.deadPath !== false) {
      const rule = opts.deadPath ?? DEFAULT_DEAD_PATH
      stream.once('open', () => this.watchPath(rule))
    }
    stream.on('close', () => {
      this.closed = true
      this.stopStallWatch()
      if (this.pathTimer) clearInterval(this.pathTimer)
      this.delivery.close()
      this.emit('close', this.error)
    })
  }

  get remotePublicKey(): Buffer {
    return this.stream.remotePublicKey
  }

  private keyHexCache: string | null = null

  get remoteKeyHex(): string {
    // Asked for on every line (names, JSON): computed once.
    this.keyHexCache ??= toHex(this.stream.remotePublicKey)
    return this.keyHexCache
  }

  get shortKey(): string {
    return this.remoteKeyHex.slice(0, 8)
  }

  private senderCache: Sender | null = null

  /** Who sent a line: computed once, used for every line (a hot path). */
  sender(): Sender {
    this.senderCache ??= { key: this.remoteKeyHex, name: this.nameOf(this.remoteKeyHex) }
    return this.senderCache
  }

  /** Names changed (the address book was edited): ask nameOf again for the next line. */
  refreshName(): void {
    this.senderCache = null
  }

  private safetyWordsCache: string[] | null = null

  /** The safety words of this connection, from its Noise handshake hash (null until the handshake is done). */
  get safetyWords(): string[] | null {
    const hash = this.stream.handshakeHash
    if (!this.safetyWordsCache && hash) this.safetyWordsCache = safetyWords(hash)
    return this.safetyWordsCache
  }

  /** Where the encrypted stream goes and how fast, for /peers and --json. */
  info(): PeerInfo {
    const raw = this.stream.rawStream
    const host = raw?.remoteHost ?? null
    const address = raw && host ? `${host}:${raw.remotePort}` : null
    const relay = address ? relayOf(raw) : null
    return {
      path: address === null ? null : relay ? 'relayed' : 'direct',
      relay,
      relayName: relay && this.relayName ? this.relayName(relay) : null,
      key: this.remoteKeyHex,
      shortKey: this.shortKey,
      connectedAt: this.connectedAt,
      address,
      rttMs: raw && typeof raw.rtt === 'number' ? raw.rtt : null,
      name: this.nameOf(this.remoteKeyHex),
      safetyWords: this.safetyWords
    }
  }

  get isClosed(): boolean {
    return this.closed
  }

  /**
   * True once the peer's secret-stream header has arrived: the first thing
   * the peer sends on the stream, so the proof that it took the connection
   * and that its bytes reach us. hyperdht can report a stream as open while
   * the far side never took it (hyperdht issue #304), and a transport
   * acknowledgement of our own bytes proves nothing about the other way (a
   * pair whose ends disagree on the path: see docs/relaying.md).
   */
  get heardFromPeer(): boolean {
    return this.confirmed || peerHeaderArrived(this.stream)
  }

  markConfirmed(): void {
    if (this.confirmed) return
    this.confirmed = true
    const raw = this.stream.rawStream
    if (raw) {
      // A relayed connection that hole-punches through moves to the direct path
      // (the raw stream exists only once the connection is open).
      raw.on('remote-changed', () => this.emit('path-changed', this.info()))
      // The relay this connection goes through stopped: the chat is over now.
      const unwatch = whenRelayGone(raw, (relay) => this.destroy(ChatError.relayGone(relay)))
      this.stream.once('close', unwatch)
    }
    this.emit('open')
  }

  /** Sends one message (its text must not contain `\n`). Returns false when the caller should wait for 'drain'. */
  send(message: string | Uint8Array): boolean {
    if (this.closed || this.stream.destroyed) return true
    return this.stream.write(encodeLine(message))
  }

  /**
   * Sends a batch of our own lines in one write and tracks its delivery (see
   * `delivery`); `bounded` writes as sendBounded() does (a listener's peers).
   * 'wait': the caller should wait for 'drain'. 'closed': the connection had
   * already closed, the batch is not tracked here. A write into a stream that
   * is being destroyed is tracked, and settles as unacknowledged.
   */
  sendBatch(batch: Batch, bounded = false): 'ok' | 'wait' | 'closed' {
    if (this.closed) return 'closed'
    let ok = true
    if (!this.stream.destroyed && lineCount(batch) > 0) {
      const data = batch.data ?? encodeLines(batch.lines)
      if (bounded) this.sendBoundedRaw(data)
      else ok = this.stream.write(data)
    }
    if (!this.delivery.track(batch)) return 'closed'
    batch.open++
    return ok ? 'ok' : 'wait'
  }

  /**
   * While data waits for an acknowledgement (our lines, or anything in
   * flight: forwarded lines, keep-alives), a sign of life from the peer must
   * come within the dead-path limit: any packet received (UDX counts the
   * peer's acknowledgement packets in bytesReceived) or an acknowledgement
   * of our lines. Otherwise the path is dead (the peer was killed or
   * stopped, its network went down): say so now, not after the idle
   * timeout. An idle connection is judged by keep-alives, which are data too.
   */
  private watchPath(rule: DeadPathRule): void {
    let waitingSince: number | null = null
    let seen = ''
    this.pathTimer = setInterval(() => {
      const raw = this.stream.rawStream
      if (!raw || this.closed) return
      const now = this.now()
      const waiting = this.delivery.unconfirmed > 0 || raw.inflight > 0
      const signs = `${this.delivery.deliveredSeq}/${raw.bytesReceived}`
      const alive = signs !== seen
      seen = signs
      if (!waiting || alive || waitingSince === null) {
        waitingSince = waiting ? now : null
        return
      }
      const limit = deadPathLimit(typeof raw.rtt === 'number' ? raw.rtt : null, rule)
      if (now - waitingSince >= limit) this.destroy(ChatError.pathDead(now - waitingSince))
    }, DEAD_PATH_CHECK_MS)
    this.pathTimer.unref()
  }

  /**
   * Bytes written to this peer and still waiting in memory: the secret
   * stream's queue plus the UDX stream's own queue. (What UDX has taken is
   * bounded by UDX itself: it stops taking more past its high-water mark
   * plus the send window, and then these queues are what grows.)
   */
  get queuedBytes(): number {
    const raw = this.stream.rawStream
    return this.stream._writableState.buffered + (raw ? raw._writableState.buffered : 0)
  }

  /** More than the soft mark is queued: callers feeding this peer should wait for 'drain'. */
  get backlogged(): boolean {
    return !this.closed && this.queuedBytes > this.softQueueBytes
  }

  /**
   * Sends without ever queueing without bound: a peer that stops reading gets
   * up to maxQueueBytes queued, then is dropped; a backlogged peer whose
   * transport takes nothing for stallMs is dropped too. So one slow reader can
   * neither delay the others for long nor grow our memory.
   */
  sendBounded(message: string | Uint8Array): void {
    this.sendBoundedRaw(encodeLine(message))
  }

  /**
   * sendBounded() for bytes that are already line-terminated. Returns the
   * stream's write(): false when a writer with more should wait for 'drain'
   * (also when the peer is closed or was just dropped).
   */
  sendBoundedRaw(data: Uint8Array): boolean {
    if (this.closed || this.stream.destroyed) return false
    if (this.queuedBytes + data.byteLength > this.maxQueueBytes) {
      this.destroy(ChatError.tooSlow(this.maxQueueBytes))
      return false
    }
    const more = this.stream.write(data)
    if (this.backlogged) this.watchStall()
    return more
  }

  /**
   * Any sign that the transport moves: secret-stream handed UDX a chunk, UDX's
   * own queue changed, or acknowledgements changed what is in flight. A slow
   * but live link moves some of these every round trip; a stopped peer none.
   */
  private transportProgress(): string {
    const raw = this.stream.rawStream
    return `${this.stream.rawBytesWritten}/${raw ? `${raw._writableState.buffered}/${raw.inflight}` : ''}`
  }

  /** While backlogged: drop the peer when its transport has made no progress for stallMs. */
  private watchStall(): void {
    if (this.stallTimer) return
    let seen = this.transportProgress()
    let movedAt = this.now()
    this.stallTimer = setInterval(() => {
      if (!this.backlogged) return this.stopStallWatch()
      const now = this.now()
      const progress = this.transportProgress()
      if (progress !== seen) {
        seen = progress
        movedAt = now
      } else if (now - movedAt >= this.stallMs) {
        this.destroy(ChatError.stalled(this.queuedBytes, this.stallMs))
      }
    }, STALL_CHECK_MS)
    this.stallTimer.unref()
  }

  private stopStallWatch(): void {
    if (this.stallTimer) clearInterval(this.stallTimer)
    this.stallTimer = null
  }

  /** Finish sending (half-close); the peer still gets everything written so far. */
  end(): void {
    if (!this.stream.destroyed) this.stream.end()
  }

  /**
   * Waits until the peer's transport has acknowledged every line sent with
   * sendLines(), then half-closes (the peer still gets everything written).
   * Resolves with the number of lines it did not acknowledge: 0 when all
   * were; otherwise the connection closed first, or nothing more was
   * acknowledged for `stallMs` (the caller then leaves or destroys).
   *
   * The end is sent only after the acknowledgement: once both sides have
   * ended, the streams close themselves and a flush still to be answered
   * would fail although nothing was lost.
   */
  async finish(stallMs: number): Promise<number> {
    const delivery = this.delivery
    // The bound restarts whenever something is acknowledged: a slow but
    // working path is waited for, a peer that acknowledges nothing is not.
    let timer: NodeJS.Timeout | undefined
    let giveUp!: (unconfirmed: number) => void
    const stalled = new Promise<number>((resolve) => (giveUp = resolve))
    const arm = () => {
      clearTimeout(timer)
      timer = setTimeout(() => giveUp(delivery.unconfirmed), stallMs)
    }
    arm()
    delivery.on('delivered', arm)
    try {
      const unconfirmed = await Promise.race([delivery.whenDone().then(() => delivery.unconfirmed), stalled])
      if (unconfirmed === 0) this.end()
      return unconfirmed
    } finally {
      clearTimeout(timer)
      delivery.off('delivered', arm)
    }
  }

  /**
   * Leaves cleanly: half-closes and lets the peer close its side (so it sees
   * a clean end, not a reset), destroying the stream if that takes longer
   * than `graceMs`.
   */
  async leave(graceMs: number): Promise<void> {
    if (this.closed) return
    this.end()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.closedPromise(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))])
    clearTimeout(timer)
    this.destroy()
  }

  destroy(error?: ChatError): void {
    if (error) this.error ??= error
    this.stream.destroy()
  }

  /** Resolves when the stream has closed (immediately if it already has). */
  closedPromise(): Promise<ChatError | null> {
    if (this.closed) return Promise.resolve(this.error)
    return new Promise((resolve) => this.once('close', resolve))
  }
}

/**
 * stream.flush(), resolving true only when the peer's transport really
 * acknowledged everything written before the call. udx-native also resolves
 * a pending flush when destroying the stream cancels its unacknowledged
 * writes (its ack callback ignores the status), so the result is believed
 * only if neither the secret stream nor the UDX stream was destroyed by then,
 * checked one event-loop turn later (after a native close that cancelled the
 * writes has run). A clean close (both sides ended) is not a destroy: streamx
 * records an error only in destroy().
 */
async function acknowledgedFlush(stream: NoiseStream): Promise<boolean> {
  if (!(await stream.flush())) return false
  await new Promise((resolve) => setImmediate(resolve))
  const raw = stream.rawStream
  return stream._writableState.error === null && (raw === null || raw._writableState.error === null)
}

/**
 * Whether the peer's secret-stream header has arrived. @hyperswarm/secret-stream
 * (6.9, under hyperdht 6.34.0) keeps `_setup` true until it has read
 * and checked that header, and says nothing else about it; a unit test checks
 * the field still behaves so on real streams (a rename would make every
 * connection look half-open, loudly).
 */
export function peerHeaderArrived(stream: NoiseStream): boolean {
  return (stream as unknown as { _setup?: unknown })._setup === false
}
