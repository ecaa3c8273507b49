import { EventEmitter } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { Forwarder } from '../../../../src/core/peer/forwarding.js'

/** A receiver whose transport takes bytes only when told to (take()). */
class Receiver extends EventEmitter {
  queuedBytes = 0
  isClosed = false
  written: Buffer[] = []
  maxQueued = 0
  /** Like a stream's high-water mark: past it, write() asks for 'drain' (Infinity: never). */
  highWaterMark = Infinity
  sendBoundedRaw(data: Uint8Array): boolean {
    this.written.push(Buffer.from(data))
    this.queuedBytes += data.byteLength
    this.maxQueued = Math.max(this.maxQueued, this.queuedBytes)
    return this.queuedBytes < this.highWaterMark
  }
  /** The transport took everything: the stream drains. */
  take(): void {
    this.queuedBytes = 0
    this.emit('drain')
  }
  text(): string {
    return Buffer.concat(this.written).toString()
  }
}

const lines = (prefix: string, from: number, count: number, size: number) =>
  Buffer.from(Array.from({ length: count }, (_, i) => `${prefix}${from + i} `.padEnd(size - 1, 'x') + '\n').join(''))

const forwarders: Array<Forwarder<string>> = []
afterEach(() => {
  for (const f of forwarders.splice(0)) f.close()
})

function setup(mark = 4096, budget = 8192) {
  const receiver = new Receiver()
  const dropped = new Map<string, number>()
  const forwarder = new Forwarder<string>(receiver, { markBytes: mark, budgetBytes: budget, onDropped: (s, n) => dropped.set(s, (dropped.get(s) ?? 0) + n) })
  forwarders.push(forwarder)
  return { receiver, forwarder, dropped }
}

describe('Forwarder (a room member\'s forwarded lines)', () => {
  it('writes straight through while the receiver is under the mark', () => {
    const { receiver, forwarder, dropped } = setup()
    forwarder.push('a', lines('a', 0, 3, 100))
    expect(receiver.written).toHaveLength(1)
    expect(forwarder.waitingBytes).toBe(0)
    expect(dropped.size).toBe(0)
  })

  it('a flooding sender loses its own newest lines; a slower sender\'s line survives and goes before the rest of the flood', () => {
    const { receiver, forwarder, dropped } = setup()
    // 64 KiB from the flooder at once: the receiver takes nothing meanwhile.
    for (let i = 0; i < 64; i++) forwarder.push('flood', lines('f', i * 10, 10, 100))
    expect(receiver.maxQueued).toBeLessThanOrEqual(4096 + 100)
    expect(forwarder.waitingBytes).toBeLessThanOrEqual(8192)
    const floodDropped = dropped.get('flood')!
    expect(floodDropped).toBeGreaterThan(500)
    forwarder.push('good', Buffer.from('[good] hello\n'))
    expect(dropped.get('good')).toBeUndefined()
    expect(dropped.get('flood')).toBeGreaterThanOrEqual(floodDropped)
    // The next turn after the flooder's quantum is the good sender's.
    receiver.written = []
    receiver.take()
    const text = receiver.text()
    expect(text).toContain('[good] hello\n')
    expect(text.indexOf('[good] hello\n')).toBeLessThanOrEqual(4096)
    // Whole lines only, in order within each sender, and nothing lost beyond what was counted.
    while (forwarder.waitingBytes > 0) receiver.take()
    const all = receiver.written.map(String).join('') + ''
    const floodLines = all.split('\n').filter((l) => l.startsWith('f'))
    for (const l of floodLines) expect(l).toHaveLength(99)
    const numbers = floodLines.map((l) => Number(l.slice(1, l.indexOf(' '))))
    expect(numbers).toEqual([...numbers].sort((x, y) => x - y))
  })

  it('never writes a receiver past the mark by more than one line, however long the line', () => {
    const { receiver, forwarder } = setup(4096, 200_000)
    const long = Buffer.from('L'.repeat(65_000) + '\n')
    for (let i = 0; i < 3; i++) forwarder.push('a', long)
    expect(receiver.maxQueued).toBeLessThanOrEqual(4096 + long.byteLength)
    receiver.take()
    receiver.take()
    receiver.take()
    expect(receiver.text()).toBe(long.toString().repeat(3))
  })

  it('an over-budget queue is cut at line boundaries from its newest end', () => {
    const { receiver, forwarder, dropped } = setup(0, 1000)
    forwarder.push('a', lines('a', 0, 30, 100))
    expect(forwarder.waitingBytes).toBeLessThanOrEqual(1000)
    // Nothing went in (mark 0); of the 30 lines, the 10 oldest fit the budget.
    expect(receiver.written).toHaveLength(0)
    receiver.queuedBytes = -100_000
    receiver.emit('drain')
    expect(forwarder.waitingBytes).toBe(0)
    expect(receiver.text().split('\n').filter(Boolean).map((l) => l.split(' ')[0])).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8', 'a9'])
    expect(dropped.get('a')).toBe(20)
  })

  it('stops when the stream asks for drain, and goes on at its drain, however far under the mark', () => {
    const { receiver, forwarder, dropped } = setup(100_000, 100_000)
    receiver.highWaterMark = 1000
    for (let i = 0; i < 10; i++) forwarder.push('a', lines('a', i * 5, 5, 100))
    // The first batch filled the stream to its high-water mark: the rest waits here, in order.
    expect(receiver.written).toHaveLength(2)
    expect(forwarder.waitingBytes).toBe(4000)
    receiver.take()
    expect(receiver.written.length).toBeGreaterThan(2)
    while (forwarder.waitingBytes > 0) receiver.take()
    const numbers = receiver.text().split('\n').filter(Boolean).map((l) => Number(l.slice(1, l.indexOf(' '))))
    expect(numbers).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(dropped.size).toBe(0)
  })

  it('forgets everything when the receiver closes', () => {
    const { receiver, forwarder } = setup(0, 10_000)
    forwarder.push('a', lines('a', 0, 5, 100))
    receiver.isClosed = true
    forwarder.close()
    expect(forwarder.waitingBytes).toBe(0)
    forwarder.push('a', lines('a', 5, 5, 100))
    expect(forwarder.waitingBytes).toBe(0)
  })
})
