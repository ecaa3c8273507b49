/**
 * Exponential backoff with jitter: base·2ⁿ, capped, times a random factor in
 * [0.5, 1.5) so that many clients of one restarted listener do not retry in step.
 */
export class Backoff {
  attempt = 0

  constructor(
    private readonly baseMs = 500,
    private readonly capMs = 30_000,
    private readonly random: () => number = Math.random
  ) {}

  next(): number {
    const exp = Math.min(this.capMs, this.baseMs * 2 ** this.attempt)
    this.attempt++
    return Math.round(Math.min(this.capMs, exp * (0.5 + this.random())))
  }

  reset(): void {
    this.attempt = 0
  }
}
