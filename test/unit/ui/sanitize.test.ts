import { StringDecoder } from 'node:string_decoder'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { OwnLine } from '../../../src/core/peer/conversation.js'
import { describeLines } from '../../../src/ui/format.js'
import { JsonUi } from '../../../src/ui/json.js'
import { Output } from '../../../src/ui/output.js'
import { pendingNotice } from '../../../src/ui/present/delivery.js'
import { decodeUtf8, isSafe, sanitize } from '../../../src/ui/sanitize.js'
import { ROOT } from '../../helpers/proc.js'

describe('sanitize', () => {
  it.each([
    ['CSI (clear screen, cursor home, colour)', 'a\x1b[2J\x1b[H\x1b[31mb', 'a␛[2J␛[H␛[31mb'],
    ['OSC 52 clipboard write (BEL-terminated)', '\x1b]52;c;aGVsbG8=\x07', '␛]52;c;aGVsbG8=␇'],
    ['OSC 8 hyperlink (ST-terminated)', '\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\', '␛]8;;http://x␛\\link␛]8;;␛\\'],
    ['DCS / APC / PM / SOS', '\x1bPq\x1b\\\x1b_a\x1b\\\x1b^b\x1bXc', '␛Pq␛\\␛_a␛\\␛^b␛Xc'],
    ['bell, backspace, carriage return, form feed, NUL', '\x07\x08\r\x0c\x00', '␇␈␍␌␀'],
    ['DEL', 'a\x7fb', 'a␡b'],
    ['C1 controls (8-bit CSI, OSC, NEL)', 'a\u009b2Jb\u009d0;t\u0085', 'a⟨U+009B⟩2Jb⟨U+009D⟩0;t⟨U+0085⟩'],
    ['bidi overrides and embeddings', 'x\u202ey\u202dz\u202a\u202b\u202c', 'x⟨U+202E⟩y⟨U+202D⟩z⟨U+202A⟩⟨U+202B⟩⟨U+202C⟩'],
    ['bidi isolates and marks', '\u2066a\u2067b\u2068c\u2069\u200e\u200f\u061c', '⟨U+2066⟩a⟨U+2067⟩b⟨U+2068⟩c⟨U+2069⟩⟨U+200E⟩⟨U+200F⟩⟨U+061C⟩'],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a⟨U+2028⟩b⟨U+2029⟩c']
  ])('makes %s visible', (_, input, expected) => {
    expect(sanitize(input)).toBe(expected)
    expect(isSafe(sanitize(input))).toBe(true)
    expect(isSafe(input)).toBe(false)
  })

  it('keeps tab, printable text, emoji and non-Latin scripts untouched', () => {
    const text = 'tab\there — ünïcödé 😀 日本語 עברית مرحبا'
    expect(sanitize(text)).toBe(text)
    expect(isSafe(text)).toBe(true)
  })

  it('turns invalid UTF-8 into U+FFFD, from bytes', () => {
    expect(sanitize(Buffer.from([0x61, 0xff, 0x62, 0xc3, 0x28, 0xe2, 0x82]))).toBe('a\ufffdb\ufffd(\ufffd')
    expect(sanitize(Buffer.from('€ ok'))).toBe('€ ok')
  })

  it('leaves no ESC, C0 (but tab) or C1 in any output', () => {
    let all = ''
    for (let c = 0; c < 0xa0; c++) all += String.fromCharCode(c)
    const out = sanitize(all)
    // eslint-disable-next-line no-control-regex
    expect(out).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/)
  })
})

describe('a U+FEFF in text is text (issue 19, point 21)', () => {
  // EF BB BF is U+FEFF; a TextDecoder drops it at the start by default.
  const BOM = Buffer.from([0xef, 0xbb, 0xbf])
  const cases: Array<[string, Buffer, string]> = [
    ['at the start', Buffer.concat([BOM, Buffer.from('hello')]), '\ufeffhello'],
    ['alone', BOM, '\ufeff'],
    ['twice at the start', Buffer.concat([BOM, BOM, Buffer.from('x')]), '\ufeff\ufeffx'],
    ['in the middle', Buffer.concat([Buffer.from('mid'), BOM, Buffer.from('dle')]), 'mid\ufeffdle'],
    ['between invalid bytes', Buffer.concat([Buffer.from([0xff]), BOM, Buffer.from([0x78, 0xc3])]), '\ufffd\ufeffx\ufffd']
  ]

  it.each(cases)('decodeUtf8 keeps it %s, every time (no state between calls)', (_, bytes, text) => {
    expect(decodeUtf8(bytes)).toBe(text)
    expect(decodeUtf8(bytes)).toBe(text)
    expect(sanitize(bytes)).toBe(text)
  })

  it.each(cases)('a message and a sent line in --json carry it %s, and the JSON parses back to it', (_, bytes, text) => {
    const lines: string[] = []
    const stdout = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) })
    const output = new Output({ stdout, stderr: new PassThrough(), env: {} })
    const ui = new JsonUi({ output, stdin: new PassThrough() })
    ui.messages({ key: 'ab'.repeat(32), name: 'alice' }, [{ bytes, droppedBytes: 0 }])
    ui.sent([bytes], { fate: 'sent', wait: false, first: 1, last: 1 })
    output.flush()
    const events = lines.join('').split('\n').filter(Boolean)
    // Escaped, so an invisible character is visible in the JSON itself.
    for (const json of events) expect(json).not.toContain('\ufeff')
    expect(events.map((e) => (JSON.parse(e) as { text: string }).text)).toEqual([text, text])
  })

  it.each(cases)('notices that quote our lines keep it %s', (_, bytes, text) => {
    expect(describeLines([{ seq: 1, bytes }])).toBe(`1 line (#1 ${JSON.stringify(text)})`)
    expect(pendingNotice({ key: 'ab'.repeat(32), name: 'alice' }, [{ seq: 1, bytes } as OwnLine])).toContain(JSON.stringify(text))
  })

  it('every TextDecoder in src/ keeps it (ignoreBOM), and nothing else decodes peer or user bytes', () => {
    const found = sources(path.join(ROOT, 'src')).flatMap((f) => {
      const text = readFileSync(f, 'utf8')
      return [...text.matchAll(/new TextDecoder\([^)]*\)|new StringDecoder\(|\.setEncoding\(/g)].map((m) => `${path.relative(ROOT, f)}: ${m[0]}`)
    })
    // keys.ts decodes what is typed at a terminal, a character at a time (a StringDecoder keeps a U+FEFF).
    expect(found).toEqual(['src/ui/interactive/keys.ts: new StringDecoder(', "src/ui/sanitize.ts: new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })"])
    expect(new StringDecoder('utf8').write(Buffer.from([0xef, 0xbb, 0xbf, 0x41]))).toBe('\ufeffA')
  })
})

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name)
    return statSync(file).isDirectory() ? sources(file) : file.endsWith('.ts') ? [file] : []
  })
}
