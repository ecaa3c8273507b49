import { describe, expect, it } from 'vitest'
import { LineDecoder, completeUtf8Length, encodeLine } from '../../src/core/framing.js'

const text = (lines: { bytes: Buffer }[]) => lines.map((l) => l.bytes.toString('utf8'))

describe('LineDecoder', () => {
  it('splits several lines in one chunk, keeping empty lines', () => {
    const d = new LineDecoder()
    expect(text(d.push(Buffer.from('a\n\nb\n')))).toEqual(['a', '', 'b'])
    expect(d.end()).toEqual([])
  })

  it('reassembles a line fed one byte at a time', () => {
    const d = new LineDecoder()
    const out: string[] = []
    for (const byte of Buffer.from('hello world\nsecond\n')) out.push(...text(d.push(Buffer.from([byte]))))
    expect(out).toEqual(['hello world', 'second'])
  })

  it.each(['é', '€', '😀'])('reassembles %s split at every byte offset', (ch) => {
    const whole = Buffer.from(`x${ch}y\n`)
    for (let cut = 1; cut < whole.length; cut++) {
      const d = new LineDecoder()
      const lines = [...d.push(whole.subarray(0, cut)), ...d.push(whole.subarray(cut))]
      expect(text(lines)).toEqual([`x${ch}y`])
    }
  })

  it('strips \\r before \\n but keeps a lone \\r inside a line', () => {
    const d = new LineDecoder()
    expect(text(d.push(Buffer.from('dos\r\nmid\rline\n')))).toEqual(['dos', 'mid\rline'])
    // \r and \n in separate chunks
    expect(text([...d.push(Buffer.from('split\r')), ...d.push(Buffer.from('\n'))])).toEqual(['split'])
  })

  it('delivers a final line without \\n at end()', () => {
    const d = new LineDecoder()
    expect(d.push(Buffer.from('no newline'))).toEqual([])
    expect(text(d.end())).toEqual(['no newline'])
  })

  it('cuts an overlong line, counts what it dropped, and the next line is intact', () => {
    const d = new LineDecoder(16)
    const lines = d.push(Buffer.from('0123456789abcdefGHIJKL\nnext\n'))
    expect(lines[0]!.bytes.toString()).toBe('0123456789abcdef')
    expect(lines[0]!.droppedBytes).toBe(6)
    expect(lines[1]!.bytes.toString()).toBe('next')
    expect(lines[1]!.droppedBytes).toBe(0)
  })

  it('never ends a cut line with half a character', () => {
    const d = new LineDecoder(16)
    const [line] = d.push(Buffer.from('abcdefghijklmn€€\n')) // € straddles byte 16
    expect(line!.bytes.toString()).toBe('abcdefghijklmn')
    expect(line!.droppedBytes).toBe(6 - 0)
    expect(line!.bytes.length + line!.droppedBytes).toBe(Buffer.byteLength('abcdefghijklmn€€'))
  })

  it('keeps memory bounded: 10 MB without a newline yields one 64 KiB line', () => {
    const d = new LineDecoder()
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    for (let i = 0; i < 160; i++) expect(d.push(chunk)).toEqual([])
    const [line] = d.push(Buffer.from('\n'))
    expect(line!.bytes.length).toBe(64 * 1024)
    expect(line!.droppedBytes).toBe(160 * 64 * 1024 - 64 * 1024)
  })

  it('passes invalid UTF-8 and NUL bytes through as bytes', () => {
    const d = new LineDecoder()
    const raw = Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x0a])
    const [line] = d.push(raw)
    expect(line!.bytes.equals(raw.subarray(0, 4))).toBe(true)
  })
})

describe('encodeLine / completeUtf8Length', () => {
  it('terminates strings and bytes with \\n', () => {
    expect(encodeLine('hi').equals(Buffer.from('hi\n'))).toBe(true)
    expect(encodeLine(new Uint8Array([1, 2])).equals(Buffer.from([1, 2, 10]))).toBe(true)
  })

  it('finds where the last complete character ends', () => {
    const euro = Buffer.from('€')
    expect(completeUtf8Length(Buffer.from('ab'))).toBe(2)
    expect(completeUtf8Length(Buffer.concat([Buffer.from('a'), euro.subarray(0, 2)]))).toBe(1)
    expect(completeUtf8Length(Buffer.concat([Buffer.from('a'), euro]))).toBe(4)
  })
})
