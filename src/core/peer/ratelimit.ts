/**
 * A token bucket: `rate` tokens per second, holding at most `burst`.
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

  /** Takes `amount` if the bucket holds it; otherwise takes nothing. */
  tryTake(amount: number, now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate)
    this.last = now
    if (this.tokens < amount) return false
    this.tokens -= amount
    return true
  }
}

export interface RateLimits {
  /** Lines per second (0: unlimited). */
  linesPerSec: number
  /** Bytes per second (0: unlimited). */
  bytesPerSec: number
  /** A peer kept over its limits without a break this long is disconnected. */
  floodGraceMs: number
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  linesPerSec: 2000,
  bytesPerSec: 4 * 1024 * 1024,
  floodGraceMs: 10_000
}

/**
 * Per-peer limits. Lines over the limit are dropped, not queued: pausing the
 * stream would not help, because hyperdht's UDX transport keeps receiving
 * into memory while a stream is paused (measured: ~35 MB/s of growth under a
 * loopback flood). Dropping keeps memory flat; a peer that stays over its
 * limits for the grace period is then disconnected.
 */
export class PeerRateLimiter {
  private readonly lines: TokenBucket | null
  private readonly bytes: TokenBucket | null
  private overSince: number | null = null
  private lastDrop = 0

  constructor(
    private readonly limits: RateLimits,
    now: number
  ) {
    // Bursts of a few seconds' worth let pasted text and piped files through.
    this.lines = limits.linesPerSec > 0 ? new TokenBucket(limits.linesPerSec, limits.linesPerSec * 5, now) : null
    this.bytes = limits.bytesPerSec > 0 ? new TokenBucket(limits.bytesPerSec, limits.bytesPerSec * 4, now) : null
  }

  /** Whether a line of `byteCount` bytes may pass now. */
  admit(byteCount: number, now: number): boolean {
    const ok = (this.lines?.tryTake(1, now) ?? true) && (this.bytes?.tryTake(byteCount, now) ?? true)
    if (ok) {
      // A second without drops ends the episode.
      if (this.overSince !== null && now - this.lastDrop > 1000) this.overSince = null
      return true
    }
    this.overSince ??= now
    this.lastDrop = now
    return false
  }

  /** True once the peer has been over its limits, without a break, for the grace period. */
  flooding(now: number): boolean {
    return this.overSince !== null && now - this.overSince > this.limits.floodGraceMs
  }
}
