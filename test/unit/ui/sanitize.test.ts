import { describe, expect, it } from 'vitest'
import { isSafe, sanitize } from '../../../src/ui/sanitize.js'

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
