import { describe, expect, it } from 'vitest'
import { DeliveryTracker, type Batch, type Flushable } from '../../../../src/core/peer/delivery.js'

/** A stream whose flushes resolve when the test says so. */
class FakeFlushable implements Flushable {
  calls: Array<(ok: boolean) => void> = []
  flush(): Promise<boolean> {
    return new Promise((resolve) => this.calls.push(resolve))
  }
  /** Resolves the oldest outstanding flush and lets the tracker react. */
  async settle(ok: boolean): Promise<void> {
    this.calls.shift()!(ok)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

let seq = 0
/** A batch of `n` lines with the next sequence numbers. */
function batch(n: number): Batch {
  const lines = Array.from({ length: n }, (_, i) => Buffer.from(`line ${seq + i + 1}`))
  const b: Batch = { first: seq + 1, last: seq + n, lines, bytes: lines.reduce((a, l) => a + l.byteLength + 1, 0), open: 0 }
  seq += n
  return b
}

describe('DeliveryTracker', () => {
  it('keeps at most one flush outstanding; each flush delivers the batches written before its call', async () => {
    seq = 0
    const stream = new FakeFlushable()
    const tracker = new DeliveryTracker(stream)
    const delivered: Array<[number, number[]]> = []
    tracker.on('delivered', (upTo, batches) => delivered.push([upTo, batches.map((b) => b.first)]))

    expect(tracker.track(batch(2))).toBe(true)
    tracker.track(batch(3))
    expect(stream.calls).toHaveLength(1)
    expect(tracker.unconfirmed).toBe(5)

    await stream.settle(true)
    expect(delivered).toEqual([[2, [1]]])
    expect(tracker.deliveredSeq).toBe(2)
    expect(tracker.unconfirmedBatches.map((b) => b.first)).toEqual([3])
    // The lines written meanwhile get the next flush.
    expect(stream.calls).toHaveLength(1)
    await stream.settle(true)
    expect(delivered).toEqual([
      [2, [1]],
      [5, [3]]
    ])
    expect(tracker.unconfirmed).toBe(0)
    expect(tracker.waitingSince).toBeNull()
    expect(stream.calls).toHaveLength(0)
  })

  it('numbers need not be contiguous: a peer gets only some of the conversation (a room, /send-to)', async () => {
    seq = 10
    const stream = new FakeFlushable()
    const tracker = new DeliveryTracker(stream)
    const a = batch(1)
    batch(4) // sent to someone else
    const b = batch(2)
    tracker.track(a)
    tracker.track(b)
    await stream.settle(true)
    await stream.settle(true)
    expect(tracker.deliveredSeq).toBe(17)
    expect(tracker.unconfirmed).toBe(0)
  })

  it('a failed flush delivers nothing; close settles with the unacknowledged batches', async () => {
    seq = 0
    const stream = new FakeFlushable()
    const tracker = new DeliveryTracker(stream)
    const b = batch(3)
    tracker.track(b)
    const done = tracker.whenDone()
    await stream.settle(false)
    expect(tracker.deliveredSeq).toBe(0)
    tracker.close()
    expect(await done).toEqual([b])
    expect(await tracker.whenDone()).toEqual([b])
    // Nothing more is tracked once closed.
    expect(tracker.track(batch(1))).toBe(false)
    expect(stream.calls).toHaveLength(0)
  })

  it('on close, waits for the outstanding flush: an acknowledgement that arrived just before the close counts', async () => {
    seq = 0
    const stream = new FakeFlushable()
    const tracker = new DeliveryTracker(stream)
    tracker.track(batch(4))
    let settled: Batch[] | null = null
    tracker.on('settled', (left) => (settled = left))
    tracker.close()
    expect(settled).toBeNull()
    await stream.settle(true)
    expect(settled).toEqual([])
  })

  it('whenDone resolves [] once everything is delivered', async () => {
    seq = 0
    const stream = new FakeFlushable()
    const tracker = new DeliveryTracker(stream)
    expect(await tracker.whenDone()).toEqual([])
    tracker.track(batch(1))
    const done = tracker.whenDone()
    await stream.settle(true)
    expect(await done).toEqual([])
  })

  it('waitingSince is when the oldest unacknowledged batch was written, or the last acknowledgement', async () => {
    seq = 0
    let now = 1000
    const stream = new FakeFlushable()
    const tracker = new DeliveryTracker(stream, () => now)
    expect(tracker.waitingSince).toBeNull()
    tracker.track(batch(1))
    now = 2000
    tracker.track(batch(1))
    expect(tracker.waitingSince).toBe(1000)
    now = 3000
    await stream.settle(true)
    expect(tracker.waitingSince).toBe(3000)
  })
})
