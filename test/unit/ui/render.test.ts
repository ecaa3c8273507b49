import { describe, expect, it } from 'vitest'
import { PassThrough } from 'node:stream'
import { Output, colorLevel, knownSize } from '../../../src/ui/output.js'
import {
  DELIVERY_MARKS,
  ScreenRows,
  blockRows,
  clockTime,
  displayPos,
  formatDuration,
  formatPathSummary,
  formatPeerRow,
  parseInput,
  peerColor,
  rowsOf,
  writeAbove
} from '../../../src/ui/render.js'
import { isSafe, safeJson, sanitize, sanitizeText } from '../../../src/ui/sanitize.js'

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

describe('parseInput', () => {
  it('reads text, escaped slashes and commands', () => {
    expect(parseInput('hello')).toEqual({ kind: 'text', text: 'hello' })
    expect(parseInput('//etc/passwd')).toEqual({ kind: 'text', text: '/etc/passwd' })
    expect(parseInput('/help')).toEqual({ kind: 'help' })
    expect(parseInput('/PEERS')).toEqual({ kind: 'peers' })
    expect(parseInput('/quit')).toEqual({ kind: 'quit' })
    expect(parseInput('/clear')).toEqual({ kind: 'clear' })
    expect(parseInput('/send-to ab12 hi there')).toEqual({ kind: 'send-to', target: 'ab12', text: 'hi there' })
    expect(parseInput('/send-to ab12')).toEqual({ kind: 'usage', message: 'usage: /send-to <peer> text' })
    expect(parseInput('/frob x')).toEqual({ kind: 'unknown', name: '/frob' })
  })
})

describe('formatting', () => {
  it('durations, clock, /peers rows', () => {
    expect(formatDuration(12_400)).toBe('12s')
    expect(formatDuration(184_000)).toBe('3m 04s')
    expect(formatDuration(3_720_000)).toBe('1h 02m')
    expect(clockTime(new Date(2026, 0, 1, 9, 5, 7).getTime())).toBe('09:05:07')
    const peer = { key: 'ab'.repeat(32), shortKey: 'abababab', name: 'abababab', connectedAt: 0, address: '1.2.3.4:5', rttMs: 0, path: 'direct' as const, relay: null }
    expect(formatPeerRow(peer, 'abababab', 65_000)).toBe(`abababab  connected 1m 05s  direct  1.2.3.4:5  rtt <1 ms\n    key ${'ab'.repeat(32)}`)
    expect(formatPathSummary({ ...peer, path: 'relayed', relay: 'cd'.repeat(32), rttMs: 12 })).toBe('relayed through cdcdcdcd, 1.2.3.4:5, rtt 12 ms')
    expect(formatPeerRow({ ...peer, rttMs: 42, address: null }, 'x', 0)).toContain('address ?  rtt 42 ms')
  })

  it('gives each key a stable colour, and different keys spread over the palette', () => {
    expect(peerColor('ab'.repeat(32))).toBe(peerColor('ab'.repeat(32)))
    const colours = new Set(Array.from({ length: 64 }, (_, i) => peerColor(i.toString(16).padStart(64, '0'))))
    expect(colours.size).toBeGreaterThan(8)
  })
})

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

  it('displayPos and rowsOf count columns as readline does', () => {
    expect(displayPos('> hello', 80)).toEqual({ rows: 0, cols: 7 })
    expect(displayPos('\x1b[1m> \x1b[22mhi', 80)).toEqual({ rows: 0, cols: 4 })
    expect(displayPos('x'.repeat(80), 80)).toEqual({ rows: 1, cols: 0 })
    expect(displayPos('日本語', 5)).toEqual({ rows: 1, cols: 2 }) // a wide character never straddles the edge
    expect(displayPos('e\u0301', 80)).toEqual({ rows: 0, cols: 1 })
    expect(displayPos('> a\tb', 80)).toEqual({ rows: 0, cols: 9 })
    expect(rowsOf('', 80)).toBe(1)
    expect(rowsOf('x'.repeat(80), 80)).toBe(1)
    expect(rowsOf('x'.repeat(81), 80)).toBe(2)
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

describe('delivery marks in place', () => {
  it('every mark is one column wide, so a line keeps its shape when its mark changes', () => {
    for (const mark of Object.values(DELIVERY_MARKS)) expect(displayPos(mark, 80)).toEqual({ rows: 0, cols: 1 })
  })

  it('blockRows counts the rows of every line of a block', () => {
    expect(blockRows('a\nb', 80)).toBe(2)
    expect(blockRows('x'.repeat(81) + '\n', 80)).toBe(3)
  })

  it('writeAbove goes up, writes, and comes back to the cursor\'s column; never on the cursor\'s own row', () => {
    expect(writeAbove(3, 10, '✓', 2)).toBe('\x1b[3A\x1b[11G✓\x1b[3B\x1b[3G')
    expect(writeAbove(0, 10, '✓', 2)).toBe('')
  })

  it('ScreenRows: a row is on the screen until the screen has scrolled its height past it', () => {
    const screen = new ScreenRows()
    const first = screen.printed(1)
    expect(first).toBe(0)
    const gen = screen.generation
    expect(screen.onScreen(first, gen, 5)).toBe(true)
    screen.printed(2) // rows 1–2
    screen.reach(1) // a prompt two rows high: rows 3–4
    expect(screen.promptRow).toBe(3)
    expect(screen.onScreen(first, gen, 5)).toBe(true) // rows 0–4 fit in 5
    screen.reach(2) // the half-typed line grew a row: the screen scrolled once
    expect(screen.onScreen(first, gen, 5)).toBe(false)
    expect(screen.onScreen(1, gen, 5)).toBe(true)
    // The prompt shrinking again does not bring the row back.
    screen.reach(0)
    expect(screen.onScreen(first, gen, 5)).toBe(false)
    // Nothing at or below the prompt is ours to rewrite.
    expect(screen.onScreen(screen.promptRow, gen, 5)).toBe(false)
  })

  it('ScreenRows: after a resize, rows printed before it are left alone; after a clear, counting starts at the top', () => {
    const screen = new ScreenRows()
    const old = screen.printed(1)
    const oldGen = screen.generation
    screen.restart(false)
    const fresh = screen.printed(1)
    expect(screen.onScreen(old, oldGen, 24)).toBe(false)
    expect(screen.onScreen(fresh, screen.generation, 24)).toBe(true)
    screen.printed(30)
    screen.restart(true)
    expect(screen.promptRow).toBe(0)
    expect(screen.printed(2)).toBe(0)
    expect(screen.onScreen(0, screen.generation, 24)).toBe(true)
  })
})
