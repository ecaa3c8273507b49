import { EventEmitter } from 'node:events'
import { lineCount, newBatch, type Batch } from './delivery.js'
import type { PeerConnection, Sender } from './connection.js'

/** One of our lines and its sequence number. */
export interface OwnLine {
  seq: number
  bytes: Uint8Array
}

/** Lines waiting for a connection (outbox): reading input pauses past the soft cap; past the hard cap new lines are refused. */
export const OUTBOX_SOFT_BYTES = 256 * 1024
export const OUTBOX_HARD_BYTES = 4 * 1024 * 1024
/** A line unacknowledged this long is reported as not yet delivered. */
export const PENDING_NOTICE_MS = 2000
const PENDING_CHECK_MS = 500

export interface ConversationEvents {
  /** `peer`'s transport acknowledged every line up to `upTo` that was sent to it. */
  delivered: [peer: Sender, upTo: number]
  /** Every line up to `upTo` is settled: acknowledged by everyone it was sent to (or reported undelivered to those who left). */
  confirmed: [upTo: number]
  /** These lines sent to `peer` have waited PENDING_NOTICE_MS without an acknowledgement (reported once). */
  pending: [peer: Sender, lines: OwnLine[]]
  /**
   * The connection to `peer` ended with these lines unacknowledged. `kept`:
   * they are in the outbox and go first on the next connection; otherwise
   * they are lost to that peer.
   */
  undelivered: [peer: Sender, lines: OwnLine[], kept: boolean]
}

export interface ConversationOptions {
  /** connect --reconnect: lines a lost connection did not acknowledge stay in the outbox for the next one. */
  keepUndelivered: boolean
  /** connect: lines sent while no connection is up wait in the outbox (else they are refused). */
  outbox: boolean
  /** Write as sendBounded() does (a listener must not queue without bound for a peer that does not read). */
  bounded: boolean
  now?: () => number
  pendingNoticeMs?: number
  softBytes?: number
  hardBytes?: number
}

/** What became of lines given to send(). */
export type SendResult =
  | { fate: 'sent' | 'queued'; first: number; last: number; to: Sender[]; wait: boolean }
  | { fate: 'dropped'; reason: string; wait: boolean }

/**
 * Our side of a conversation, across connections and reconnects: numbers
 * every line we send (1, 2, …), tracks which peer acknowledged which, keeps
 * what no connection has acknowledged yet in an outbox (connect), and says
 * what was not delivered. Both roles use it: `connect` with one peer at a
 * time, the listener with every peer in the room.
 *
 * Delivery is at least once: a line whose acknowledgement was lost with the
 * connection is sent again on the next one, so it may arrive twice; it is
 * never silently lost.
 */
export class Conversation extends EventEmitter<ConversationEvents> {
  private seq = 0
  private readonly peers = new Set<PeerConnection>()
  /** Batches waiting for a connection, oldest first (lines a lost connection did not acknowledge come first). */
  private outbox: Batch[] = []
  private outboxBytes = 0
  /** Every batch not yet settled, in order: `confirmed` advances over those with open === 0. */
  private unsettled: Batch[] = []
  private confirmedSeq = 0
  /** Per peer: the last sequence number reported as pending, so each line is reported once. */
  private readonly reported = new WeakMap<PeerConnection, number>()
  private readonly now: () => number
  private readonly pendingNoticeMs: number
  private readonly softBytes: number
  private readonly hardBytes: number
  private pendingTimer: NodeJS.Timeout | null = null
  private keep: boolean
  /** Whether lines sent with no connection up wait in the outbox (see closeOutbox). */
  private outboxOpen: boolean

  constructor(private readonly opts: ConversationOptions) {
    super()
    this.keep = opts.keepUndelivered
    this.outboxOpen = opts.outbox
    this.now = opts.now ?? Date.now
    this.pendingNoticeMs = opts.pendingNoticeMs ?? PENDING_NOTICE_MS
    this.softBytes = opts.softBytes ?? OUTBOX_SOFT_BYTES
    this.hardBytes = opts.hardBytes ?? OUTBOX_HARD_BYTES
  }

  /** The last sequence number given out. */
  get lastSeq(): number {
    return this.seq
  }

  /** Every line up to this sequence number is settled. */
  get confirmedUpTo(): number {
    return this.confirmedSeq
  }

  /** Lines waiting in the outbox for a connection. */
  get outboxLines(): OwnLine[] {
    return linesOf(this.outbox)
  }

  /** Every line not yet delivered anywhere it was meant to go: in the outbox or unacknowledged by a connected peer. */
  get undeliveredCount(): number {
    let n = 0
    for (const b of this.unsettled) if (b.open > 0) n += lineCount(b)
    return n
  }

  /**
   * Sends lines (without their `\n`) to `to` (default: every attached peer),
   * or keeps them in the outbox when no connection is up (connect). `wait`:
   * stop reading input until a peer's 'drain' (or the next connection).
   */
  send(lines: Uint8Array[], to?: PeerConnection[]): SendResult {
    // Only attached peers: their acknowledgements are what settles a line.
    const targets = (to ?? [...this.peers]).filter((p) => this.peers.has(p) && !p.isClosed)
    if (targets.length === 0) {
      if (!this.outboxOpen || to !== undefined) return { fate: 'dropped', reason: 'no peers connected', wait: false }
      let bytes = 0
      for (const line of lines) bytes += line.byteLength + 1
      if (this.outboxBytes + bytes > this.hardBytes) {
        return { fate: 'dropped', reason: `not connected and the outbox is full (${Math.round(this.hardBytes / 1024 / 1024)} MiB waiting)`, wait: true }
      }
    }
    // Encoded once, whatever the number of peers.
    const batch = newBatch(this.seq + 1, lines)
    const bytes = batch.bytes
    let flowing = true
    for (const peer of targets) if (peer.sendBatch(batch, this.opts.bounded) === 'wait') flowing = false
    if (batch.open === 0) {
      // Nobody took it (no connection, or every target had just closed).
      if (!this.outboxOpen || to !== undefined) return { fate: 'dropped', reason: 'no peers connected', wait: false }
      this.seq = batch.last
      this.unsettled.push(batch)
      batch.open++
      this.outbox.push(batch)
      this.outboxBytes += bytes
      return { fate: 'queued', first: batch.first, last: batch.last, to: [], wait: this.outboxBytes >= this.softBytes }
    }
    this.seq = batch.last
    this.unsettled.push(batch)
    const wait = this.opts.bounded ? targets.some((p) => p.backlogged) : !flowing
    return { fate: 'sent', first: batch.first, last: batch.last, to: targets.filter((p) => !p.isClosed).map((p) => p.sender()), wait }
  }

  /**
   * A connection is up: track its acknowledgements and, first of all, send
   * it what waited in the outbox, in order. Returns false when the caller
   * should wait for the peer's 'drain'.
   */
  attach(peer: PeerConnection): boolean {
    this.peers.add(peer)
    peer.delivery.on('delivered', (upTo, batches) => {
      for (const b of batches) b.open--
      this.emit('delivered', peer.sender(), upTo)
      this.advance()
    })
    peer.delivery.on('settled', (left) => this.lost(peer, left))
    this.pendingTimer ??= setInterval(() => this.checkPending(), PENDING_CHECK_MS).unref()
    let flowing = true
    while (this.outbox.length > 0) {
      const batch = this.outbox[0]!
      const result = peer.sendBatch(batch, this.opts.bounded)
      // Closed already: the rest stays in the outbox for the next connection.
      if (result === 'closed') break
      this.outbox.shift()
      this.outboxBytes -= batch.bytes
      batch.open-- // out of the outbox, into the peer's tracker
      if (result === 'wait') flowing = false
    }
    return flowing
  }

  /** From now on, lines sent while no connection is up are refused instead of kept (what waits still goes on the next attach). */
  closeOutbox(): void {
    this.outboxOpen = false
  }

  /** Leaving: lines a closing connection did not acknowledge are reported lost, not kept for a next one. */
  stopKeeping(): void {
    this.keep = false
  }

  /**
   * The conversation is over: stops the pending-line checks and reports
   * what is still in the outbox as not delivered to `to` (connect's peer).
   */
  close(to?: Sender): void {
    if (this.pendingTimer) clearInterval(this.pendingTimer)
    this.pendingTimer = null
    const left = this.outboxLines
    if (to && left.length > 0) this.emit('undelivered', to, left, false)
  }

  /** The connection to `peer` closed with `left` unacknowledged: keep them for the next connection, or report them lost. */
  private lost(peer: PeerConnection, left: Batch[]): void {
    this.peers.delete(peer)
    if (this.peers.size === 0 && this.pendingTimer && !this.keep) {
      clearInterval(this.pendingTimer)
      this.pendingTimer = null
    }
    if (left.length === 0) return
    const kept = this.keep
    for (const b of left) b.open--
    if (kept) {
      // Before the lines typed since: in the order they were first sent.
      const requeued: Batch[] = []
      for (const b of left) {
        b.open++
        requeued.push(b)
        this.outboxBytes += b.bytes
      }
      this.outbox = [...requeued, ...this.outbox]
    }
    this.emit('undelivered', peer.sender(), linesOf(left), kept)
    this.advance()
  }

  private advance(): void {
    let upTo = this.confirmedSeq
    let n = 0
    while (n < this.unsettled.length && this.unsettled[n]!.open === 0) upTo = this.unsettled[n++]!.last
    if (n === 0) return
    this.unsettled.splice(0, n)
    this.confirmedSeq = upTo
    this.emit('confirmed', upTo)
  }

  /** Reports, once, lines a connected peer has left unacknowledged for PENDING_NOTICE_MS. */
  private checkPending(): void {
    const now = this.now()
    for (const peer of this.peers) {
      const since = peer.delivery.waitingSince
      if (since === null || now - since < this.pendingNoticeMs || peer.isClosed) continue
      const after = this.reported.get(peer) ?? 0
      // Only batches with lines not reported yet are split into lines.
      const lines = linesOf(peer.delivery.unconfirmedBatches.filter((b) => b.last > after)).filter((l) => l.seq > after)
      if (lines.length === 0) continue
      this.reported.set(peer, lines[lines.length - 1]!.seq)
      this.emit('pending', peer.sender(), lines)
    }
  }
}

function linesOf(batches: readonly Batch[]): OwnLine[] {
  const out: OwnLine[] = []
  for (const b of batches) b.lines.forEach((bytes, i) => out.push({ seq: b.first + i, bytes }))
  return out
}
