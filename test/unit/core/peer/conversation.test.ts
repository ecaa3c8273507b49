import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Conversation, type ConversationOptions, type OwnLine } from '../../../../src/core/peer/conversation.js'
import { DeliveryTracker, type Batch, type Flushable } from '../../../../src/core/peer/delivery.js'
import type { PeerConnection, Sender } from '../../../../src/core/peer/connection.js'

// The Conversation with fake peers: a peer is a real DeliveryTracker over a
// stream whose flushes the test acknowledges (or not), so what is checked is
// the conversation's own bookkeeping: numbers, outbox, caps, events.

let clock = 0
const now = () => clock

/** Lets resolved flushes reach the tracker and the conversation. */
const settle = () => new Promise((resolve) => setImmediate(resolve))

class FakePeer implements Flushable {
  isClosed = false
  backlogged = false
  /** What sendBatch() answers while open. */
  answer: 'ok' | 'wait' = 'ok'
  /** Every line written to this peer, in order (seq numbers). */
  written: number[] = []
  /** The bytes written to this peer. */
  wire = ''
  private flushes: Array<(ok: boolean) => void> = []
  readonly delivery: DeliveryTracker
  constructor(readonly name: string) {
    this.delivery = new DeliveryTracker(this, now)
  }
  flush(): Promise<boolean> {
    return new Promise((resolve) => this.flushes.push(resolve))
  }
  sender(): Sender {
    return { key: this.name.repeat(64).slice(0, 64), name: this.name }
  }
  sendBatch(batch: Batch): 'ok' | 'wait' | 'closed' {
    if (this.isClosed) return 'closed'
    for (let s = batch.first; s <= batch.last; s++) this.written.push(s)
    this.wire += Buffer.from(batch.data!).toString()
    if (!this.delivery.track(batch)) return 'closed'
    batch.open++
    return this.answer
  }
  /** The peer's transport acknowledges everything written so far. */
  async ack(): Promise<void> {
    while (this.flushes.length > 0) {
      this.flushes.shift()!(true)
      await settle()
    }
  }
  /** The connection ends (outstanding flushes fail, as a destroyed stream's do). */
  async close(): Promise<void> {
    this.isClosed = true
    this.delivery.close()
    for (const f of this.flushes.splice(0)) f(false)
    await settle()
  }
  get asPeer(): PeerConnection {
    return this as unknown as PeerConnection
  }
}

const line = (text: string) => Buffer.from(text)
const seqs = (lines: OwnLine[]) => lines.map((l) => l.seq)

/** A conversation whose events are recorded as plain tuples. */
function conversation(opts: Partial<ConversationOptions> = {}) {
  const c = new Conversation({ keepUndelivered: false, outbox: true, bounded: false, now, ...opts })
  const log: unknown[] = []
  c.on('delivered', (p, upTo) => log.push(['delivered', p.name, upTo]))
  c.on('confirmed', (upTo) => log.push(['confirmed', upTo]))
  c.on('pending', (p, lines) => log.push(['pending', p.name, seqs(lines)]))
  c.on('undelivered', (p, lines, kept) => log.push(['undelivered', p.name, seqs(lines), kept]))
  return { c, log }
}

beforeEach(() => {
  clock = 0
})

describe('Conversation: numbering', () => {
  it('numbers lines 1, 2, … across sends, the outbox and reconnects; a refused line takes no number', async () => {
    const { c } = conversation({ keepUndelivered: true })
    expect(c.send([line('a'), line('b')])).toMatchObject({ fate: 'queued', first: 1, last: 2 })
    const a = new FakePeer('a')
    c.attach(a.asPeer)
    expect(c.send([line('c')])).toMatchObject({ fate: 'sent', first: 3, last: 3, to: [a.sender()] })
    await a.close()
    expect(c.send([line('d')], [a.asPeer])).toMatchObject({ fate: 'dropped' })
    expect(c.send([line('e'), line('f'), line('g')])).toMatchObject({ fate: 'queued', first: 4, last: 6 })
    expect(c.lastSeq).toBe(6)
    c.close()
  })

  it('without an outbox (a listener), a line with nobody to send to is refused and takes no number', () => {
    const { c } = conversation({ outbox: false, bounded: true })
    expect(c.send([line('alone')])).toEqual({ fate: 'dropped', reason: 'no peers connected', wait: false })
    const a = new FakePeer('a')
    c.attach(a.asPeer)
    expect(c.send([line('hi')])).toMatchObject({ fate: 'sent', first: 1, last: 1 })
    c.close()
  })
})

describe('Conversation: the outbox', () => {
  it('after a lost connection, its unacknowledged lines go first, then the lines typed meanwhile, in order', async () => {
    const { c, log } = conversation({ keepUndelivered: true })
    const a = new FakePeer('a')
    c.attach(a.asPeer)
    c.send([line('1')])
    await a.ack()
    c.send([line('2')])
    c.send([line('3'), line('4')])
    await a.close()
    expect(log).toContainEqual(['undelivered', 'a', [2, 3, 4], true])
    c.send([line('5')])
    c.send([line('6')])
    expect(seqs(c.outboxLines)).toEqual([2, 3, 4, 5, 6])
    expect(c.outboxLines.map((l) => Buffer.from(l.bytes).toString())).toEqual(['2', '3', '4', '5', '6'])
    expect(c.undeliveredCount).toBe(5)

    const b = new FakePeer('b')
    expect(c.attach(b.asPeer)).toBe(true)
    c.send([line('7')])
    expect(b.written).toEqual([2, 3, 4, 5, 6, 7])
    expect(c.outboxLines).toEqual([])
    await b.ack()
    expect(log.at(-2)).toEqual(['delivered', 'b', 7])
    expect(log.at(-1)).toEqual(['confirmed', 7])
    expect(c.confirmedUpTo).toBe(7)
    expect(c.undeliveredCount).toBe(0)
    c.close()
  })

  it('a second loss before the outbox was acknowledged keeps the order (nothing re-sent twice into one connection)', async () => {
    const { c } = conversation({ keepUndelivered: true })
    const a = new FakePeer('a')
    c.attach(a.asPeer)
    c.send([line('1')])
    c.send([line('2')])
    await a.close()
    c.send([line('3')])
    const b = new FakePeer('b')
    c.attach(b.asPeer)
    c.send([line('4')])
    await b.close()
    c.send([line('5')])
    expect(seqs(c.outboxLines)).toEqual([1, 2, 3, 4, 5])
    const d = new FakePeer('d')
    c.attach(d.asPeer)
    expect(d.written).toEqual([1, 2, 3, 4, 5])
    c.close()
  })

  it('lines go out and come back from the outbox byte for byte, empty ones too', async () => {
    const { c, log } = conversation({ keepUndelivered: true })
    const a = new FakePeer('a')
    c.attach(a.asPeer)
    c.send([line('héllo'), line(''), line('x y')])
    expect(a.wire).toBe('héllo\n\nx y\n')
    await a.close()
    expect(c.outboxLines.map((l) => [l.seq, Buffer.from(l.bytes).toString()])).toEqual([
      [1, 'héllo'],
      [2, ''],
      [3, 'x y']
    ])
    expect(log).toEqual([['undelivered', 'a', [1, 2, 3], true]])
    const b = new FakePeer('b')
    c.attach(b.asPeer)
    expect(b.wire).toBe('héllo\n\nx y\n')
    c.close()
  })

  it('attach says to wait when the peer wants a drain', () => {
    const { c } = conversation({ keepUndelivered: true })
    c.send([line('queued')])
    const a = new FakePeer('a')
    a.answer = 'wait'
    expect(c.attach(a.asPeer)).toBe(false)
    expect(a.written).toEqual([1])
    c.close()
  })

  it('caps: past the soft cap reading waits; past the hard cap new lines are refused (no number) and the outbox is kept', () => {
    const { c } = conversation({ softBytes: 10, hardBytes: 20 })
    expect(c.send([line('1234')])).toMatchObject({ fate: 'queued', wait: false }) // 5 bytes
    expect(c.send([line('1234')])).toMatchObject({ fate: 'queued', wait: true }) // 10: soft cap reached
    expect(c.send([line('123456789')])).toMatchObject({ fate: 'queued', first: 3, wait: true }) // 20: exactly the hard cap
    const refused = c.send([line('x')])
    expect(refused).toMatchObject({ fate: 'dropped', wait: true })
    expect(refused.fate === 'dropped' && refused.reason).toMatch(/outbox is full/)
    expect(c.lastSeq).toBe(3)
    expect(seqs(c.outboxLines)).toEqual([1, 2, 3])
    c.close()
  })
})

describe('Conversation: acknowledgements (a room)', () => {
  it('delivered is per peer; confirmed advances only when every addressee acknowledged, never past an open line', async () => {
    const { c, log } = conversation({ outbox: false, bounded: true })
    const a = new FakePeer('a')
    const b = new FakePeer('b')
    c.attach(a.asPeer)
    c.attach(b.asPeer)
    c.send([line('to both')]) // 1
    c.send([line('to a')], [a.asPeer]) // 2
    await a.ack()
    expect(log).toEqual([
      ['delivered', 'a', 1],
      ['delivered', 'a', 2]
    ])
    expect(c.confirmedUpTo).toBe(0)
    await b.ack()
    expect(log.slice(2)).toEqual([
      ['delivered', 'b', 1],
      ['confirmed', 2]
    ])
    c.close()
  })

  it('a peer that leaves with lines unacknowledged: undelivered for it (not kept); the lines settle for the others', async () => {
    const { c, log } = conversation({ outbox: false, bounded: true })
    const a = new FakePeer('a')
    const b = new FakePeer('b')
    c.attach(a.asPeer)
    c.attach(b.asPeer)
    c.send([line('x'), line('y')])
    await a.ack()
    await b.close()
    expect(log).toEqual([
      ['delivered', 'a', 2],
      ['undelivered', 'b', [1, 2], false],
      ['confirmed', 2]
    ])
    expect(c.outboxLines).toEqual([])
    expect(c.undeliveredCount).toBe(0)
    c.close()
  })

  it('an acknowledgement that arrives as the connection closes counts: nothing is reported undelivered', async () => {
    const { c, log } = conversation({ keepUndelivered: true })
    const a = new FakePeer('a')
    c.attach(a.asPeer)
    c.send([line('just in time')])
    a.isClosed = true
    a.delivery.close() // the flush is still outstanding: the tracker waits for it
    await a.ack()
    expect(log).toEqual([
      ['delivered', 'a', 1],
      ['confirmed', 1]
    ])
    expect(c.outboxLines).toEqual([])
    c.close()
  })
})

describe('Conversation: undelivered kept or not', () => {
  it('connect without --reconnect: lines of a lost connection are reported lost, not kept', async () => {
    const { c, log } = conversation({ keepUndelivered: false })
    const a = new FakePeer('a')
    c.attach(a.asPeer)
    c.send([line('gone')])
    await a.close()
    expect(log).toEqual([
      ['undelivered', 'a', [1], false],
      ['confirmed', 1]
    ])
    expect(c.outboxLines).toEqual([])
    c.close()
  })

  it('--reconnect keeps them, until stopKeeping() (leaving): then they are reported lost', async () => {
    const { c, log } = conversation({ keepUndelivered: true })
    const a = new FakePeer('a')
    c.attach(a.asPeer)
    c.send([line('kept')])
    await a.close()
    expect(log).toEqual([['undelivered', 'a', [1], true]])
    expect(c.confirmedUpTo).toBe(0)
    const b = new FakePeer('b')
    c.attach(b.asPeer)
    c.stopKeeping()
    await b.close()
    expect(log.slice(1)).toEqual([
      ['undelivered', 'b', [1], false],
      ['confirmed', 1]
    ])
    expect(c.outboxLines).toEqual([])
    c.close()
  })
})

describe('Conversation: pending lines', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('lines unacknowledged for pendingNoticeMs are reported once per peer; acknowledged ones never', async () => {
    const { c, log } = conversation({ outbox: false, bounded: true, pendingNoticeMs: 2000 })
    const a = new FakePeer('a')
    const b = new FakePeer('b')
    c.attach(a.asPeer)
    c.attach(b.asPeer)
    c.send([line('1')])
    c.send([line('2')])
    clock = 1500
    vi.advanceTimersByTime(1500)
    await b.ack()
    expect(log).toEqual([
      ['delivered', 'b', 1],
      ['delivered', 'b', 2]
    ])
    clock = 2100
    vi.advanceTimersByTime(600)
    expect(log.slice(2)).toEqual([['pending', 'a', [1, 2]]])
    clock = 5000
    vi.advanceTimersByTime(3000)
    expect(log).toHaveLength(3) // once
    c.send([line('3')])
    clock = 7500
    vi.advanceTimersByTime(2500)
    // Only the new line, for each peer that has not acknowledged it.
    expect(log.slice(3)).toEqual([
      ['pending', 'a', [3]],
      ['pending', 'b', [3]]
    ])
    c.close()
  })
})
