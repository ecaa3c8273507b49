/**
 * A token bucket: `rate` tokens per second, holding at most `burst`. take()
 * may overdraw; it returns how long the caller should wait (ms) until the
 * bucket is back to zero, which is how long a flooding peer's stream stays
 * paused.
 */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number
  ) {
    this.tokens = burst
    this.last = now
  }

  take(amount: number, now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate)
    this.last = now
    this.tokens -= amount
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.rate) * 1000)
  }
}

export interface RateLimits {
  /** Lines per second (0: unlimited). */
  linesPerSec: number
  /** Bytes per second (0: unlimited). */
  bytesPerSec: number
  /** A peer throttled without a break for this long is disconnected. */
  floodGraceMs: number
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  linesPerSec: 2000,
  bytesPerSec: 4 * 1024 * 1024,
  floodGraceMs: 10_000
}

/** Both buckets for one peer, and the flood verdict. */
export class PeerRateLimiter {
  private readonly lines: TokenBucket | null
  private readonly bytes: TokenBucket | null
  private throttledSince: number | null = null
  private throttledUntil = 0

  constructor(
    private readonly limits: RateLimits,
    now: number
  ) {
    // Bursts of a few seconds' worth let pasted text and piped files through.
    this.lines = limits.linesPerSec > 0 ? new TokenBucket(limits.linesPerSec, limits.linesPerSec * 5, now) : null
    this.bytes = limits.bytesPerSec > 0 ? new TokenBucket(limits.bytesPerSec, limits.bytesPerSec * 4, now) : null
  }

  /**
   * Accounts a chunk. Returns the pause in ms (0: go on) or 'flood' when the
   * peer has been over its limits for longer than the grace period (or owes
   * more than that in one go).
   */
  account(lineCount: number, byteCount: number, now: number): number | 'flood' {
    const wait = Math.max(this.lines?.take(lineCount, now) ?? 0, this.bytes?.take(byteCount, now) ?? 0)
    if (wait === 0) {
      // A break of a second without throttling ends the episode.
      if (this.throttledSince !== null && now - this.throttledUntil > 1000) this.throttledSince = null
      return 0
    }
    this.throttledSince ??= now
    this.throttledUntil = now + wait
    if (wait > this.limits.floodGraceMs || now + wait - this.throttledSince > this.limits.floodGraceMs) return 'flood'
    return wait
  }
}
