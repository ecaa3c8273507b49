import { EventEmitter } from 'node:events'
import { Duplex } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { default as DHT, NoiseStream } from 'hyperdht'
import { ChatError } from '../../../../src/core/errors.js'
import { dial } from '../../../../src/core/roles/dial.js'

// dial()'s half-open detection, driven by a stand-in stream: the real case
// (hyperdht issue #304) cannot be produced on demand with a pinned hyperdht.

class FakeStream extends Duplex {
  rawStream = Object.assign(new EventEmitter(), { bytesReceived: 0, remoteHost: '127.0.0.1', remotePort: 1, rtt: 1, packetsReceived: 0 })
  /** @hyperswarm/secret-stream's flag: false once the peer's header has arrived. */
  _setup = true
  remotePublicKey = Buffer.alloc(32, 7)
  publicKey = Buffer.alloc(32, 8)
  written: Buffer[] = []
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.written.push(chunk)
    cb()
  }
}

function fakeDht(stream: FakeStream): DHT {
  return { connect: () => stream as unknown as NoiseStream } as unknown as DHT
}

describe('dial', () => {
  it('reports a half-open connection when the peer never sends a byte after "open"', async () => {
    const stream = new FakeStream()
    const { ready } = dial(fakeDht(stream), Buffer.alloc(32), { timeoutMs: 10_000, confirmMs: 200 })
    const started = Date.now()
    setTimeout(() => stream.emit('open'), 20)
    const err = await ready.then(() => null, (e: unknown) => e)
    expect(err).toBeInstanceOf(ChatError)
    expect((err as ChatError).code).toBe('HALF_OPEN')
    expect((err as ChatError).exitCode).toBe(8)
    expect(Date.now() - started).toBeLessThan(2000)
    expect(stream.destroyed).toBe(true)
  })

  it('is ready only once the peer has sent its stream header; transport acknowledgements of our own bytes are not that', async () => {
    const stream = new FakeStream()
    const { peer, ready } = dial(fakeDht(stream), Buffer.alloc(32), { timeoutMs: 10_000, confirmMs: 5_000 })
    let opened = false
    peer.on('open', () => (opened = true))
    stream.emit('open')
    await new Promise((r) => setTimeout(r, 100))
    expect(opened).toBe(false)
    stream.rawStream.bytesReceived = 40 // acknowledgement packets only (issue 19 point 23)
    await new Promise((r) => setTimeout(r, 100))
    expect(opened).toBe(false)
    stream._setup = false // the peer's secret-stream header arrived
    await ready
    expect(opened).toBe(true)
  })

  it('times out when nothing happens at all', async () => {
    const stream = new FakeStream()
    const { ready } = dial(fakeDht(stream), Buffer.alloc(32), { timeoutMs: 150 })
    const err = (await ready.then(() => null, (e: unknown) => e)) as ChatError
    expect(err.code).toBe('TIMEOUT')
    expect(err.exitCode).toBe(7)
  })

  it('maps a hyperdht error to its plain message', async () => {
    const stream = new FakeStream()
    const { ready } = dial(fakeDht(stream), Buffer.alloc(32), { timeoutMs: 5_000 })
    stream.destroy(Object.assign(new Error('PEER_NOT_FOUND: Peer not found'), { code: 'PEER_NOT_FOUND' }))
    const err = (await ready.then(() => null, (e: unknown) => e)) as ChatError
    expect(err.code).toBe('PEER_NOT_FOUND')
    expect(err.exitCode).toBe(4)
  })
})
