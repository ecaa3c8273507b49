import { describe, expect, it } from 'vitest'
import { DeliveryTracker, type Flushable } from '../../src/core/delivery.js'

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

describe('DeliveryTracker', () => {
  it('numbers lines and keeps at most one flush outstanding; each flush delivers up to the seq at its call', async () => {
    const stream = new FakeFlushable()
    const tracker = new DeliveryTracker(stream)
    const delivered: number[] = []
    tracker.on('delivered', (upTo) => delivered.push(upTo))

    expect(tracker.track(2)).toBe(2)
    expect(tracker.track(3)).toBe(5)
    expect(stream.calls).toHaveLength(1)
    expect(tracker.unconfirmed).toBe(5)

    await stream.settle(true)
    expect(delivered).toEqual([2])
    expect(tracker.deliveredSeq).toBe(2)
    // The lines written meanwhile get the next flush.
    expect(stream.calls).toHaveLength(1)
    await stream.settle(true)
    expect(delivered).toEqual([2, 5])
    expect(tracker.unconfirmed).toBe(0)
    expect(stream.calls).toHaveLength(0)
  })

  it('flushes nothing when nothing was sent', () => {
    const stream = new FakeFlushable()
    const tracker = new DeliveryTracker(stream)
    tracker.track(0)
    expect(stream.calls).toHaveLength(0)
  })

  it('a failed flush delivers nothing; close settles with the unconfirmed count', async () => {
    const stream = new FakeFlushable()
    const tracker = new DeliveryTracker(stream)
    tracker.track(3)
    const done = tracker.whenDone()
    await stream.settle(false)
    expect(tracker.deliveredSeq).toBe(0)
    tracker.close()
    expect(await done).toBe(3)
    expect(await tracker.whenDone()).toBe(3)
    // Nothing more is tracked once closed.
    tracker.track(1)
    expect(stream.calls).toHaveLength(0)
  })

  it('on close, waits for the outstanding flush: an acknowledgement that arrived just before the close counts', async () => {
    const stream = new FakeFlushable()
    const tracker = new DeliveryTracker(stream)
    tracker.track(4)
    let settled: number | null = null
    tracker.on('settled', (n) => (settled = n))
    tracker.close()
    expect(settled).toBeNull()
    await stream.settle(true)
    expect(settled).toBe(0)
  })

  it('whenDone resolves 0 once everything is delivered', async () => {
    const stream = new FakeFlushable()
    const tracker = new DeliveryTracker(stream)
    expect(await tracker.whenDone()).toBe(0)
    tracker.track(1)
    const done = tracker.whenDone()
    await stream.settle(true)
    expect(await done).toBe(0)
  })
})
