import { describe, expect, it } from 'vitest'
import { DELIVERY_MARKS } from '../../../../src/ui/format.js'
import { ScreenRows, blockRows, displayPos, writeAbove } from '../../../../src/ui/interactive/screen.js'

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
