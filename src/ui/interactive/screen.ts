import type readline from 'node:readline'
import { stripVTControlCharacters } from 'node:util'

// Terminal geometry, counted as readline counts it (its own helper is not
// exported; this agrees with it on all but a few rare symbols): wide East
// Asian characters and emoji take 2 columns, combining marks and format
// characters 0. Used to find where a printed line or the prompt starts, so
// it must agree with readline for what people type.
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
 * Where the cursor is after writing `text` (one line, escape sequences
 * allowed) from column 0 of a terminal `columns` wide: rows below the start
 * and column. A row filled to the last column counts as moving to the next,
 * as readline counts it.
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

/** How many terminal rows a line of text occupies once printed with its newline. */
export function rowsOf(text: string, columns: number): number {
  const { rows, cols } = displayPos(text, columns)
  return cols === 0 && rows > 0 ? rows : rows + 1
}

/** How many terminal rows a block of text (lines separated by \n) occupies once printed with its newline. */
export function blockRows(text: string, columns: number): number {
  let rows = 0
  for (const line of text.split('\n')) rows += rowsOf(line, columns)
  return rows
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
