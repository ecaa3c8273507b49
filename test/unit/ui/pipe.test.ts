import { PassThrough, Readable, Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_LINE_BYTES, LineDecoder, completeUtf8Length } from '../../../src/core/peer/framing.js'
import type { ChatController, Sent } from '../../../src/ui/chat-ui.js'
import { startRawInput } from '../../../src/ui/input.js'
import { Output } from '../../../src/ui/output.js'
import { PipeUi } from '../../../src/ui/pipe.js'
import { everyTwoWaySplit, offsetsOf, randomSplits, splitsNear } from '../../helpers/splits.js'

// Pipe mode, both ends of a pipe user's bytes: what `connect` reads from
// stdin and sends (src/ui/input.ts), and what a listener or `connect` prints
// of what arrived (src/ui/pipe.ts). The same bytes, however they are cut
// into chunks (pipe reads, packets), must give the same result, and that
// result keeps every byte: a `\r` too (issue 19, point 18).

const MAX = DEFAULT_MAX_LINE_BYTES
const utf8 = (s: string) => Buffer.from(s, 'utf8')

/** CRLF, bare CRLF, lone CR, CR CR LF, a CR after multibyte characters and between invalid UTF-8. */
const SHORT = Buffer.concat([utf8('plain\ncrlf\r\n\r\nlone\rcr\n\r\r\né€\r\n'), Buffer.from([0xff, 0x0d, 0xc3, 0x0d, 0x0a])])
/** The same, and CR at the length limit: the last byte that fits, the first byte past it, where a long line is cut. */
const LONG = Buffer.concat([
  SHORT,
  utf8('x'.repeat(MAX - 1) + '\r\n'),
  utf8('y'.repeat(MAX) + '\r\n'),
  utf8('w'.repeat(MAX - 1) + '\rmore\r\n'),
  utf8('after\r\n')
])

/** The lines the rule makes of `data`: every byte before each \n, cut at the limit. */
function byTheRule(data: Buffer): Array<{ bytes: Buffer; droppedBytes: number }> {
  const out: Array<{ bytes: Buffer; droppedBytes: number }> = []
  let start = 0
  for (;;) {
    const nl = data.indexOf(0x0a, start)
    const line = data.subarray(start, nl === -1 ? data.length : nl)
    if (nl === -1 && line.length === 0) break
    const keep = line.length <= MAX ? line.length : completeUtf8Length(line.subarray(0, MAX))
    out.push({ bytes: line.subarray(0, keep), droppedBytes: line.length - keep })
    if (nl === -1) break
    start = nl + 1
  }
  return out
}

function splitsOf(data: Buffer) {
  if (data.length < 1000) return [...everyTwoWaySplit(data), ...randomSplits(data, 200, 18)]
  return [...splitsNear(data, [...offsetsOf(data, 0x0d), ...offsetsOf(data, 0x0a)]), ...randomSplits(data, 40, 18, 30)]
}

/** What `connect` (pipe or --json) sends of stdin fed in `chunks`, and the notices it gives. */
async function sentOf(chunks: Buffer[]): Promise<{ lines: string[]; notices: string[] }> {
  const lines: string[] = []
  const notices: string[] = []
  let seq = 0
  await new Promise<void>((resolve) => {
    const controller: ChatController = {
      role: 'connect',
      peers: () => [],
      send(batch: Uint8Array[]): Sent {
        for (const b of batch) lines.push(Buffer.from(b).toString('hex'))
        const first = seq + 1
        seq += batch.length
        return { fate: 'sent', wait: false, first, last: seq }
      },
      inputEnded: resolve,
      quit: () => {}
    }
    const output = new Output({ stdout: new PassThrough(), stderr: new PassThrough(), env: {} })
    // objectMode: each chunk is handed over as it is, never merged with the next.
    startRawInput({ output, stdin: Readable.from(chunks, { objectMode: true }) }, controller, (n) => notices.push(n))
  })
  return { lines, notices }
}

/** What a pipe-mode UI prints on stdout for a peer that sent `chunks`. */
function printedOf(chunks: Buffer[], role: 'listen' | 'connect', tty = false): Buffer {
  const written: Buffer[] = []
  const stdout = Object.assign(new Writable({ write: (c: Buffer, _e, cb) => (written.push(Buffer.from(c)), cb()) }), { isTTY: tty })
  const output = new Output({ stdout, stderr: new PassThrough(), env: {} })
  const ui = new PipeUi({ output, stdin: new PassThrough() })
  ui.start({ role, peers: () => [], send: () => ({ fate: 'sent', wait: false }), inputEnded: () => {}, quit: () => {} })
  const decoder = new LineDecoder()
  const peer = { key: 'ab'.repeat(32), name: 'alice' }
  for (const chunk of chunks) {
    const lines = decoder.push(chunk)
    if (lines.length > 0) ui.messages(peer, lines)
  }
  const last = decoder.end()
  if (last.length > 0) ui.messages(peer, last)
  output.flush()
  ui.stop()
  return Buffer.concat(written)
}

describe('reading stdin (connect, listen: pipe and --json)', () => {
  for (const [name, data] of [['short', SHORT], ['with lines at the length limit', LONG]] as const) {
    it(`sends every byte of each line, \\r included, however stdin is cut (${name})`, async () => {
      const expected = byTheRule(data)
      const want = expected.map((l) => l.bytes.toString('hex'))
      const wantNotices = expected.filter((l) => l.droppedBytes > 0).map((l) => `line too long: sent the first ${l.bytes.length} bytes, dropped ${l.droppedBytes}`)
      expect((await sentOf([data])).lines).toEqual(want)
      for (const { what, chunks } of splitsOf(data)) {
        const got = await sentOf(chunks)
        expect(got.lines, what).toEqual(want)
        expect(got.notices, what).toEqual(wantNotices)
      }
    })
  }
})

describe('printing what a peer sent (pipe mode)', () => {
  it('connect: stdout is exactly the bytes the peer sent, however they were cut into packets', () => {
    expect(SHORT.at(-1)).toBe(0x0a)
    expect(printedOf([SHORT], 'connect').equals(SHORT)).toBe(true)
    for (const { what, chunks } of splitsOf(SHORT)) expect(printedOf(chunks, 'connect').toString('hex'), what).toBe(SHORT.toString('hex'))
  })

  it('listen: each line prefixed with its sender, its bytes kept (\\r included), however it was cut', () => {
    const want = Buffer.concat(byTheRule(LONG).flatMap((l) => [utf8('[alice] '), l.bytes, utf8('\n')])).toString('hex')
    for (const { what, chunks } of splitsOf(LONG)) expect(printedOf(chunks, 'listen').toString('hex'), what).toBe(want)
  })

  it('a terminal: the \\r that ends a line is not shown, every other \\r shows as ␍, whatever the cut', () => {
    const want = 'plain\ncrlf\n\nlone␍cr\n␍\né€\n\ufffd␍\ufffd\n'
    expect(printedOf([SHORT], 'connect', true).toString()).toBe(want)
    for (const { what, chunks } of splitsOf(SHORT)) expect(printedOf(chunks, 'connect', true).toString(), what).toBe(want)
    // A line cut at the limit whose last kept byte is a \r: not a line end, so shown.
    const cut = utf8('w'.repeat(MAX - 1) + '\rmore\n')
    expect(printedOf([cut], 'connect', true).toString()).toBe('w'.repeat(MAX - 1) + '␍\n')
  })
})
