import { EventEmitter } from 'node:events'
import { encodeLines } from './framing.js'

/** After close, how long an outstanding flush may take to report before the tracker settles without it. */
const CLOSE_SETTLE_MS = 1000

/** What can confirm delivery: a stream whose flush() resolves true once the peer acknowledged everything written before the call. */
export interface Flushable {
  flush(): Promise<boolean>
}

/**
 * Lines of our own sent in one write, numbered `first`..`last` (the
 * conversation's sequence numbers, the same on every peer and across
 * reconnects). One batch object is shared by every peer it was written to.
 */
export interface Batch {
  first: number
  last: number
  /** The lines, without their `\n` (see newBatch: there, split from `data` when asked for, which only reports do). */
  readonly lines: Uint8Array[]
  /**
   * The lines as written (each with its `\n`), kept until every addressee
   * acknowledged them (the outbox re-sends them): one buffer per batch, not
   * one object per line, so a bulk pipe with thousands of small lines in
   * flight does not make the garbage collector copy them all (measured: that
   * cost `connect` 10 % of its throughput with 64-byte lines).
   */
  readonly data?: Uint8Array
  /** Bytes on the wire (lines plus newlines). */
  bytes: number
  /** How many peers (or the outbox) still hold it unacknowledged; 0: settled. */
  open: number
}

/** A batch of `lines` (without their `\n`) numbered from `first`, encoded once for every peer it goes to. */
export function newBatch(first: number, lines: Uint8Array[]): Batch {
  const data = encodeLines(lines)
  return {
    first,
    last: first + lines.length - 1,
    data,
    bytes: data.byteLength,
    open: 0,
    get lines() {
      return splitLines(data)
    }
  }
}

/** How many lines a batch holds. */
export function lineCount(batch: Batch): number {
  return batch.last - batch.first + 1
}

/** Encoded lines (each ending in `\n`) back into lines, as views of `data`. */
function splitLines(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  let start = 0
  for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) {
    out.push(data.subarray(start, nl))
    start = nl + 1
  }
  return out
}

export interface DeliveryEvents {
  /** Every batch up to and including sequence number `upTo` was acknowledged by the peer's transport. */
  delivered: [upTo: number, batches: Batch[]]
  /** Settled for good (the transport closed): these batches were never acknowledged. */
  settled: [unconfirmed: Batch[]]
}

/**
 * Which of the batches sent on one stream the peer has acknowledged.
 *
 * After writes, the tracker calls `flush()` on the stream, coalesced: at
 * most one flush is outstanding, and when it resolves, every batch written
 * before its call is delivered (the flush covers everything written before
 * it). Batches written meanwhile are covered by the next flush, so
 * throughput does not depend on the round trip.
 *
 * "Acknowledged" is the transport's acknowledgement (hyperdht's UDX): the
 * bytes reached the peer's process, not necessarily its screen.
 */
export class DeliveryTracker extends EventEmitter<DeliveryEvents> {
  /** Written and not yet acknowledged, in order. */
  private pending: Batch[] = []
  private pendingLines = 0
  private delivered = 0
  private flushing = false
  private done = false
  private final: Batch[] | null = null
  private settleTimer: NodeJS.Timeout | null = null
  /** When the oldest pending batch was written (ms), for "not yet delivered" and dead-path checks. */
  private oldestAt: number | null = null

  constructor(
    private readonly target: Flushable,
    private readonly now: () => number = Date.now
  ) {
    super()
  }

  /** Every line up to this sequence number (of those sent here) is delivered. */
  get deliveredSeq(): number {
    return this.delivered
  }

  /** Lines sent and not (yet) acknowledged. */
  get unconfirmed(): number {
    return this.pendingLines
  }

  /** The batches sent and not (yet) acknowledged, oldest first. */
  get unconfirmedBatches(): readonly Batch[] {
    return this.pending
  }

  /** Since when (ms) the oldest unacknowledged batch has waited; null when none waits. */
  get waitingSince(): number | null {
    return this.oldestAt
  }

  /**
   * Records a batch that was just written to the stream (call it after the
   * write, so the next flush covers it). False once the stream has closed:
   * nothing more is tracked.
   */
  track(batch: Batch): boolean {
    if (this.done) return false
    const count = lineCount(batch)
    if (count === 0) return true
    if (this.pending.length === 0) this.oldestAt = this.now()
    this.pending.push(batch)
    this.pendingLines += count
    this.flush()
    return true
  }

  /**
   * The stream closed: nothing more will be acknowledged. Settles (the
   * 'settled' event) once a flush still outstanding has reported, since the
   * acknowledgement it waited for may have arrived just before the close.
   */
  close(): void {
    if (this.done) return
    this.done = true
    if (!this.flushing) return this.settle()
    // A flush settles when its stream is destroyed; this is only a safety net.
    this.settleTimer = setTimeout(() => this.settle(), CLOSE_SETTLE_MS)
    this.settleTimer.unref()
  }

  private settle(): void {
    if (this.final !== null) return
    if (this.settleTimer) clearTimeout(this.settleTimer)
    this.final = this.pending
    this.emit('settled', this.final)
  }

  /** Resolves once every batch is delivered (with []) or the stream closed (with the batches never acknowledged). */
  whenDone(): Promise<Batch[]> {
    if (this.final !== null) return Promise.resolve(this.final)
    if (this.pending.length === 0) return Promise.resolve([])
    return new Promise((resolve) => {
      const ondelivered = () => {
        if (this.pending.length > 0) return
        cleanup()
        resolve([])
      }
      const onsettled = (left: Batch[]) => {
        cleanup()
        resolve(left)
      }
      const cleanup = () => {
        this.off('delivered', ondelivered)
        this.off('settled', onsettled)
      }
      this.on('delivered', ondelivered)
      this.on('settled', onsettled)
    })
  }

  private flush(): void {
    if (this.flushing || this.done || this.pending.length === 0) return
    this.flushing = true
    const upTo = this.pending[this.pending.length - 1]!.last
    this.target.flush().then(
      (ok) => this.flushed(ok ? upTo : null),
      () => this.flushed(null)
    )
  }

  private flushed(upTo: number | null): void {
    this.flushing = false
    // null: the stream is being destroyed, and close() settles what is left.
    if (upTo !== null && this.final === null) {
      let n = 0
      while (n < this.pending.length && this.pending[n]!.last <= upTo) n++
      if (n > 0) {
        const batches = this.pending.splice(0, n)
        for (const b of batches) this.pendingLines -= lineCount(b)
        this.delivered = upTo
        this.oldestAt = this.pending.length > 0 ? this.now() : null
        this.emit('delivered', upTo, batches)
      }
    }
    if (this.done) this.settle()
    else if (upTo !== null) this.flush()
  }
}
