import type readline from 'node:readline'
import { stripVTControlCharacters } from 'node:util'
import stringWidth from 'string-width'

/*
 * Terminal geometry, counted two ways:
 * - what readline draws (the prompt and the line being typed) as readline
 *   counts it (displayPos, promptRows): readline moves the cursor by its own
 *   count, so ours must agree with readline, not with the terminal;
 * - what WE print (messages, notices, our own lines and their marks) by
 *   grapheme cluster with string-width (printedEnd, printedRows), as current
 *   terminals draw it, saying where terminals disagree (emoji sequences,
 *   flags, ambiguous-width characters…), so that a mark is never written at
 *   a column that cannot be trusted.
 */

// readline's own count (its helper is not exported; this agrees with it on
// all but a few rare symbols): wide East Asian characters and emoji take 2
// columns, combining marks and format characters 0.
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}\p{Cc}]$/u
const EMOJI = /^\p{Emoji_Presentation}$/u

function isWide(code: number, ch: string): boolean {
  return (
    (code >= 0x1100 &&
      (code <= 0x115f ||
        code === 0x2329 ||
        code === 0x232a ||
        (code >= 0x2e80 && code <= 0x3247 && code !== 0x303f) ||
        (code >= 0x3250 && code <= 0x4dff) ||
        (code >= 0x4e00 && code <= 0xa4c6) ||
        (code >= 0xa960 && code <= 0xa97c) ||
        (code >= 0xac00 && code <= 0xd7a3) ||
        (code >= 0xf900 && code <= 0xfaff) ||
        (code >= 0xfe10 && code <= 0xfe19) ||
        (code >= 0xfe30 && code <= 0xfe6b) ||
        (code >= 0xff01 && code <= 0xff60) ||
        (code >= 0xffe0 && code <= 0xffe6) ||
        (code >= 0x17000 && code <= 0x18cd5) ||
        (code >= 0x1b000 && code <= 0x1b2fb) ||
        (code >= 0x1d300 && code <= 0x1d376) ||
        (code >= 0x1f200 && code <= 0x1f251) ||
        (code >= 0x20000 && code <= 0x3fffd))) ||
    EMOJI.test(ch)
  )
}

/**
 * Where readline leaves the cursor after drawing `text` (the prompt and what
 * is typed: one line, escape sequences allowed) from column 0 of a terminal
 * `columns` wide: rows below the start and column. A row filled to the last
 * column counts as moving to the next, as readline counts it. Only for what
 * readline draws; what we print is measured by printedEnd().
 */
export function displayPos(text: string, columns: number): { rows: number; cols: number } {
  const width = Math.max(1, columns)
  let offset = 0
  for (const ch of stripVTControlCharacters(text)) {
    if (ch === '\t') {
      offset += 8 - (offset % 8) // to the next tab stop, as readline counts it
    } else if (ZERO_WIDTH.test(ch) && ch !== '\u00ad') {
      // nothing: combining and format characters (a soft hyphen shows)
    } else if (isWide(ch.codePointAt(0)!, ch)) {
      if ((offset + 1) % width === 0) offset++ // a wide character never straddles the edge
      offset += 2
    } else {
      offset += 1
    }
  }
  const cols = offset % width
  return { rows: (offset - cols) / width, cols }
}

/** How many rows the prompt with a half-typed line takes, as readline counts them. */
export function promptRows(text: string, columns: number): number {
  return rowsTaken(displayPos(text, columns))
}

/** The rows a line takes once its newline is printed, from where it ends. */
function rowsTaken({ rows, cols }: { rows: number; cols: number }): number {
  return cols === 0 && rows > 0 ? rows : rows + 1
}

// ---- what we print

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' })
/** Drawn over the character before (combining marks): terminals agree they take no column. */
const COMBINING = /^[\p{Mn}\p{Me}]$/u
const FORMAT = /^\p{Cf}$/u
/**
 * What terminals draw differently: emoji, alone or in sequences (ZWJ, skin
 * tones, keycaps, variation selectors: xterm.js draws 😀 one column wide,
 * kitty a ZWJ family two, others six), flags, format characters, spacing
 * marks of Indic scripts.
 */
const DISPUTED = /[\p{Extended_Pictographic}\p{Regional_Indicator}\p{Cf}\p{Mc}\u{1f3fb}-\u{1f3ff}\u20e3\ufe0e\ufe0f]/u
const TAB = -1

/**
 * One grapheme cluster as terminals draw it: `width` columns by
 * string-width (what current terminals do); `exact` when every terminal
 * agrees. Otherwise it is drawn between `min` and `max` columns, given as
 * units of 1 or 2 columns (a unit of 2 never straddles the right edge).
 * Ambiguous-width characters (·, →, —, …) are 1 column, or 2 in a terminal
 * set for East Asian text.
 */
interface Grapheme {
  width: number
  exact: boolean
  min: number[]
  max: number[]
}

function measure(g: string): Grapheme {
  if (g === '\t') return { width: TAB, exact: true, min: [TAB], max: [TAB] }
  const width = stringWidth(g)
  const codePoints = [...g]
  const agreed =
    width > 0 &&
    !DISPUTED.test(g) &&
    codePoints.slice(1).every((c) => COMBINING.test(c)) &&
    stringWidth(g, { ambiguousIsNarrow: false }) === width
  if (agreed) return { width, exact: true, min: [width], max: [width] }
  const drawn = codePoints.filter((c) => !COMBINING.test(c) && !FORMAT.test(c)).length
  const max = Math.max(width, 2 * drawn, 1)
  const units = Array.from({ length: Math.floor(max / 2) }, () => 2)
  if (max % 2) units.push(1)
  return { width, exact: false, min: [Math.min(width, 1)], max: units }
}

/** Graphemes already measured (a chat repeats the same few): string-width per grapheme is the cost here. */
const measured = new Map<string, Grapheme>()
const MEASURED_MAX = 4096

/**
 * Node 20's Intl.Segmenter takes time quadratic in the length of the string
 * (a 64 KiB line: 3 s; Node 24: 30 ms), so a long line is segmented in
 * pieces, the last cluster of each carried into the next piece (it may go on
 * there). A cluster longer than a piece (a pile of combining marks) is cut.
 */
const PIECE = 512
function* graphemesOf(text: string): Generator<string> {
  let carry = ''
  for (let start = 0; start < text.length; ) {
    let end = Math.min(text.length, start + PIECE)
    const last = text.charCodeAt(end - 1)
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end++ // never between the halves of a surrogate pair
    const pieces: string[] = []
    for (const { segment } of graphemes.segment(carry + text.slice(start, end))) pieces.push(segment)
    start = end
    carry = start < text.length ? pieces.pop()! : ''
    if (carry.length > PIECE) {
      pieces.push(carry)
      carry = ''
    }
    yield* pieces
  }
  if (carry) yield carry
}

function clusters(text: string): Grapheme[] {
  const out: Grapheme[] = []
  for (const segment of graphemesOf(text)) {
    let g = measured.get(segment)
    if (!g) {
      if (measured.size >= MEASURED_MAX) measured.clear()
      g = measure(segment)
      measured.set(segment, g)
    }
    out.push(g)
  }
  return out
}

/** Printable ASCII only: one column per character in every terminal (most lines: measured without segmenting). */
const PLAIN = /^[\x20-\x7e]*$/

/** Where the cursor ends after these units (1, 2, or TAB) are printed from column 0. */
function walk(gs: readonly Grapheme[], pick: 'min' | 'max' | 'width', columns: number): { rows: number; cols: number } {
  const width = Math.max(1, columns)
  let offset = 0
  const step = (w: number) => {
    const col = offset % width
    if (w === TAB) {
      // To the next stop (every 8 columns), never past the last column.
      offset += Math.max(0, Math.min(8 - (col % 8), width - 1 - col))
      return
    }
    if (w === 2 && width > 1 && col === width - 1) offset++ // a wide character never straddles the edge
    offset += w
  }
  for (const g of gs) {
    if (pick === 'width') step(g.width)
    else for (const w of g[pick]) step(w)
  }
  const cols = offset % width
  return { rows: (offset - cols) / width, cols }
}

function plainEnd(length: number, columns: number): { rows: number; cols: number } {
  const width = Math.max(1, columns)
  return { rows: Math.floor(length / width), cols: length % width }
}

/**
 * Where the cursor ends after we print `text` (one line, escape sequences
 * allowed) from column 0 of a terminal `columns` wide, as string-width
 * measures it; `exact`: every terminal puts it there. Otherwise the column
 * (and maybe the row) is a guess, not to be written at.
 */
export function printedEnd(text: string, columns: number): { rows: number; cols: number; exact: boolean } {
  const bare = stripVTControlCharacters(text)
  if (PLAIN.test(bare)) return { ...plainEnd(bare.length, columns), exact: true }
  const gs = clusters(bare)
  return { ...walk(gs, 'width', columns), exact: gs.every((g) => g.exact) }
}

/**
 * How many rows a block we print (lines separated by \n, printed with a
 * last newline) takes, at least and at most over what terminals do: equal
 * when they all agree.
 */
export function printedRows(text: string, columns: number): { min: number; max: number } {
  let min = 0
  let max = 0
  for (const line of stripVTControlCharacters(text).split('\n')) {
    if (PLAIN.test(line)) {
      const rows = rowsTaken(plainEnd(line.length, columns))
      min += rows
      max += rows
      continue
    }
    const gs = clusters(line)
    min += rowsTaken(walk(gs, 'min', columns))
    max += rowsTaken(walk(gs, 'max', columns))
  }
  return { min, max }
}

/**
 * The escape sequence that writes `text` (one column wide) at column `col`
 * of the row `up` rows above the cursor, then puts the cursor back on its
 * row at column `backCol`. Relative moves only (they never scroll), so the
 * cursor ends exactly where it was whatever the terminal's size.
 */
export function writeAbove(up: number, col: number, text: string, backCol: number): string {
  if (up < 1) return '' // CSI 0 A means one row: never write on the cursor's own row
  return `\x1b[${up}A\x1b[${col + 1}G${text}\x1b[${up}B\x1b[${backCol + 1}G`
}

/**
 * The escape sequence that rewrites a whole line of ours (`text`, its mark
 * included, `rows` rows high) from the row `up` rows above the cursor, then
 * puts the cursor back on its row at column `backCol`. For a line whose
 * mark's column cannot be trusted: its rows are cleared and it is printed
 * again from its first column, so the terminal itself puts the mark after
 * the text, wherever that is. Relative moves only, and the line lies wholly
 * above the cursor's row, so nothing scrolls.
 */
export function rewriteAbove(up: number, rows: number, text: string, backCol: number): string {
  if (rows < 1 || up < rows) return ''
  let seq = `\x1b[${up}A\r\x1b[2K`
  for (let i = 1; i < rows; i++) seq += '\x1b[1B\x1b[2K'
  if (rows > 1) seq += `\x1b[${rows - 1}A`
  // Then from the line's last row back down to the cursor's.
  return `${seq}${text}\x1b[${up - rows + 1}B\x1b[${backCol + 1}G`
}

/**
 * Where printed lines are on the screen, in rows counted from where the
 * prompt first stood, so a line can be rewritten in place (its delivery mark)
 * while it is still on the screen.
 *
 * Once the screen has scrolled, its last row is the lowest row ever written
 * (a terminal scrolls only when written past its last row), so a row is
 * still on the screen when it is fewer than the screen's height above the
 * lowest row written. Before any scroll, every row written since is on the
 * screen anyway. A resize may rewrap what is on the screen (or push it into
 * the scrollback), which nothing tells: rows printed before it belong to an
 * older `generation` and are never written again, unless the screen is
 * repainted (then the repainted rows are counted anew).
 */
export class ScreenRows {
  /** The row where the prompt starts. */
  promptRow = 0
  /** Bumped when the rows printed so far can no longer be found. */
  generation = 0
  /** The lowest row written since the last restart. */
  private lowest = 0

  /** `rows` rows were printed where the prompt stood; the prompt moves below them. Returns the first row. */
  printed(rows: number): number {
    const top = this.promptRow
    this.promptRow += rows
    this.reach(0)
    return top
  }

  /** Something (the prompt, a half-typed line, the cursor) was written down to `below` rows below the prompt's start. */
  reach(below: number): void {
    this.lowest = Math.max(this.lowest, this.promptRow + below)
  }

  /** Forget where everything printed so far is; `cleared`: the screen was cleared and the prompt is now on its first row. */
  restart(cleared: boolean): void {
    this.generation++
    if (cleared) this.promptRow = 0
    this.lowest = this.promptRow
  }

  /** A row printed in generation `generation` can still be written: it was not lost to a resize and has not scrolled off a screen `height` rows high. */
  onScreen(row: number, generation: number, height: number): boolean {
    return generation === this.generation && row < this.promptRow && this.lowest - row < Math.max(1, height)
  }
}

/**
 * readline keeps, in `prevRows`, how many rows below the prompt's start it
 * left the cursor, and moves up that many before redrawing. It is a plain
 * field (Node 20–24), not documented: it is the only way to tell readline
 * that we already moved the cursor (after printing above the prompt).
 */
export function setPromptRows(rl: readline.Interface, rows: number): void {
  ;(rl as unknown as { prevRows: number }).prevRows = rows
}
