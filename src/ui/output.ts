import type { JsonEvent } from './events.js'
import { safeJson, sanitizeText } from './sanitize.js'

/** The styling p2pchat uses: chalk's, or plain text when colour is off. */
export interface Style {
  dim(text: string): string
  bold(text: string): string
  red(text: string): string
  green(text: string): string
  yellow(text: string): string
  ansi256(code: number): { bold(text: string): string }
}

const plain = (text: string) => text
/** No colour: identity functions, and chalk is never loaded (it costs ~14 ms of startup). */
export const PLAIN_STYLE: Style = { dim: plain, bold: plain, red: plain, green: plain, yellow: plain, ansi256: () => ({ bold: plain }) }

/** A chalk-backed style at a level, or the plain one for level 0. */
export async function loadStyle(level: 0 | 1 | 2 | 3): Promise<Style> {
  if (level === 0) return PLAIN_STYLE
  const { Chalk } = await import('chalk')
  return new Chalk({ level })
}

export interface OutputOptions {
  stdout: NodeJS.WritableStream & { isTTY?: boolean }
  stderr: NodeJS.WritableStream & { isTTY?: boolean }
  env: NodeJS.ProcessEnv
  /** false when --no-color was given. */
  color?: boolean
}

/**
 * Colour only for a terminal. Precedence: --no-color, then FORCE_COLOR (0 or
 * false turn colour off, 1–3 force a level, even into a pipe), then NO_COLOR
 * (which chalk itself ignores), then whether the stream is a TTY.
 */
export function colorLevel(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, flag?: boolean): 0 | 1 | 2 | 3 {
  if (flag === false) return 0
  const force = env.FORCE_COLOR
  if (force === '0' || force === 'false') return 0
  if (force !== undefined && force !== '') return force === '2' ? 2 : force === '3' ? 3 : 1
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0
  if (!stream.isTTY) return 0
  if (env.TERM === 'dumb') return 0
  return env.COLORTERM === 'truecolor' || env.COLORTERM === '24bit' ? 3 : 2
}

/**
 * Where everything a person sees goes: peer text on stdout, notices and
 * errors on stderr (so `p2pchat connect KEY > log` captures only messages).
 */
export class Output {
  readonly stdout: OutputOptions['stdout']
  readonly stderr: OutputOptions['stderr']
  readonly out: Style
  readonly err: Style
  /** Whether stderr gets colour (for what styles stderr without `err`: the spinner). */
  readonly errColor: boolean

  /** Builds an Output, loading chalk only if some stream gets colour. */
  static async create(opts: OutputOptions): Promise<Output> {
    const [out, err] = await Promise.all([
      loadStyle(colorLevel(opts.stdout, opts.env, opts.color)),
      loadStyle(colorLevel(opts.stderr, opts.env, opts.color))
    ])
    return new Output(opts, out, err)
  }

  constructor(opts: OutputOptions, out: Style = PLAIN_STYLE, err: Style = PLAIN_STYLE) {
    this.stdout = opts.stdout
    this.stderr = opts.stderr
    this.out = out
    this.err = err
    this.errColor = err !== PLAIN_STYLE
    knownSize(this.stdout)
    knownSize(this.stderr)
    // process.exit() must not lose lines still collected for this tick.
    process.once('exit', () => this.flush())
  }

  /**
   * A line of chat content. Lines written in one tick leave in one write:
   * a burst of lines is one syscall, not one per line (stdout to a file is a
   * synchronous stream that would otherwise write each piece separately).
   * Returns false when the stream asked us to wait.
   */
  message(text: string | Uint8Array): boolean {
    const bytes = typeof text === 'string' ? Buffer.from(text) : text
    this.pending.push(bytes)
    this.pendingBytes += bytes.byteLength
    return this.write(NEWLINE)
  }

  /** Bytes that already end in newlines (a batch of lines), collected like message(). */
  write(bytes: Uint8Array): boolean {
    this.pending.push(bytes)
    this.pendingBytes += bytes.byteLength
    if (this.pendingBytes >= FLUSH_BYTES) return this.flush()
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => this.flush())
    }
    return true
  }

  private pending: Uint8Array[] = []
  private pendingBytes = 0
  private scheduled = false

  /** Writes out what message() collected. */
  flush(): boolean {
    this.scheduled = false
    if (this.pendingBytes === 0) return true
    const data = Buffer.concat(this.pending, this.pendingBytes)
    this.pending = []
    this.pendingBytes = 0
    return this.stdout.write(data)
  }

  /** One JSON event or document per line; characters a terminal would obey are escaped (see safeJson). */
  json(value: JsonEvent): boolean {
    return this.message(safeJson(value))
  }

  /**
   * Informational line for the person (stderr). stderr is for people, so
   * never raw bytes: a notice may quote a peer, a file or a typed name.
   */
  notice(text: string): void {
    this.stderr.write(this.err.dim('* ') + sanitizeText(text) + '\n')
  }
}

/**
 * A pseudo-terminal nobody sized (as `script` makes one) reports 0 columns
 * and 0 rows. ora divides by the width (0 sent it into an endless loop of
 * `ESC[0K ESC[1A`), and readline takes it as an endless line. A terminal
 * whose size is unknown reads here as 80×24, for every reader of the
 * stream; a real size, set later (SIGWINCH), shows through.
 */
export function knownSize(stream: { isTTY?: boolean; columns?: number; rows?: number }): void {
  if (!stream.isTTY) return
  let columns = stream.columns ?? 0
  let rows = stream.rows ?? 0
  Object.defineProperty(stream, 'columns', {
    configurable: true,
    enumerable: true,
    get: () => columns || 80,
    set: (v: number) => {
      columns = v
    }
  })
  Object.defineProperty(stream, 'rows', {
    configurable: true,
    enumerable: true,
    get: () => rows || 24,
    set: (v: number) => {
      rows = v
    }
  })
}

const NEWLINE = Buffer.from('\n')
const FLUSH_BYTES = 256 * 1024
