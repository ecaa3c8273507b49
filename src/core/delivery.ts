import { EventEmitter } from 'node:events'

/** After close, how long an outstanding flush may take to report before the tracker settles without it. */
const CLOSE_SETTLE_MS = 1000

/** What can confirm delivery: a stream whose flush() resolves true once the peer acknowledged everything written before the call. */
export interface Flushable {
  flush(): Promise<boolean>
}

export interface DeliveryEvents {
  /** Every line up to and including sequence number `upTo` was acknowledged by the peer's transport. */
  delivered: [upTo: number]
  /** Settled for good (the transport closed): `unconfirmed` lines were never acknowledged. */
  settled: [unconfirmed: number]
}

/**
 * Which of the lines sent on one stream the peer has acknowledged.
 *
 * Each line gets a sequence number (1, 2, …) when it is written. After
 * writes, the tracker calls `flush()` on the stream, coalesced: at most one
 * flush is outstanding, and when it resolves, every line up to the sequence
 * number recorded at its call is delivered (the flush covers everything
 * written before it). Lines written meanwhile are covered by the next flush,
 * so throughput does not depend on the round trip.
 *
 * "Acknowledged" is the transport's acknowledgement (hyperdht's UDX): the
 * bytes reached the peer's process, not necessarily its screen.
 */
export class DeliveryTracker extends EventEmitter<DeliveryEvents> {
  private sent = 0
  private delivered = 0
  private flushing = false
  private done = false
  private final: number | null = null
  private settleTimer: NodeJS.Timeout | null = null

  constructor(private readonly target: Flushable) {
    super()
  }

  /** Every line up to this sequence number is delivered. */
  get deliveredSeq(): number {
    return this.delivered
  }

  /** Lines sent and not (yet) acknowledged. */
  get unconfirmed(): number {
    return this.sent - this.delivered
  }

  /**
   * Records `count` lines that were just written to the stream (call it
   * after the write, so the next flush covers them). Returns the sequence
   * number of the last one.
   */
  track(count: number): number {
    if (count > 0 && !this.done) {
      this.sent += count
      this.flush()
    }
    return this.sent
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
    this.final = this.unconfirmed
    this.emit('settled', this.final)
  }

  /** Resolves with the number of unconfirmed lines once every line is delivered (0) or the stream closed. */
  whenDone(): Promise<number> {
    if (this.unconfirmed === 0) return Promise.resolve(0)
    if (this.final !== null) return Promise.resolve(this.final)
    return new Promise((resolve) => {
      const ondelivered = () => {
        if (this.unconfirmed > 0) return
        cleanup()
        resolve(0)
      }
      const onsettled = (n: number) => {
        cleanup()
        resolve(n)
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
    if (this.flushing || this.done || this.delivered === this.sent) return
    this.flushing = true
    const upTo = this.sent
    this.target.flush().then(
      (ok) => this.flushed(ok ? upTo : null),
      () => this.flushed(null)
    )
  }

  private flushed(upTo: number | null): void {
    this.flushing = false
    // null: the stream is being destroyed, and close() settles what is left.
    if (upTo !== null && upTo > this.delivered) {
      this.delivered = upTo
      this.emit('delivered', upTo)
    }
    if (this.done) this.settle()
    else if (upTo !== null) this.flush()
  }
}
