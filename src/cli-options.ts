import { InvalidArgumentError } from 'commander'

/*
 * Option values as commander parses them: each parser turns the text into
 * a value or refuses it with a one-line reason, and the limits they check.
 */

export function examples(list: Array<[command: string, what: string]>): string {
  const width = Math.max(...list.map(([c]) => c.length))
  return `\nExamples:\n${list.map(([c, what]) => `  $ ${c.padEnd(width)}  # ${what}`).join('\n')}\n`
}

/**
 * Upper bounds of the duration options, in seconds: past them Node's timers
 * overflow (2^31 ms ≈ 24.8 days), and nothing useful needs longer.
 */
export const LIMITS = {
  timeout: 86_400,
  floodGrace: 3600,
  statsInterval: 86_400,
  statsIntervalMin: 0.1,
  inviteUses: 1000,
  inviteExpires: 10_080
} as const

/** A whole number option from min to max. */
export function counted(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value) ? Number(value) : NaN
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`)
    return n
  }
}

/** A duration in minutes: plain decimal, 0 < n ≤ max. */
export function minutes(max: number): (value: string) => number {
  return (value) => {
    const n = /^(\d+(\.\d*)?|\.\d+)$/.test(value) ? Number(value) : NaN
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new InvalidArgumentError(`expected a positive number of minutes, at most ${max}`)
    return n
  }
}

/** A duration option: plain decimal seconds, min < n ≤ max (no hex, exponents, Infinity or NaN). */
export function seconds(max: number, min = 0): (value: string) => number {
  const want = min > 0 ? `a number of seconds from ${min} to ${max}` : `a positive number of seconds, at most ${max}`
  return (value) => {
    const n = /^(\d+(\.\d*)?|\.\d+)$/.test(value) ? Number(value) : NaN
    if (!Number.isFinite(n) || n <= 0 || n < min || n > max) throw new InvalidArgumentError(`expected ${want}`)
    return n
  }
}

export function filePath(value: string): string {
  if (value === '') throw new InvalidArgumentError('expected a file path, got an empty string')
  return value
}

export function parseCount(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError(`expected a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`)
  return Number(value)
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

export function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('expected a port number 0-65535')
  return Number(value)
}
