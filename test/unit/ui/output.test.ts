import { describe, expect, it } from 'vitest'
import { PassThrough } from 'node:stream'
import { Output, colorLevel, knownSize } from '../../../src/ui/output.js'
import { displayPos, promptRows } from '../../../src/ui/interactive/screen.js'
import { safeJson, sanitizeText } from '../../../src/ui/sanitize.js'

describe('colorLevel', () => {
  const tty = { isTTY: true }
  const pipe = { isTTY: false }
  it('follows TTY, NO_COLOR, FORCE_COLOR and --no-color', () => {
    expect(colorLevel(tty, {})).toBeGreaterThan(0)
    expect(colorLevel(pipe, {})).toBe(0)
    expect(colorLevel(tty, { NO_COLOR: '1' })).toBe(0)
    expect(colorLevel(pipe, { FORCE_COLOR: '1' })).toBe(1)
    expect(colorLevel(pipe, { FORCE_COLOR: '3' })).toBe(3)
    expect(colorLevel(tty, { FORCE_COLOR: '0' })).toBe(0)
    expect(colorLevel(pipe, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(1)
    expect(colorLevel(tty, {}, false)).toBe(0)
    expect(colorLevel(tty, { FORCE_COLOR: '1' }, false)).toBe(0)
    expect(colorLevel(tty, { TERM: 'dumb' })).toBe(0)
  })
})

describe('text for a terminal', () => {
  it('sanitizeText keeps a notice one line: a newline is shown too, everything else defused', () => {
    expect(sanitizeText('a\x1b[2J\nb\u009b\tc\r')).toBe('a␛[2J␊b⟨U+009B⟩\tc␍')
  })

  it('notices on stderr are sanitized, whatever the stream', () => {
    const stderr = new PassThrough()
    const output = new Output({ stdout: new PassThrough(), stderr, env: {} })
    output.notice('peer said \x1b]52;c;aGk=\x07 and \u202eevil')
    expect(stderr.read().toString()).toBe('* peer said ␛]52;c;aGk=␇ and ⟨U+202E⟩evil\n')
  })

  it('safeJson escapes what JSON.stringify leaves raw, and parses back to the same value', () => {
    const value = { text: 'a\x7f\u0080\u009b\u061c\u200e\u200f\u2028\u2029\u202a\u202e\u2066\u2069\x1b é 日本 😀' }
    const json = safeJson(value)
    expect(json).toBe('{"text":"a\\u007f\\u0080\\u009b\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a\\u202e\\u2066\\u2069\\u001b é 日本 😀"}')
    expect(JSON.parse(json)).toEqual(value)
    let all = ''
    for (let c = 0; c < 0x3000; c++) all += String.fromCharCode(c)
    // eslint-disable-next-line no-control-regex
    expect(safeJson(all)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/)
    expect(JSON.parse(safeJson(all))).toBe(all)
  })

  it('displayPos and promptRows count columns as readline does', () => {
    expect(displayPos('> hello', 80)).toEqual({ rows: 0, cols: 7 })
    expect(displayPos('\x1b[1m> \x1b[22mhi', 80)).toEqual({ rows: 0, cols: 4 })
    expect(displayPos('x'.repeat(80), 80)).toEqual({ rows: 1, cols: 0 })
    expect(displayPos('日本語', 5)).toEqual({ rows: 1, cols: 2 }) // a wide character never straddles the edge
    expect(displayPos('e\u0301', 80)).toEqual({ rows: 0, cols: 1 })
    expect(displayPos('> a\tb', 80)).toEqual({ rows: 0, cols: 9 })
    expect(promptRows('', 80)).toBe(1)
    expect(promptRows('x'.repeat(80), 80)).toBe(1)
    expect(promptRows('x'.repeat(81), 80)).toBe(2)
  })

  it('a terminal of unknown size reads as 80×24; a real size shows through', () => {
    const tty = { isTTY: true, columns: 0, rows: 0 }
    knownSize(tty)
    expect([tty.columns, tty.rows]).toEqual([80, 24])
    tty.columns = 120
    expect(tty.columns).toBe(120)
    const pipe = { isTTY: false, columns: 0 }
    knownSize(pipe)
    expect(pipe.columns).toBe(0)
  })
})
