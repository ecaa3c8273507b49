import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import xterm from '@xterm/headless'
import { BIN, Proc } from './proc.js'

const COLS = 100
const ROWS = 30

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

export interface PtyOptions {
  /** The terminal's size; null leaves the pty unsized (0×0, as `script` makes it) while the screen here is 80×24. */
  size?: { cols: number; rows: number } | null
  /** stdin is a pipe (fed by `cat` from the terminal, so typed lines arrive as piped input); stdout and stderr stay the terminal. */
  pipedStdin?: boolean
  /** xterm.js rewraps the cursor's row on resize too (as tmux, VTE, kitty do); by default it does not. */
  reflowCursorLine?: boolean
}

/**
 * p2pchat in a real pseudo-terminal (util-linux `script`), with its output
 * fed into a headless xterm so tests can read the screen as a person sees it.
 * The raw bytes are in `stdoutBytes`.
 */
export class PtyProc extends Proc {
  readonly term: InstanceType<typeof xterm.Terminal>
  private pending: Promise<void> = Promise.resolve()

  constructor(args: string[], env: NodeJS.ProcessEnv = {}, opts: PtyOptions = {}) {
    const size = opts.size === undefined ? { cols: COLS, rows: ROWS } : opts.size
    const run = [process.execPath, BIN, ...args].map(shellQuote).join(' ')
    // `exec` keeps p2pchat the direct child of script (its exit code is script's, and resize() finds it).
    const command = `${size ? `stty cols ${size.cols} rows ${size.rows}; ` : ''}exec ${run}${opts.pipedStdin ? ' < <(exec cat)' : ''}`
    super('script', ['-qfec', command, '/dev/null'], { TERM: 'xterm-256color', SHELL: '/bin/bash', ...env })
    this.term = new xterm.Terminal({ cols: size?.cols ?? 80, rows: size?.rows ?? 24, allowProposedApi: true, reflowCursorLine: opts.reflowCursorLine ?? false })
    this.child.stdout.on('data', (d: Buffer) => {
      this.pending = this.pending.then(() => new Promise<void>((resolve) => this.term.write(d, resolve)))
    })
  }

  /** Everything written to the terminal so far, as bytes. */
  bytes(): Buffer {
    return Buffer.concat(this.stdoutBytes)
  }

  /** The visible screen, one string per row, trailing spaces trimmed. */
  async screen(): Promise<string[]> {
    await this.pending
    const buf = this.term.buffer.active
    const rows: string[] = []
    for (let i = 0; i < this.term.rows; i++) rows.push(buf.getLine(buf.viewportY + i)?.translateToString(true) ?? '')
    return rows
  }

  /** The screen as lines of text: rows the terminal wrapped are joined back into their line. */
  async lines(): Promise<string[]> {
    await this.pending
    const buf = this.term.buffer.active
    const lines: string[] = []
    for (let i = 0; i < this.term.rows; i++) {
      const row = buf.getLine(buf.viewportY + i)
      // A row that continues on the next keeps its trailing spaces: they are text.
      const text = row?.translateToString(!buf.getLine(buf.viewportY + i + 1)?.isWrapped) ?? ''
      if (row?.isWrapped && lines.length > 0) lines[lines.length - 1] += text
      else lines.push(text)
    }
    return lines
  }

  /** Waits until the screen contains `pattern`. */
  async waitForScreen(pattern: RegExp | string, timeoutMs = 15_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const rows = await this.screen()
      const text = rows.join('\n')
      if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return rows
      if (Date.now() > deadline) throw new Error(`screen never showed ${String(pattern)}:\n${text}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** Waits until the screen, with wrapped rows joined back into lines, contains `pattern`. */
  async waitForLine(pattern: RegExp | string, timeoutMs = 15_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const lines = await this.lines()
      const text = lines.join('\n')
      if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return lines
      if (Date.now() > deadline) throw new Error(`screen never showed ${String(pattern)}:\n${text}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** Waits until nothing more has been written for `quietMs` (every redraw has landed). */
  async waitUntilQuiet(quietMs = 300, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let seen = -1
    let since = Date.now()
    for (;;) {
      const n = this.stdoutBytes.length
      if (n !== seen) {
        seen = n
        since = Date.now()
      } else if (Date.now() - since >= quietMs) return
      if (Date.now() > deadline) throw new Error('the terminal never went quiet')
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** Types keys as a person would (they go through the terminal's line discipline). */
  type(keys: string): void {
    this.write(keys)
  }

  /** The row the cursor is on. */
  async cursorRow(): Promise<string> {
    const rows = await this.screen()
    return rows[this.term.buffer.active.cursorY] ?? ''
  }

  /**
   * Resizes the window as a terminal emulator does: the screen here first
   * (rewrapping what it shows), then the pty, which sends p2pchat SIGWINCH.
   */
  async resize(cols: number, rows: number): Promise<void> {
    await this.pending
    this.term.resize(cols, rows)
    const pid = fs.readFileSync(`/proc/${this.child.pid}/task/${this.child.pid}/children`, 'utf8').trim().split(/\s+/)[0]
    const tty = fs.readlinkSync(`/proc/${pid}/fd/2`)
    execFileSync('stty', ['-F', tty, 'cols', String(cols), 'rows', String(rows)])
  }
}
