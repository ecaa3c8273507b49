import readline from 'node:readline'
import type { Ora } from 'ora'
import type { ChatError } from '../../core/errors.js'
import type { PeerInfo, Sender } from '../../core/peer/connection.js'
import type { OwnLine } from '../../core/peer/conversation.js'
import type { Line } from '../../core/peer/framing.js'
import type { ChatController, ChatUi, Stage, UiOptions } from '../chat-ui.js'
import type { PairingNews, RelayNews } from '../events.js'
import { DELIVERY_MARKS, clockTime, connectedText, formatPathSummary, formatSafetyWords, lineNotice, peerColor, type DeliveryState } from '../format.js'
import { pendingNotice, undeliveredNotice, unsentTypingNotice } from '../present/delivery.js'
import { sanitize, sanitizeLine, sanitizeText } from '../sanitize.js'
import { routeOutputLoss } from '../../process/shutdown.js'
import { ScreenRows, displayPos, printedEnd, printedRows, promptRows, rewriteAbove, setPromptRows, writeAbove } from './screen.js'
import { KeyInput } from './keys.js'
import { parseInput, runSlash, type SlashView } from './slash.js'

const STALL_HINTS: Record<Stage, string> = {
  joining: 'still joining the DHT: waiting for bootstrap nodes to answer (is this machine online? is UDP blocked?)',
  announcing: 'still announcing the key: waiting for DHT nodes to store it',
  inviting: 'still opening the invite code: waiting for DHT nodes to store its rendezvous',
  pairing: 'still pairing: looking up the invite number and reaching the inviter (is the inviter still running? is the code still open?)',
  connecting: 'still connecting: looking up the key and hole punching (is the peer online, on the same network?)',
  confirming: 'connection opened; waiting for the peer to answer'
}

/** How many printed lines are kept to repaint the screen after a resize. */
const HISTORY_LINES = 500
/** Delivery marks that changed are rewritten together, at most this often: a paste of 500 lines is a few redraws, not 500. */
const MARK_FLUSH_MS = 30

/** One of our lines as shown, with its delivery mark and where that mark is on the screen. */
interface OwnLineShown {
  seq: number
  /** The line without its mark. */
  text: string
  state: DeliveryState
  /** The keys of the peers it was written to (none: queued in the outbox). */
  sentTo: ReadonlySet<string>
  /** The keys of the peers it was reported not delivered to. */
  lostTo: Set<string>
  /** Where it is on the screen, as printed in `generation` (ScreenRows coordinates): its first row, and how many rows it takes with its mark. */
  top: number
  rows: number
  /** Where its mark is; `exact`: every terminal puts it there (else the mark is changed by rewriting the whole line). */
  markRow: number
  col: number
  exact: boolean
  generation: number
}

type SpinnerOptions = { text: string; stream: NodeJS.WritableStream; discardStdin: boolean; isEnabled: boolean; color: 'cyan' | false }

/**
 * A person at a terminal: readline prompt, messages printed above the line
 * being typed (which is redrawn intact), colours, a spinner while connecting,
 * slash commands. Everything a peer sent is sanitized before display.
 *
 * Geometry: the prompt and a long half-typed line may wrap over several
 * rows; readline.getCursorPos() says how many rows below the prompt's start
 * the cursor is, which is where every redraw starts from.
 */
export class InteractiveUi implements ChatUi, SlashView {
  private rl: readline.Interface | null = null
  /** What readline reads: the terminal's keys, pasted text inserted at the cursor (see keys.ts). */
  private keys: KeyInput | null = null
  private spinner: Ora | null = null
  private stallTimer: NodeJS.Timeout | null = null
  private chat: ChatController | null = null
  private readonly out: NodeJS.WritableStream & { columns?: number; rows?: number }
  readonly now: () => number
  private readonly prompt: string
  /** The last lines printed (one per line of text; our own lines with their current mark), to repaint the screen after a resize. */
  private history: (string | OwnLineShown)[] = []
  /** Where printed rows are, once the prompt is up (for rewriting delivery marks in place). */
  private screen: ScreenRows | null = null
  /** Our lines not settled yet, by sequence number, oldest first. */
  private unsettled = new Map<number, OwnLineShown>()
  /** Lines whose mark changed and is still to be rewritten on the screen. */
  private marksToDraw = new Set<OwnLineShown>()
  private markTimer: NodeJS.Timeout | null = null
  private readonly onKeypress = () => this.reachedPrompt()
  /** The width the prompt was last drawn at. */
  private drawnColumns = 80
  /** Stages shown while the prompt is up (they are notices then, not a spinner), each once until connected. */
  private shownStages = new Set<string>()
  /**
   * start() has run: the prompt is up, or was. From then on no spinner
   * exists and none can start (it would draw over the line being typed and
   * hide what is typed): every stage is a notice.
   */
  private started = false
  private readonly onResize = () => this.resized()

  constructor(
    private readonly opts: UiOptions,
    private readonly makeSpinner: (o: SpinnerOptions) => Ora
  ) {
    this.out = opts.output.stdout
    this.now = opts.now ?? Date.now
    this.prompt = this.c.bold('> ')
  }

  private get c() {
    return this.opts.output.out
  }

  private columns(): number {
    return this.out.columns || 80
  }

  stage(stage: Stage, detail: string): void {
    if (this.stallTimer) clearTimeout(this.stallTimer)
    this.stallTimer = null
    if (this.started) {
      // The prompt is up (connect --reconnect is reconnecting, /invite), or
      // was: a spinner would draw over the line being typed, so each stage
      // is a notice, and so is its stall hint.
      this.stageNotice(detail)
      if (!this.rl) return
      this.stallTimer = setTimeout(() => this.stageNotice(STALL_HINTS[stage]), 5000)
      this.stallTimer.unref()
      return
    }
    if (!this.spinner) {
      // ora must not touch stdin (its default raw mode would swallow typing),
      // and animates whenever stderr is a terminal: its own check also turns
      // animation off whenever a CI variable is set, even in a real terminal.
      this.spinner = this.makeSpinner({
        text: detail,
        stream: this.opts.output.stderr,
        discardStdin: false,
        isEnabled: Boolean((this.opts.output.stderr as { isTTY?: boolean }).isTTY),
        color: this.opts.output.errColor ? 'cyan' : false
      }).start()
    } else {
      this.spinner.text = detail
    }
    const spinner = this.spinner
    this.stallTimer = setTimeout(() => {
      // Only the spinner this stage started, and only while it runs.
      if (this.spinner === spinner) spinner.text = STALL_HINTS[stage]
    }, 5000)
    this.stallTimer.unref()
  }

  private stageNotice(text: string): void {
    if (this.shownStages.has(text)) return
    this.shownStages.add(text)
    this.print(this.c.dim(`* ${text}`))
  }

  private stopStages(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer)
    this.stallTimer = null
    this.shownStages.clear()
  }

  /**
   * Ends the spinner with ✔ (or clears it). The symbol is ours, in our
   * colours: ora's own is green whenever it thinks stderr has colour, which
   * it decides without --no-color. A failure clears it: the one catch then
   * prints the error line.
   */
  private stopSpinner(how: 'succeed' | 'stop', text = ''): void {
    this.stopStages()
    const spinner = this.spinner
    this.spinner = null
    if (!spinner) {
      if (how === 'succeed') this.print(`${this.c.green('✔')} ${text}`)
      return
    }
    if (how === 'stop') {
      spinner.stop()
      return
    }
    const symbol = this.opts.output.err.green('✔')
    spinner.stopAndPersist({ symbol, text })
    this.remember(`${symbol} ${text}`)
    this.counted(`${symbol} ${text}`)
  }

  ready(publicKey: string, z32: string, connectCommand: string): void {
    this.stopSpinner('succeed', `listening on ${publicKey}`)
    this.print(this.c.dim(`z-base-32: ${z32}`))
    this.print(`to chat, run: ${this.c.bold(connectCommand)}`)
    this.print(this.c.dim('type /help for commands'))
  }

  connected(peer: PeerInfo, reconnect = false): void {
    this.stopSpinner('succeed', connectedText(peer, reconnect))
    if (peer.safetyWords) this.system(formatSafetyWords(peer.safetyWords, null, '/verify'))
    if (!reconnect) this.print(this.c.dim('type /help for commands'))
  }

  peerJoined(peer: PeerInfo): void {
    this.system(`${this.peerName(peer)} joined (${peer.key}, ${formatPathSummary(peer)})`)
    if (peer.safetyWords) this.system(formatSafetyWords(peer.safetyWords, this.peerName(peer), `/verify ${sanitize(peer.name)}`))
  }

  pathChanged(peer: PeerInfo, before: string): void {
    this.system(`path to ${this.peerName(peer)} changed: ${before} → ${formatPathSummary(peer)}`)
  }

  peerLeft(peer: PeerInfo, error: ChatError | null): void {
    this.system(`${this.peerName(peer)} left${error ? ` (${sanitizeText(error.message)})` : ''}`)
  }

  messages(peer: Sender, lines: Line[]): void {
    for (const line of lines) this.message(peer, line)
  }

  private message(peer: Sender, line: Line): void {
    const notice = lineNotice(line)
    if (notice) this.system(`${this.peerName(peer)}: ${notice}`)
    this.print(`${this.stamp()}${this.peerName(peer)}${this.c.dim(':')} ${sanitizeLine(line)}`)
  }

  notice(text: string): void {
    // With the prompt up, a notice (`could not connect…; retrying in…`) is
    // newer news than a stage's "still waiting" hint still to come.
    if (this.rl && this.stallTimer) {
      clearTimeout(this.stallTimer)
      this.stallTimer = null
    }
    this.system(sanitizeText(text))
  }
  relay(news: RelayNews): void {
    this.notice(news.text)
  }

  pairing(news: PairingNews): void {
    const { text, warning } = news
    if (!warning) return this.notice(text)
    if (this.stallTimer) {
      clearTimeout(this.stallTimer)
      this.stallTimer = null
    }
    this.print(this.c.red(this.c.bold(`! WARNING: ${sanitizeText(text)}`)))
  }

  block(text: string): void {
    this.print(text.replace(/\n$/, ''))
  }

  delivered(): void {}

  /**
   * Every line of ours up to `upTo` is settled: ✓ when no peer it went to was
   * reported not to have it, ◒ when some were (a room member left first: a
   * notice named it), ✗ when every one was.
   */
  confirmed(upTo: number): void {
    for (const [seq, line] of this.unsettled) {
      if (seq > upTo) break
      this.unsettled.delete(seq)
      this.setMark(line, settledState(line))
    }
  }

  pending(peer: Sender, lines: OwnLine[]): void {
    this.notice(pendingNotice(peer, lines))
  }

  /**
   * Lines kept in the outbox stay pending (they are sent again). A line lost
   * to every peer it went to turns ✗ at once; one that other peers may still
   * have waits for confirmed() (✓ or ◒). A notice says to whom.
   */
  undelivered(peer: Sender, lines: OwnLine[], kept: boolean): void {
    if (!kept) {
      for (const { seq } of lines) {
        const line = this.unsettled.get(seq)
        if (!line) continue
        line.lostTo.add(peer.key)
        if (settledState(line) !== 'lost') continue
        this.unsettled.delete(seq)
        this.setMark(line, 'lost')
      }
    }
    this.notice(undeliveredNotice(peer, lines, kept))
  }

  /** The error is printed by the top level, as one `p2pchat:` line on stderr: the spinner is cleared first (stop() took the prompt down). */
  failed(): void {
    this.stopSpinner('stop')
  }

  closed(reason: string | null): void {
    this.stopSpinner('stop')
    if (reason) this.system(sanitizeText(reason))
  }

  start(controller: ChatController): void {
    this.chat = controller
    // A stage that ran since the last ✔ line (listen --invite opens its code
    // after "listening on") ends here, before readline draws the prompt: its
    // spinner (and the stall timer that would rewrite it) never outlives it.
    this.stopSpinner('stop')
    this.started = true
    // readline redraws on 'resize' as if the terminal never rewraps what is
    // on screen; ours knows when it cannot tell (see resized()).
    const before = new Set(this.out.listeners('resize'))
    const keys = new KeyInput(this.opts.stdin)
    const rl = readline.createInterface({ input: keys as unknown as NodeJS.ReadableStream, output: this.out, terminal: true, prompt: this.prompt })
    keys.insert = (text) => {
      rl.write(text)
      this.reachedPrompt()
    }
    rl.once('close', () => keys.detach())
    this.keys = keys
    for (const l of this.out.listeners('resize')) if (!before.has(l)) this.out.off('resize', l as () => void)
    this.out.on('resize', this.onResize)
    // readline listens first: by the time ours runs, the line is redrawn.
    keys.on('keypress', this.onKeypress)
    this.rl = rl
    this.screen = new ScreenRows()
    this.drawnColumns = this.columns()
    rl.on('line', (line) => this.onLine(line))
    // Ctrl+C in raw mode reaches readline, not the process: hand it on so the
    // one shutdown path (first graceful, second immediate) handles it.
    rl.on('SIGINT', () => process.kill(process.pid, 'SIGINT'))
    // A closed terminal (EIO, e.g. from readline's setRawMode): the same as losing stdout.
    rl.on('error', (err) => routeOutputLoss(err))
    rl.on('close', () => {
      if (this.rl !== rl) return // stop() closed it
      // Ctrl+D on an empty line (or the terminal's input ended): leave, as
      // /quit does, and say so. Never a prompt that reads nothing.
      this.drawMarks()
      const typed = rl.line
      this.clearPrompt(rl)
      this.rl = null
      this.out.off('resize', this.onResize)
      keys.off('keypress', this.onKeypress)
      if (typed) this.system(unsentTypingNotice(typed))
      this.system('Ctrl+D: leaving')
      controller.quit()
    })
    rl.prompt()
    this.reachedPrompt()
  }

  drain(): void {}

  /** Stops reading input and takes the prompt off the screen. A running spinner is left for failed()/closed() to end with its outcome. */
  stop(): void {
    const rl = this.rl
    // Marks still to draw are drawn now, while the cursor is where we know it is.
    this.drawMarks()
    this.rl = null
    this.out.off('resize', this.onResize)
    this.keys?.off('keypress', this.onKeypress)
    this.keys = null
    if (!rl) return
    const typed = rl.line
    this.clearPrompt(rl)
    rl.close()
    // The chat ended (the connection was lost, the listener stops) while a
    // line was half typed: it is not sent, and that is said, never dropped silently.
    if (typed) this.system(unsentTypingNotice(typed))
  }

  /** Erases the prompt and the half-typed line: the cursor ends at column 0 where the prompt started. */
  private clearPrompt(rl: readline.Interface): void {
    readline.moveCursor(this.out, 0, -rl.getCursorPos().rows)
    readline.cursorTo(this.out, 0)
    readline.clearScreenDown(this.out)
  }

  private onLine(line: string): void {
    // Replace the echoed input line with the formatted message.
    this.eraseEchoedLine(line)
    const cmd = parseInput(line)
    runSlash(cmd, this)
    if (cmd.kind !== 'quit') this.rl?.prompt()
  }

  // ---- what slash commands use (SlashView) ----

  get controller(): ChatController {
    return this.chat!
  }

  get style() {
    return this.c
  }

  /** Clears the screen and what would be repainted on it. */
  clearScreen(): void {
    this.history = []
    this.out.write('\x1b[2J\x1b[3J\x1b[H')
    this.screen?.restart(true)
  }

  /**
   * readline has echoed the line and moved to the row below it; go back to
   * where the prompt started. A line that ends exactly at the right edge
   * took one more row (readline moves to the next row at once).
   */
  private eraseEchoedLine(line: string): void {
    const rows = displayPos(this.prompt + line, this.columns()).rows + 1
    this.screen?.reach(rows)
    readline.moveCursor(this.out, 0, -rows)
    readline.cursorTo(this.out, 0)
    readline.clearScreenDown(this.out)
  }

  peerName(peer: Sender): string {
    return this.c.ansi256(peerColor(peer.key)).bold(sanitize(peer.name))
  }

  stamp(): string {
    return this.opts.timestamps ? this.c.dim(`[${clockTime(this.now())}] `) : ''
  }

  system(text: string): void {
    this.print(this.c.yellow(`* ${text}`))
  }

  private remember(text: string | OwnLineShown): void {
    if (typeof text === 'string') for (const row of text.split('\n')) this.history.push(row)
    else this.history.push(text)
    if (this.history.length > HISTORY_LINES * 2) this.history = this.history.slice(-HISTORY_LINES)
  }

  /** One of our lines with its delivery mark after it. */
  private ownText(line: OwnLineShown): string {
    const mark = DELIVERY_MARKS[line.state]
    return `${line.text} ${this.markStyle(line.state)(mark)}`
  }

  private markStyle(state: DeliveryState): (text: string) => string {
    return state === 'lost' ? this.c.red : state === 'partial' ? this.c.yellow : this.c.dim
  }

  /** What is measured of a history item: our lines with a mark, which is always one column wide (DELIVERY_MARKS). */
  private measured(item: string | OwnLineShown): string {
    return typeof item === 'string' ? item : `${item.text} x`
  }

  /**
   * `item` was just printed where the prompt stood: the prompt is now below
   * it, and one of our lines notes where its mark is. When terminals
   * disagree on how many rows it took (emoji, ambiguous-width characters
   * near the right edge), where the rows above it now are is unknown: their
   * marks are not written in place any more (see drawMarks()).
   */
  private counted(item: string | OwnLineShown): void {
    const screen = this.screen
    if (!screen) return
    const columns = this.columns()
    const rows = printedRows(this.measured(item), columns)
    const top = screen.printed(rows.max)
    if (typeof item !== 'string') {
      const end = printedEnd(item.text + ' ', columns)
      Object.assign(item, { top, rows: rows.max, markRow: top + end.rows, col: end.cols, exact: end.exact, generation: screen.generation })
    }
    if (rows.min !== rows.max) screen.restart(false)
  }

  /** Prints one of our lines, numbered `seq`, with a pending mark that turns ✓ (◒, ✗) in place. */
  printOwn(text: string, seq: number, to: readonly Sender[]): void {
    const line: OwnLineShown = { seq, text, state: 'pending', sentTo: new Set(to.map((p) => p.key)), lostTo: new Set(), top: -1, rows: 1, markRow: -1, col: 0, exact: false, generation: -1 }
    this.unsettled.set(seq, line)
    this.print(line)
  }

  /** Prints above the input line, then redraws the prompt with what was half-typed. */
  print(item: string | OwnLineShown): void {
    this.remember(item)
    const text = typeof item === 'string' ? item : this.ownText(item)
    const rl = this.rl
    // Go to where the prompt starts (the half-typed line may wrap), clear it,
    // print, then let readline redraw the prompt, the text and the cursor
    // from there (not from where it last left the cursor).
    if (rl) this.clearPrompt(rl)
    this.out.write(text + '\n')
    this.counted(item)
    if (rl) this.redrawPrompt(rl)
  }

  private redrawPrompt(rl: readline.Interface): void {
    setPromptRows(rl, 0)
    rl.prompt(true)
    this.drawnColumns = this.columns()
    this.reachedPrompt()
  }

  /** The prompt and the half-typed line were drawn: note the lowest row they reach. */
  private reachedPrompt(): void {
    const rl = this.rl
    if (!rl || !this.screen) return
    this.screen.reach(Math.max(rl.getCursorPos().rows, displayPos(this.prompt + rl.line, this.columns()).rows))
  }

  private setMark(line: OwnLineShown, state: DeliveryState): void {
    if (line.state === state) return
    line.state = state
    this.marksToDraw.add(line)
    // Once the prompt is gone, nothing waits: draw before whatever is printed last.
    if (!this.rl) this.drawMarks()
    else this.markTimer ??= setTimeout(() => this.drawMarks(), MARK_FLUSH_MS).unref()
  }

  /**
   * Rewrites the marks that changed, in place, without touching the cursor
   * or the half-typed line. A mark whose column every terminal agrees on is
   * written there (up from the cursor, the mark, back down); otherwise the
   * whole line is written again with its mark, so the terminal puts the
   * mark after the text itself. A line that can no longer be found (the
   * window was resized, or something printed since took a number of rows
   * terminals disagree on) but that a repaint would show: the screen is
   * repainted, every line with its current mark. Never a mark at a column
   * that is not known.
   */
  private drawMarks(): void {
    if (this.markTimer) clearTimeout(this.markTimer)
    this.markTimer = null
    const screen = this.screen
    if (!screen || this.marksToDraw.size === 0) return
    const rl = this.rl
    const cursor = rl ? rl.getCursorPos() : { rows: 0, cols: 0 }
    const cursorRow = screen.promptRow + cursor.rows
    const height = this.out.rows || 24
    let seq = ''
    let lost: OwnLineShown[] = []
    for (const line of this.marksToDraw) {
      if (!screen.onScreen(line.exact ? line.markRow : line.top, line.generation, height)) {
        lost.push(line)
        continue
      }
      if (line.exact) seq += writeAbove(cursorRow - line.markRow, line.col, this.markStyle(line.state)(DELIVERY_MARKS[line.state]), cursor.cols)
      else seq += rewriteAbove(cursorRow - line.top, line.rows, this.ownText(line), cursor.cols)
    }
    this.marksToDraw.clear()
    if (seq) this.out.write(seq)
    if (!rl || lost.length === 0) return
    const columns = this.columns()
    const shown = new Set(this.history.slice(this.firstShown(rl, columns)))
    lost = lost.filter((line) => shown.has(line))
    if (lost.length === 0) return
    this.clearPrompt(rl)
    this.repaint(rl, columns)
    this.redrawPrompt(rl)
  }

  /**
   * The terminal changed width. Some terminals rewrap what is on screen
   * (tmux, VTE, kitty…), some do not (xterm), some all but the cursor's row
   * (xterm.js): where the prompt now starts depends on which. When the
   * cursor's row within the prompt is the same either way (the usual short
   * line), redraw the prompt in place; otherwise (a half-typed line that
   * wraps at the old or the new width) repaint the screen from the top with
   * the last lines printed, which is right whatever the terminal did.
   */
  private resized(): void {
    const rl = this.rl
    const columns = this.columns()
    const before = this.drawnColumns
    // Whatever the terminal did to the rows on screen (rewrapped them, pushed
    // them into the scrollback), they are not where they were printed: their
    // marks are not rewritten in place any more (a repaint shows them again).
    this.screen?.restart(false)
    if (!rl || columns === before) return
    const upToCursor = this.prompt + rl.line.slice(0, rl.cursor)
    const rowsThen = displayPos(upToCursor, before).rows
    const rowsNow = displayPos(upToCursor, columns).rows
    if (rowsThen === rowsNow) {
      readline.moveCursor(this.out, 0, -rowsNow)
      readline.cursorTo(this.out, 0)
      readline.clearScreenDown(this.out)
    } else {
      this.repaint(rl, columns)
    }
    this.redrawPrompt(rl)
  }

  /** Which history item is the first a repaint shows: the last ones that surely fit above the prompt. */
  private firstShown(rl: readline.Interface, columns: number): number {
    let free = (this.out.rows || 24) - promptRows(this.prompt + rl.line, columns)
    let first = this.history.length
    while (first > 0) {
      const rows = printedRows(this.measured(this.history[first - 1]!), columns).max
      if (rows > free) break
      free -= rows
      first--
    }
    return first
  }

  /** Clears the screen and prints the last lines that fit above the prompt. */
  private repaint(rl: readline.Interface, columns: number): void {
    const shown = this.history.slice(this.firstShown(rl, columns))
    const text = (item: string | OwnLineShown) => (typeof item === 'string' ? item : this.ownText(item))
    this.out.write('\x1b[H\x1b[J' + shown.map((l) => text(l) + '\n').join(''))
    // Counted anew from the top: the lines just repainted can have their marks rewritten again.
    const screen = this.screen
    if (!screen) return
    screen.restart(true)
    for (const item of shown) this.counted(item)
  }
}

/**
 * What a line shows once settled: ✓ when nobody it went to was reported not
 * to have it, ◒ when some were and others were not, ✗ when all were. A line
 * queued in the outbox (sent to nobody yet) went to connect's one peer.
 */
function settledState(line: OwnLineShown): DeliveryState {
  if (line.lostTo.size === 0) return 'delivered'
  for (const key of line.sentTo) if (!line.lostTo.has(key)) return 'partial'
  return 'lost'
}
