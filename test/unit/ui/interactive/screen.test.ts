import stringWidth from 'string-width'
import { describe, expect, it } from 'vitest'
import { DELIVERY_MARKS } from '../../../../src/ui/format.js'
import { ScreenRows, printedEnd, printedRows, rewriteAbove, writeAbove } from '../../../../src/ui/interactive/screen.js'

describe('delivery marks in place', () => {
  it('every mark is one column wide, so a line keeps its shape when its mark changes', () => {
    for (const mark of Object.values(DELIVERY_MARKS)) expect(printedEnd(mark, 80)).toMatchObject({ rows: 0, cols: 1 })
    // Neither wide nor disputed, but for the · people know (East Asian "ambiguous": 2 columns in a terminal set for CJK).
    for (const mark of ['✓', '◒', '✗']) expect(printedEnd(mark, 80).exact).toBe(true)
  })

  it('printedRows counts the rows of every line of a block', () => {
    expect(printedRows('a\nb', 80)).toEqual({ min: 2, max: 2 })
    expect(printedRows('x'.repeat(81) + '\n', 80)).toEqual({ min: 3, max: 3 })
  })

  it('printedEnd measures by grapheme cluster (string-width), and says where terminals disagree', () => {
    // Agreed: ASCII, CJK (2 columns), combining marks (0), a tab.
    expect(printedEnd('you: hello ', 80)).toEqual({ rows: 0, cols: 11, exact: true })
    expect(printedEnd('日本語 ', 80)).toEqual({ rows: 0, cols: 7, exact: true })
    expect(printedEnd('e\u0301 ', 80)).toEqual({ rows: 0, cols: 2, exact: true })
    expect(printedEnd('\x1b[1myou\x1b[22m: ok ', 80)).toEqual({ rows: 0, cols: 8, exact: true })
    expect(printedEnd('日本語', 5)).toEqual({ rows: 1, cols: 2, exact: true }) // a wide character never straddles the edge
    // One grapheme each, two columns by string-width; not agreed (xterm.js draws 3, 2, 1…).
    for (const text of ['👨‍👩‍👧', '🇫🇷', '😀', '❤️', '👍🏽', '1️⃣']) expect(printedEnd(text, 80), text).toEqual({ rows: 0, cols: 2, exact: false })
    // Ambiguous width: 1 column, but 2 in a terminal set for East Asian text.
    expect(printedEnd('you → bob: ', 80).exact).toBe(false)
  })

  it('printedRows: rows are a range when terminals disagree and the line ends near the right edge', () => {
    expect(printedRows('👨‍👩‍👧 family', 80)).toEqual({ min: 1, max: 1 })
    expect(printedRows('x'.repeat(77) + '🇫🇷', 80)).toEqual({ min: 1, max: 2 }) // 78 columns (or 79), or 81
    expect(printedRows('x'.repeat(70) + '😀', 80)).toEqual({ min: 1, max: 1 })
  })

  it('a long line is measured in pieces with the same result as string-width over the whole line (clusters across the seams kept whole)', () => {
    const text = 'x'.repeat(511) + '🇫🇷'.repeat(300) + 'e\u0301'.repeat(300) + '👨‍👩‍👧'.repeat(200) + '日本'.repeat(300)
    expect(printedEnd(text, 1_000_000)).toEqual({ rows: 0, cols: stringWidth(text), exact: false })
    const plain = 'abc'.repeat(3000) + '日本語'
    expect(printedEnd(plain, 1_000_000)).toEqual({ rows: 0, cols: stringWidth(plain), exact: true })
  })

  it('rewriteAbove clears the line\'s rows, writes it again from its first column, and comes back to the cursor', () => {
    expect(rewriteAbove(3, 1, 'you: 🇫🇷 ✓', 2)).toBe('\x1b[3A\r\x1b[2Kyou: 🇫🇷 ✓\x1b[3B\x1b[3G')
    expect(rewriteAbove(4, 2, 'long', 0)).toBe('\x1b[4A\r\x1b[2K\x1b[1B\x1b[2K\x1b[1Along\x1b[3B\x1b[1G')
    expect(rewriteAbove(1, 2, 'x', 0)).toBe('') // not wholly above the cursor's row
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
