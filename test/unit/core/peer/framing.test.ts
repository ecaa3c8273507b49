import { describe, it, expect } from 'vitest'
import { DEFAULT_MAX_LINE_BYTES, LineDecoder, completeUtf8Length, encodeLine, encodeLines, type Line } from '../../../../src/core/peer/framing.js'
import { cutAt, everyTwoWaySplit, randomSplits, seeded } from '../../../helpers/splits.js'

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8')
const texts = (lines: Line[]): string[] => lines.map((l) => l.bytes.toString('utf8'))

/** Feeds every chunk, then ends the stream; returns all lines in order. */
function decodeAll(chunks: Uint8Array[], maxLineBytes?: number): Line[] {
  const d = new LineDecoder(maxLineBytes)
  const out: Line[] = []
  for (const c of chunks) out.push(...d.push(c))
  out.push(...d.end())
  return out
}

function byteByByte(buf: Buffer): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < buf.length; i++) out.push(buf.subarray(i, i + 1))
  return out
}

const fatal = new TextDecoder('utf-8', { fatal: true })
function isValidUtf8(buf: Uint8Array): boolean {
  try {
    fatal.decode(buf)
    return true
  } catch {
    return false
  }
}

const MULTIBYTE = [
  { ch: 'é', len: 2 },
  { ch: '€', len: 3 },
  { ch: '😀', len: 4 }
] as const

describe('encodeLine', () => {
  it('encodes a string as UTF-8 followed by a single \\n', () => {
    const out = encodeLine('héllo €😀')
    expect(Buffer.isBuffer(out)).toBe(true)
    expect(out.equals(Buffer.concat([utf8('héllo €😀'), Buffer.from([0x0a])]))).toBe(true)
  })

  it('encodes the empty string as just a newline', () => {
    expect([...encodeLine('')]).toEqual([0x0a])
  })

  it('encodes a Uint8Array byte-for-byte with a trailing newline', () => {
    const input = new Uint8Array([0x00, 0xff, 0xc3, 0x41])
    const out = encodeLine(input)
    expect(Buffer.isBuffer(out)).toBe(true)
    expect([...out]).toEqual([0x00, 0xff, 0xc3, 0x41, 0x0a])
    // The input is not modified.
    expect([...input]).toEqual([0x00, 0xff, 0xc3, 0x41])
  })

  it('encodes only the bytes of a Uint8Array view, not its whole backing buffer', () => {
    const backing = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])
    const view = backing.subarray(2, 5)
    expect([...encodeLine(view)]).toEqual([3, 4, 5, 0x0a])
  })

  it('encodes an empty Uint8Array as just a newline', () => {
    expect([...encodeLine(new Uint8Array(0))]).toEqual([0x0a])
  })

  it('round-trips through LineDecoder', () => {
    const messages = ['hello', '', 'héllo wörld', '€ and 😀', 'tab\there']
    const wire = Buffer.concat(messages.map((m) => encodeLine(m)))
    expect(texts(decodeAll([wire]))).toEqual(messages)
    expect(texts(decodeAll(byteByByte(wire)))).toEqual(messages)
  })
})

describe('LineDecoder basics', () => {
  it('uses 64 KiB as the default limit', () => {
    expect(DEFAULT_MAX_LINE_BYTES).toBe(65536)
    expect(new LineDecoder().maxLineBytes).toBe(65536)
    expect(new LineDecoder(16).maxLineBytes).toBe(16)
  })

  it.each([0, -1, Number.NaN])('rejects maxLineBytes %s', (n) => {
    expect(() => new LineDecoder(n)).toThrow(RangeError)
  })

  it('returns one line for one terminated chunk, as a Buffer with droppedBytes 0', () => {
    const d = new LineDecoder()
    const lines = d.push(utf8('hello\n'))
    expect(lines).toHaveLength(1)
    expect(Buffer.isBuffer(lines[0]!.bytes)).toBe(true)
    expect(lines[0]!.bytes.toString()).toBe('hello')
    expect(lines[0]!.droppedBytes).toBe(0)
    expect(d.end()).toEqual([])
  })

  it('returns nothing until the newline arrives', () => {
    const d = new LineDecoder()
    expect(d.push(utf8('hel'))).toEqual([])
    expect(d.push(utf8('lo'))).toEqual([])
    const lines = d.push(utf8('\n'))
    expect(texts(lines)).toEqual(['hello'])
  })

  it('reassembles a line split over many chunks', () => {
    const d = new LineDecoder()
    const parts = ['The ', 'quick ', 'brown', ' ', 'fox', ' jumps']
    for (const p of parts) expect(d.push(utf8(p))).toEqual([])
    const lines = d.push(utf8(' over\nnext'))
    expect(texts(lines)).toEqual(['The quick brown fox jumps over'])
    expect(lines[0]!.droppedBytes).toBe(0)
    expect(texts(d.end())).toEqual(['next'])
  })

  it('decodes identical lines whether fed whole or byte by byte', () => {
    const text = 'first line\nsecond — with € and 😀 and é\n\nlast 🎉\n'
    const whole = decodeAll([utf8(text)])
    const bytes = decodeAll(byteByByte(utf8(text)))
    expect(texts(whole)).toEqual(['first line', 'second — with € and 😀 and é', '', 'last 🎉'])
    expect(texts(bytes)).toEqual(texts(whole))
    expect(bytes.every((l) => l.droppedBytes === 0)).toBe(true)
  })

  it('byte-by-byte feeding emits each line exactly when its newline byte is pushed', () => {
    const d = new LineDecoder()
    const buf = utf8('ab\nc\n')
    const emitted = byteByByte(buf).map((b) => texts(d.push(b)))
    expect(emitted).toEqual([[], [], ['ab'], [], ['c']])
  })

  it('returns several lines from one chunk, in order', () => {
    const d = new LineDecoder()
    expect(texts(d.push(utf8('one\ntwo\nthree\nfour')))).toEqual(['one', 'two', 'three'])
    expect(texts(d.end())).toEqual(['four'])
  })

  it('delivers empty lines', () => {
    const d = new LineDecoder()
    const lines = d.push(utf8('\n\na\n\n'))
    expect(texts(lines)).toEqual(['', '', 'a', ''])
    expect(lines.map((l) => l.bytes.length)).toEqual([0, 0, 1, 0])
    expect(lines.every((l) => l.droppedBytes === 0)).toBe(true)
    expect(d.end()).toEqual([])
  })

  it('accepts a plain Uint8Array and respects its byteOffset/byteLength', () => {
    const backing = new Uint8Array(utf8('XXhi\nthereYY'))
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 2, 8) // "hi\nthere"
    const d = new LineDecoder()
    expect(texts(d.push(view))).toEqual(['hi'])
    expect(texts(d.end())).toEqual(['there'])
  })

  it('a line inside one chunk is a view of it (no copy); a line spanning chunks is its own copy', () => {
    // The contract: callers hand over chunks they never reuse (UDX and stdin
    // both allocate fresh ones), which lets the hot path skip a copy per line.
    const d = new LineDecoder()
    const chunk = utf8('hello\n')
    const [line] = d.push(chunk)
    expect(line!.bytes.buffer).toBe(chunk.buffer)
    const first = utf8('hel')
    d.push(first)
    const [joined] = d.push(utf8('lo\n'))
    first.fill(0x7a)
    expect(joined!.bytes.toString()).toBe('hello')
  })
})

describe('LineDecoder multibyte UTF-8 across chunks', () => {
  for (const { ch, len } of MULTIBYTE) {
    it(`reassembles ${JSON.stringify(ch)} (${len} bytes) split at every offset`, () => {
      const full = utf8(`a${ch}b\n`)
      expect(full.length).toBe(len + 3)
      // Split inside the character (offsets 2..len) and everywhere else too.
      for (let cut = 1; cut < full.length; cut++) {
        const d = new LineDecoder()
        expect(d.push(full.subarray(0, cut))).toEqual([])
        const lines = d.push(full.subarray(cut))
        expect(texts(lines)).toEqual([`a${ch}b`])
        expect(lines[0]!.bytes.equals(full.subarray(0, full.length - 1))).toBe(true)
        expect(lines[0]!.droppedBytes).toBe(0)
        expect(d.end()).toEqual([])
      }
    })

    it(`reassembles ${JSON.stringify(ch)} split across three chunks`, () => {
      const full = utf8(`${ch}${ch}\n`)
      for (let i = 1; i < full.length - 1; i++) {
        for (let j = i + 1; j < full.length; j++) {
          const lines = decodeAll([full.subarray(0, i), full.subarray(i, j), full.subarray(j)])
          expect(texts(lines)).toEqual([ch + ch])
        }
      }
    })
  }
})

describe('LineDecoder carriage returns: a \\r is a byte like any other', () => {
  it('keeps the \\r of a \\r\\n: the line is every byte before the \\n', () => {
    const lines = decodeAll([utf8('hello\r\nworld\r\n')])
    expect(texts(lines)).toEqual(['hello\r', 'world\r'])
  })

  it('keeps it when \\r and \\n arrive in different chunks', () => {
    const d = new LineDecoder()
    expect(d.push(utf8('hello\r'))).toEqual([])
    expect(texts(d.push(utf8('\nx')))).toEqual(['hello\r'])
    expect(texts(d.end())).toEqual(['x'])
  })

  it('turns a bare \\r\\n into a line of one \\r', () => {
    expect(texts(decodeAll([utf8('\r\n')]))).toEqual(['\r'])
  })

  it('keeps a lone \\r in the middle of a line, and every \\r of \\r\\r\\n', () => {
    expect(texts(decodeAll([utf8('a\rb\n')]))).toEqual(['a\rb'])
    expect(texts(decodeAll([utf8('\rstart\n')]))).toEqual(['\rstart'])
    expect(texts(decodeAll([utf8('a\r\r\n')]))).toEqual(['a\r\r'])
  })

  it('keeps a trailing \\r on a final line without \\n', () => {
    const d = new LineDecoder()
    expect(d.push(utf8('abc\r'))).toEqual([])
    expect(texts(d.end())).toEqual(['abc\r'])
  })
})

describe('LineDecoder end()', () => {
  it('returns nothing when no data was ever pushed', () => {
    expect(new LineDecoder().end()).toEqual([])
  })

  it('returns nothing when every line was terminated', () => {
    const d = new LineDecoder()
    d.push(utf8('a\nb\n'))
    expect(d.end()).toEqual([])
  })

  it('delivers a final line without \\n', () => {
    const d = new LineDecoder()
    expect(texts(d.push(utf8('a\nlast')))).toEqual(['a'])
    const lines = d.end()
    expect(texts(lines)).toEqual(['last'])
    expect(lines[0]!.droppedBytes).toBe(0)
  })

  it('delivers a final line built from several chunks, including a split character', () => {
    const full = utf8('tail 😀')
    const d = new LineDecoder()
    d.push(full.subarray(0, 6))
    d.push(full.subarray(6, 8))
    d.push(full.subarray(8))
    expect(texts(d.end())).toEqual(['tail 😀'])
  })

  it('resets state: a second end() returns nothing and the decoder can be reused', () => {
    const d = new LineDecoder()
    d.push(utf8('x'))
    expect(texts(d.end())).toEqual(['x'])
    expect(d.end()).toEqual([])
    expect(texts(d.push(utf8('y\n')))).toEqual(['y'])
  })
})

describe('LineDecoder long lines', () => {
  it('keeps a line of exactly maxLineBytes intact', () => {
    const lines = decodeAll([utf8('x'.repeat(16) + '\n')], 16)
    expect(lines).toHaveLength(1)
    expect(lines[0]!.bytes.toString()).toBe('x'.repeat(16))
    expect(lines[0]!.droppedBytes).toBe(0)
  })

  it('keeps a line of maxLineBytes-1 plus \\r\\n intact: the \\r is its last byte', () => {
    const lines = decodeAll([utf8('x'.repeat(15) + '\r\n')], 16)
    expect(texts(lines)).toEqual(['x'.repeat(15) + '\r'])
    expect(lines[0]!.droppedBytes).toBe(0)
  })

  it('cuts a line of maxLineBytes+1 and reports 1 dropped byte', () => {
    const lines = decodeAll([utf8('0123456789abcdefZ\n')], 16)
    expect(texts(lines)).toEqual(['0123456789abcdef'])
    expect(lines[0]!.droppedBytes).toBe(1)
  })

  it('cuts a long line to maxLineBytes and counts the rest as dropped', () => {
    const long = 'abcdefghijklmnopqrstuvwxyz0123456789ABCD' // 40 bytes
    const lines = decodeAll([utf8(long + '\n')], 16)
    expect(lines).toHaveLength(1)
    expect(lines[0]!.bytes.toString()).toBe(long.slice(0, 16))
    expect(lines[0]!.droppedBytes).toBe(24)
  })

  it('cuts the same way when the long line arrives byte by byte', () => {
    const long = 'abcdefghijklmnopqrstuvwxyz0123456789ABCD'
    const lines = decodeAll(byteByByte(utf8(long + '\nok\n')), 16)
    expect(texts(lines)).toEqual([long.slice(0, 16), 'ok'])
    expect(lines.map((l) => l.droppedBytes)).toEqual([24, 0])
  })

  it('cuts the same way when the overflow straddles chunk boundaries', () => {
    const long = utf8('a'.repeat(10) + 'b'.repeat(10) + 'c'.repeat(10))
    const lines = decodeAll([long.subarray(0, 10), long.subarray(10, 20), long.subarray(20), utf8('\n')], 16)
    expect(texts(lines)).toEqual(['a'.repeat(10) + 'b'.repeat(6)])
    expect(lines[0]!.droppedBytes).toBe(14)
  })

  it('delivers the line after an overlong one intact, with droppedBytes reset', () => {
    const d = new LineDecoder(16)
    const lines = d.push(utf8('y'.repeat(100) + '\nshort\n' + 'z'.repeat(50) + '\nend\n'))
    expect(texts(lines)).toEqual(['y'.repeat(16), 'short', 'z'.repeat(16), 'end'])
    expect(lines.map((l) => l.droppedBytes)).toEqual([84, 0, 34, 0])
  })

  it('delivers the next line intact when it starts in the same chunk that ends the overlong one', () => {
    const d = new LineDecoder(8)
    expect(d.push(utf8('0123456789'))).toEqual([])
    expect(d.push(utf8('abcdef'))).toEqual([])
    const lines = d.push(utf8('gh\nnext'))
    expect(texts(lines)).toEqual(['01234567'])
    expect(lines[0]!.droppedBytes).toBe(10)
    const rest = d.end()
    expect(texts(rest)).toEqual(['next'])
    expect(rest[0]!.droppedBytes).toBe(0)
  })

  it('delivers a truncated unterminated line from end() with its dropped count', () => {
    const d = new LineDecoder(4)
    expect(d.push(utf8('abcdefghij'))).toEqual([])
    const lines = d.end()
    expect(texts(lines)).toEqual(['abcd'])
    expect(lines[0]!.droppedBytes).toBe(6)
    expect(d.end()).toEqual([])
  })

  it('stays bounded for 10 MB without a newline in 64 KiB chunks (default limit)', () => {
    const d = new LineDecoder()
    const chunkSize = 64 * 1024
    const total = 10 * 1024 * 1024
    for (let sent = 0, i = 0; sent < total; sent += chunkSize, i++) {
      // Fresh chunks with varying content, as a network stream would deliver.
      const chunk = Buffer.alloc(chunkSize, 0x61 + (i % 26))
      expect(d.push(chunk)).toEqual([])
    }
    const lines = d.end()
    expect(lines).toHaveLength(1)
    const line = lines[0]!
    expect(line.bytes.length).toBeLessThanOrEqual(DEFAULT_MAX_LINE_BYTES)
    expect(line.bytes.length).toBe(DEFAULT_MAX_LINE_BYTES)
    expect(line.droppedBytes).toBe(total - line.bytes.length)
    // It is the start of the line that is kept.
    expect(line.bytes.every((b) => b === 0x61)).toBe(true)
    expect(d.end()).toEqual([])
  })

  it('stays bounded for 10 MB in odd-sized chunks, then a newline, then a normal line', () => {
    const d = new LineDecoder()
    const total = 10 * 1024 * 1024
    const chunk = Buffer.alloc(40_000, 0x62)
    let sent = 0
    while (sent < total) {
      const n = Math.min(chunk.length, total - sent)
      expect(d.push(chunk.subarray(0, n))).toEqual([])
      sent += n
    }
    const lines = d.push(utf8('\nafter\n'))
    expect(lines).toHaveLength(2)
    expect(lines[0]!.bytes.length).toBe(DEFAULT_MAX_LINE_BYTES)
    expect(lines[0]!.droppedBytes).toBe(total - DEFAULT_MAX_LINE_BYTES)
    expect(lines[1]!.bytes.toString()).toBe('after')
    expect(lines[1]!.droppedBytes).toBe(0)
  })

  for (const { ch, len } of MULTIBYTE) {
    it(`never ends a cut line with a partial ${len}-byte character (${JSON.stringify(ch)})`, () => {
      const max = 16
      for (let prefix = 0; prefix <= max; prefix++) {
        const original = utf8('a'.repeat(prefix) + ch.repeat(10))
        for (const terminated of [true, false]) {
          const d = new LineDecoder(max)
          const lines = terminated ? d.push(Buffer.concat([original, utf8('\n')])) : [...d.push(original), ...d.end()]
          expect(lines).toHaveLength(1)
          const { bytes, droppedBytes } = lines[0]!
          expect(bytes.length).toBeLessThanOrEqual(max)
          // Only as much as needed is removed: less than one character.
          expect(bytes.length).toBeGreaterThan(max - len)
          expect(isValidUtf8(bytes)).toBe(true)
          expect(bytes.equals(original.subarray(0, bytes.length))).toBe(true)
          expect(bytes.length + droppedBytes).toBe(original.length)
        }
      }
    })
  }

  it('cuts before a character straddling the limit, counting its leading bytes as dropped', () => {
    // 15 ASCII bytes + "€" (3 bytes): the limit of 16 falls inside "€".
    const lines = decodeAll([utf8('a'.repeat(15) + '€€\n')], 16)
    expect(lines[0]!.bytes.toString()).toBe('a'.repeat(15))
    expect(lines[0]!.droppedBytes).toBe(6)
  })

  it('keeps a character ending exactly at the limit', () => {
    // 13 ASCII bytes + "€" = 16 bytes exactly, then more.
    const lines = decodeAll([utf8('a'.repeat(13) + '€' + 'tail\n')], 16)
    expect(lines[0]!.bytes.toString()).toBe('a'.repeat(13) + '€')
    expect(lines[0]!.droppedBytes).toBe(4)
  })
})

describe('LineDecoder is byte-oriented', () => {
  it('passes invalid UTF-8 bytes through unchanged', () => {
    const raw = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x80, 0xed, 0xa0, 0x80, 0x61])
    const lines = decodeAll([Buffer.concat([raw, Buffer.from([0x0a])])])
    expect(lines).toHaveLength(1)
    expect(lines[0]!.bytes.equals(raw)).toBe(true)
    expect(lines[0]!.droppedBytes).toBe(0)
  })

  it('keeps a dangling lead byte at the end of a line that fits (nothing is cut)', () => {
    const lines = decodeAll([Buffer.from([0x61, 0xc3, 0x0a, 0xe2, 0x82])])
    expect(lines.map((l) => [...l.bytes])).toEqual([[0x61, 0xc3], [0xe2, 0x82]])
  })

  it('passes invalid bytes through when fed byte by byte', () => {
    const raw = Buffer.from([0x80, 0x81, 0xfe, 0x0a, 0xf0, 0x28, 0x8c, 0x28, 0x0a])
    const lines = decodeAll(byteByByte(raw))
    expect(lines.map((l) => [...l.bytes])).toEqual([
      [0x80, 0x81, 0xfe],
      [0xf0, 0x28, 0x8c, 0x28]
    ])
  })

  it('passes NUL bytes through', () => {
    const lines = decodeAll([utf8('a\0b\n\0\n\0\0')])
    expect(lines.map((l) => [...l.bytes])).toEqual([[0x61, 0x00, 0x62], [0x00], [0x00, 0x00]])
  })
})

describe('completeUtf8Length', () => {
  it('is 0 for an empty buffer', () => {
    expect(completeUtf8Length(new Uint8Array(0))).toBe(0)
  })

  it('is the full length for ASCII and for complete multibyte text', () => {
    expect(completeUtf8Length(utf8('hello'))).toBe(5)
    for (const { ch } of MULTIBYTE) {
      const b = utf8(`x${ch}`)
      expect(completeUtf8Length(b)).toBe(b.length)
      const only = utf8(ch)
      expect(completeUtf8Length(only)).toBe(only.length)
    }
  })

  for (const { ch, len } of MULTIBYTE) {
    it(`drops every incomplete prefix of ${JSON.stringify(ch)} (${len} bytes)`, () => {
      const full = utf8(`ab${ch}`)
      for (let keep = 1; keep < len; keep++) {
        const truncated = full.subarray(0, 2 + keep)
        expect(completeUtf8Length(truncated)).toBe(2)
        // Without any preceding text too.
        expect(completeUtf8Length(utf8(ch).subarray(0, keep))).toBe(0)
      }
    })
  }

  it('accepts a plain Uint8Array', () => {
    expect(completeUtf8Length(new Uint8Array([0x61, 0xe2, 0x82]))).toBe(1)
    expect(completeUtf8Length(new Uint8Array([0x61, 0xe2, 0x82, 0xac]))).toBe(4)
  })

  it('does not cut a run of stray continuation bytes (not a truncated sequence)', () => {
    const b = new Uint8Array([0x61, 0x80, 0x80, 0x80, 0x80, 0x80])
    expect(completeUtf8Length(b)).toBe(6)
  })

  it('does not cut a complete character that follows stray bytes', () => {
    const b = Buffer.concat([Buffer.from([0xff, 0x80]), utf8('é')])
    expect(completeUtf8Length(b)).toBe(b.length)
  })
})

describe('one rule for \\r, whatever the packets (issue 19, point 18)', () => {
  // What the rule says a byte string decodes to: a line is every byte before
  // its \n (a \r included); a line over the limit keeps its first bytes (less
  // a character the cut would split) and counts the rest as dropped; a last
  // line without \n is a line too.
  function byTheRule(data: Buffer, max: number): Array<[string, number]> {
    const out: Array<[string, number]> = []
    let start = 0
    for (;;) {
      const nl = data.indexOf(0x0a, start)
      const line = data.subarray(start, nl === -1 ? data.length : nl)
      if (nl === -1 && line.length === 0) break
      const keep = line.length <= max ? line.length : completeUtf8Length(line.subarray(0, max))
      out.push([line.subarray(0, keep).toString('hex'), line.length - keep])
      if (nl === -1) break
      start = nl + 1
    }
    return out
  }
  const decoded = (chunks: Uint8Array[], max: number) => decodeAll(chunks, max).map((l): [string, number] => [l.bytes.toString('hex'), l.droppedBytes])

  const MAX = 16
  // CRLF, bare CRLF, a lone CR, CR CR LF, a CR as the last byte that fits, a
  // CR as the first byte past the limit, a CR where a long line is cut, a CR
  // after a multibyte character, a character cut by the limit before a CR,
  // and a last line that ends in CR without LF.
  const SAMPLE = Buffer.concat([
    utf8('plain\ncrlf\r\n\r\nlone\rcr\n\r\r\n'),
    utf8('x'.repeat(MAX - 1) + '\r\n'),
    utf8('y'.repeat(MAX) + '\r\n'),
    utf8('w'.repeat(MAX - 1) + '\rmore\r\n'),
    utf8('z'.repeat(MAX + 4) + '\r\n'),
    utf8('é€\r\n' + 'a'.repeat(MAX - 2) + '€\r\n'),
    Buffer.from([0xff, 0x0d, 0xc3, 0x0d, 0x0a]),
    utf8('tail\r')
  ])

  it('decodes the sample by the rule: every \\r kept, the limit counting it like any byte', () => {
    const whole = decoded([SAMPLE], MAX)
    expect(whole).toEqual(byTheRule(SAMPLE, MAX))
    // Spot checks of the rule itself.
    expect(whole[1]).toEqual([utf8('crlf\r').toString('hex'), 0])
    expect(whole[5]).toEqual([utf8('x'.repeat(MAX - 1) + '\r').toString('hex'), 0])
    expect(whole[6]).toEqual([utf8('y'.repeat(MAX)).toString('hex'), 1])
    expect(whole.at(-1)).toEqual([utf8('tail\r').toString('hex'), 0])
  })

  it('gives the same lines for every 2-way split, every 3-way split and 2000 random splits', () => {
    const expected = byTheRule(SAMPLE, MAX)
    for (const { what, chunks } of everyTwoWaySplit(SAMPLE)) expect(decoded(chunks, MAX), what).toEqual(expected)
    for (let i = 0; i <= SAMPLE.length; i++) {
      for (let j = i; j <= SAMPLE.length; j++) {
        const got = decoded(cutAt(SAMPLE, [i, j]), MAX)
        if (JSON.stringify(got) !== JSON.stringify(expected)) expect(got, `cuts at ${i},${j}`).toEqual(expected)
      }
    }
    for (const { what, chunks } of randomSplits(SAMPLE, 2000, 18)) expect(decoded(chunks, MAX), what).toEqual(expected)
  })

  it('byte by byte too, and whole lines re-encoded give back the input exactly', () => {
    expect(decoded(byteByByte(SAMPLE), MAX)).toEqual(byTheRule(SAMPLE, MAX))
    const fits = utf8('a\r\nb\rc\n\r\n\r\r\n\n' + 'x'.repeat(MAX - 1) + '\r\n')
    expect(encodeLines(decodeAll([fits], MAX).map((l) => l.bytes)).equals(fits)).toBe(true)
  })

  it('random bytes (CR and LF often) in random splits: the same lines as when whole, by the rule', () => {
    const random = seeded(19)
    for (let round = 0; round < 200; round++) {
      const data = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 60) }, () => [0x0d, 0x0a, 0x61, 0xe2, 0x82, 0xac, 0xff][Math.floor(random() * 7)]!))
      const max = 1 + Math.floor(random() * 8)
      const expected = byTheRule(data, max)
      expect(decoded([data], max)).toEqual(expected)
      for (const { what, chunks } of randomSplits(data, 20, round)) expect(decoded(chunks, max), `${data.toString('hex')} max ${max}, ${what}`).toEqual(expected)
    }
  })
})
