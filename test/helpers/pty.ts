import xterm from '@xterm/headless'
import { BIN, Proc } from './proc.js'

const COLS = 100
const ROWS = 30

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/**
 * p2pchat in a real pseudo-terminal (util-linux `script`), with its output
 * fed into a headless xterm so tests can read the screen as a person sees it.
 */
export class PtyProc extends Proc {
  readonly term: InstanceType<typeof xterm.Terminal>
  private pending: Promise<void> = Promise.resolve()

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    const command = `stty cols ${COLS} rows ${ROWS}; exec ${[process.execPath, BIN, ...args].map(shellQuote).join(' ')}`
    super('script', ['-qfec', command, '/dev/null'], { TERM: 'xterm-256color', ...env })
    this.term = new xterm.Terminal({ cols: COLS, rows: ROWS, allowProposedApi: true })
    this.child.stdout.on('data', (d: Buffer) => {
      this.pending = this.pending.then(() => new Promise<void>((resolve) => this.term.write(d, resolve)))
    })
  }

  /** The visible screen, one string per row, trailing spaces trimmed. */
  async screen(): Promise<string[]> {
    await this.pending
    const buf = this.term.buffer.active
    const rows: string[] = []
    for (let i = 0; i < ROWS; i++) rows.push(buf.getLine(buf.viewportY + i)?.translateToString(true) ?? '')
    return rows
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

  /** Types keys as a person would (they go through the terminal's line discipline). */
  type(keys: string): void {
    this.write(keys)
  }

  /** The row the cursor is on. */
  async cursorRow(): Promise<string> {
    const rows = await this.screen()
    return rows[this.term.buffer.active.cursorY] ?? ''
  }
}
