import readline from 'node:readline'
import type { Ora } from 'ora'
import { ChatError } from '../core/errors.js'
import type { Line } from '../core/peer/framing.js'
import { DEFAULT_MAX_LINE_BYTES, encodeLines } from '../core/peer/framing.js'
import { prefixLines, senderPrefix } from '../core/peer/room-lines.js'
import type { PeerInfo, Sender } from '../core/peer/connection.js'
import type { Conversation, OwnLine } from '../core/peer/conversation.js'
import type { Remembered } from '../core/store/contacts.js'
import { VOLUNTEER_MAX_BYTES_PER_SEC, VOLUNTEER_MAX_PAIRS, type MemberRelay } from '../core/relay/volunteer.js'
import type { RoomRelays } from '../core/relay/room-relays.js'
import { readLines, type LineSource } from './input.js'
import type { Output } from './output.js'
import {
  DELIVERY_MARKS,
  HELP_TEXT,
  ScreenRows,
  blockRows,
  clockTime,
  describeLines,
  displayPos,
  formatBytes,
  formatPathSummary,
  formatPeerRow,
  formatSafetyWords,
  formatVerifyRow,
  lineNotice,
  parseInput,
  peerColor,
  rowsOf,
  writeAbove,
  type DeliveryState
} from './render.js'
import { sanitize, sanitizeText } from './sanitize.js'
import { routeOutputLoss } from '../process/shutdown.js'

/** What became of lines handed to ChatController.send(). */
export interface Sent {
  /** Written to the peer (every peer, on a listener), kept until a connection opens, or dropped: nobody to send to. */
  fate: 'sent' | 'queued' | 'dropped'
  /** Why they were dropped, for the person. */
  reason?: string
  /** Stop reading input until drain(). */
  wait: boolean
  /** Sequence numbers given to the lines (first..last), unless dropped. */
  first?: number
  last?: number
  /** listen: the peers the lines were written to. */
  to?: Sender[]
}

/** What the UI may ask of the running session. */
export interface ChatController {
  role: 'listen' | 'connect'
  peers(): PeerInfo[]
  /** Sends lines (without their \n) to every peer (listen) or the peer (connect), in one write. */
  send(lines: Uint8Array[]): Sent
  /** listen only: one peer by name or key prefix. Returns an error message, or null when sent. */
  sendTo(target: string, text: string): string | Sent
  /** Piped input ended (stdin EOF). In a terminal, Ctrl+D calls quit() instead. */
  inputEnded(): void
  quit(): void
  /** listen: opens a new invite code (replacing an open one); returns why not, or null (the code is shown when open). */
  invite?(): string | null
}

export type Stage = 'joining' | 'announcing' | 'pairing' | 'connecting' | 'confirming'

/** Everything a person (or a script) sees. Three implementations: interactive, pipe, JSON. */
export interface ChatUi {
  stage(stage: Stage, detail: string): void
  ready(publicKey: string, z32: string, connectCommand: string): void
  /** connect reached the peer; `reconnect`: again, after the connection was lost (--reconnect). */
  connected(peer: PeerInfo, reconnect?: boolean): void
  peerJoined(peer: PeerInfo): void
  peerLeft(peer: PeerInfo, error: ChatError | null): void
  /** The UDP path to a peer changed (e.g. relayed → direct). */
  pathChanged(peer: PeerInfo, before: string): void
  /** Lines one peer sent (a batch from one chunk). */
  messages(peer: Sender, lines: Line[]): void
  /** `peer`'s transport acknowledged every line of ours up to sequence number `upTo` that was sent to it. */
  delivered(peer: Sender, upTo: number): void
  /** Every line of ours up to `upTo` is settled: delivered to everyone it was sent to (those who left were reported by undelivered()). */
  confirmed(upTo: number): void
  /** Lines of ours that `peer` has not acknowledged for a few seconds (each reported once). */
  pending(peer: Sender, lines: OwnLine[]): void
  /** The connection to `peer` ended with these lines of ours unacknowledged; `kept`: they wait in the outbox and are sent again on reconnect. */
  undelivered(peer: Sender, lines: OwnLine[], kept: boolean): void
  notice(text: string): void
  /** What this process's relaying does (a room member's volunteer relay), or the room's volunteers (listener): a notice, or a `relay` event in --json. */
  relay(event: string, text: string, fields?: Record<string, unknown>): void
  /**
   * Invite codes and contacts learnt by pairing: a notice, or a `pairing` event in --json.
   * `warning`: shown loudly (a contact's key changed; the code was burned).
   */
  pairing(event: string, text: string, fields?: Record<string, unknown>, warning?: boolean): void
  /** A multi-line block of our own text, shown as it is (a QR code). */
  block(text: string): void
  /** Shows a fatal error; returns true when it was shown (the top level then stays quiet). */
  failed(error: ChatError): boolean
  closed(reason: string | null): void
  /** Starts reading local input. */
  start(controller: ChatController): void
  /** Resume reading after backpressure. */
  drain(): void
  stop(): void
}

export interface UiOptions {
  output: Output
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown }
  timestamps?: boolean
  sanitize?: boolean
  now?: () => number
}

/** Shows what becomes of our lines: acknowledgements, lines still waiting, lines not delivered. */
export function showDelivery(conversation: Conversation, ui: ChatUi): void {
  conversation.on('delivered', (peer, upTo) => ui.delivered(peer, upTo))
  conversation.on('confirmed', (upTo) => ui.confirmed(upTo))
  conversation.on('pending', (peer, lines) => ui.pending(peer, lines))
  conversation.on('undelivered', (peer, lines, kept) => ui.undelivered(peer, lines, kept))
}

/**
 * A key learnt by pairing came with a name already saved for another key
 * (both ends: connect for the inviter, listen for a joiner): said loudly,
 * with the command for a real key change. `subject` names the new key.
 */
export function showKeyChanged(ui: ChatUi, subject: string, hex: string, saved: Remembered, fields: Record<string, unknown>): void {
  const c = saved.conflict
  if (!c) return
  ui.pairing(
    'contact-key-changed',
    `${subject} is not the key saved as ${c.name} (${c.oldKey}): a new identity, or someone else. Saved as ${saved.savedAs}; ${c.name} is unchanged (if this really is ${c.name}'s new key: p2pchat contacts add ${c.name} ${hex} --force)`,
    { ...fields, contact: c.name, oldKey: c.oldKey },
    true
  )
}

/** Shows what a room member's volunteer relay does (connect). */
export function showMemberRelay(member: MemberRelay, ui: ChatUi, nameOf: (hex: string) => string): void {
  const who = (hex: string) => `${nameOf(hex)} (${hex.slice(0, 8)})`
  member.on('volunteering', (relayKey) =>
    ui.relay(
      'volunteering',
      `volunteering as a relay for this room (relay ${relayKey}): a newcomer who cannot reach the listener directly may come through this machine, at most ${VOLUNTEER_MAX_PAIRS} at once, ${formatBytes(VOLUNTEER_MAX_BYTES_PER_SEC)}/s each; it sees only encrypted bytes (--no-relay to opt out)`,
      { relayKey, maxPairs: VOLUNTEER_MAX_PAIRS, maxBytesPerSec: VOLUNTEER_MAX_BYTES_PER_SEC }
    )
  )
  member.on('declined', (reason) => ui.relay('declined', `not volunteering as a relay for this room: ${reason}`, { reason }))
  member.on('failed', (message) => ui.relay('failed', `could not volunteer as a relay for this room: ${message}`, { reason: message }))
  member.on('paired', (peer, other, active) =>
    ui.relay('paired', `relaying for ${who(peer)} to ${who(other)}: ${active} relayed now`, { key: peer, name: nameOf(peer), to: other, active })
  )
  member.on('unpaired', (peer, bytes, active) =>
    ui.relay('unpaired', `stopped relaying for ${who(peer)} (${formatBytes(bytes)} relayed): ${active} relayed now`, { key: peer, name: nameOf(peer), bytes, active })
  )
  member.on('refused', (peer, reason) =>
    ui.relay(
      'refused',
      reason === 'outsider'
        ? `refused to relay for ${peer.slice(0, 8)}: its pair did not include this room's listener`
        : `refused to relay for ${peer.slice(0, 8)}: already relaying ${VOLUNTEER_MAX_PAIRS} pairs (the cap)`,
      { key: peer, reason }
    )
  )
  member.on('cut', (peer, rate) =>
    ui.relay('cut', `stopped relaying for ${who(peer)}: it averaged ${formatBytes(rate)}/s, over the cap of ${formatBytes(VOLUNTEER_MAX_BYTES_PER_SEC)}/s`, { key: peer, bytesPerSec: rate })
  )
}

/** Shows which room members volunteer as relays (listen). */
export function showRoomRelays(relays: RoomRelays, ui: ChatUi, nameOf: (hex: string) => string): void {
  relays.on('volunteer', (member, relayKey) =>
    ui.relay('volunteer', `${nameOf(member)} (${member.slice(0, 8)}) volunteers as a relay for this room (relay ${relayKey.slice(0, 8)}): newcomers who cannot reach this listener directly come through it`, {
      key: member,
      name: nameOf(member),
      relayKey
    })
  )
  relays.on('volunteer-gone', (member, relayKey) =>
    ui.relay('volunteer-gone', `${nameOf(member)}'s relay (${relayKey.slice(0, 8)}) is no longer listed for this room`, { key: member, name: nameOf(member), relayKey })
  )
}

/** Lets the UI show a fatal error its own way; the top level then prints nothing more. */
export function showFailure(err: unknown, ui: ChatUi): unknown {
  if (err instanceof ChatError && ui.failed(err)) err.shown = true
  return err
}

export type UiMode = 'interactive' | 'pipe' | 'json'

export function chooseMode(opts: { json?: boolean }, stdin: { isTTY?: boolean }, stdout: { isTTY?: boolean }): UiMode {
  if (opts.json) return 'json'
  return stdin.isTTY && stdout.isTTY ? 'interactive' : 'pipe'
}

export async function createUi(mode: UiMode, opts: UiOptions): Promise<ChatUi> {
  if (mode === 'json') return new JsonUi(opts)
  if (mode === 'pipe') return new PipeUi(opts)
  const { default: ora } = await import('ora')
  return new InteractiveUi(opts, ora)
}

/** stdin lines → controller, raw bytes, with backpressure. Shared by pipe and JSON modes. */
function startRawInput(
  opts: UiOptions,
  controller: ChatController,
  onCut: (notice: string) => void,
  onSent: (lines: Uint8Array[], sent: Sent) => void = () => {}
): LineSource {
  // Lines nobody received are reported at once, then at most every few
  // seconds with a count: a big pipe into an empty room is one notice per
  // interval, not one per chunk.
  const now = opts.now ?? Date.now
  let unsent = { lines: 0, reason: '', reportedAt: -Infinity }
  let timer: NodeJS.Timeout | null = null
  const reportUnsent = () => {
    if (timer) clearTimeout(timer)
    timer = null
    if (unsent.lines === 0) return
    onCut(`${unsent.reason}: ${unsent.lines === 1 ? 'line' : `${unsent.lines} lines`} not sent`)
    unsent = { lines: 0, reason: '', reportedAt: now() }
  }
  const source = readLines(
    opts.stdin,
    DEFAULT_MAX_LINE_BYTES,
    (lines) => {
      for (const line of lines) {
        const notice = lineNotice(line, 'sent')
        if (notice) onCut(notice)
      }
      const bytes = lines.map((l) => l.bytes)
      const sent = controller.send(bytes)
      onSent(bytes, sent)
      if (sent.fate === 'dropped') {
        if (unsent.lines > 0 && unsent.reason !== sent.reason) reportUnsent()
        unsent.lines += lines.length
        unsent.reason = sent.reason ?? 'nobody to send to'
        const wait = unsent.reportedAt + UNSENT_REPORT_MS - now()
        if (wait <= 0) reportUnsent()
        else timer ??= setTimeout(reportUnsent, wait).unref()
      } else {
        reportUnsent()
      }
      return !sent.wait
    },
    () => {
      reportUnsent()
      controller.inputEnded()
    }
  )
  return {
    ...source,
    stop: () => {
      // Stopping is the end of the session: say now what was not sent, never after it.
      reportUnsent()
      source.stop()
    }
  }
}

const UNSENT_REPORT_MS = 2000

/**
 * Pipe mode: no prompt, spinner or colour. A stdout that is not a terminal
 * gets exactly what peers sent (a listener prefixes the sender); a stdout
 * that is a terminal (`cmd | p2pchat listen` typed in one) gets it
 * sanitized, as does any stdout with --sanitize. stderr gets notices.
 */
export class PipeUi implements ChatUi {
  private input: LineSource | null = null
  private role: 'listen' | 'connect' = 'connect'
  private readonly sanitize: boolean
  constructor(private readonly opts: UiOptions) {
    this.sanitize = Boolean(opts.sanitize || opts.output.stdout.isTTY)
  }

  stage(stage: Stage, detail: string): void {
    if (stage === 'connecting' || stage === 'pairing') this.notice(detail)
  }
  ready(publicKey: string, z32: string, connectCommand: string): void {
    this.notice(`listening on ${publicKey}`)
    this.notice(`z-base-32: ${z32}`)
    this.notice(`to chat, run: ${connectCommand}`)
  }
  connected(peer: PeerInfo, reconnect = false): void {
    this.notice(`${reconnect ? 'reconnected' : 'connected'} to ${peer.key} (${formatPathSummary(peer)})`)
    // No /verify here: typed lines are sent as they are.
    if (peer.safetyWords) this.notice(formatSafetyWords(peer.safetyWords, null, null))
  }
  pathChanged(peer: PeerInfo, before: string): void {
    this.notice(`path to ${peer.name} changed: ${before} → ${formatPathSummary(peer)}`)
  }
  peerJoined(peer: PeerInfo): void {
    this.notice(`${peer.name} joined (${peer.key}) via ${formatPathSummary(peer)}`)
    if (peer.safetyWords) this.notice(formatSafetyWords(peer.safetyWords, peer.name, null))
  }
  peerLeft(peer: PeerInfo, error: ChatError | null): void {
    this.notice(`${peer.name} left${error ? ` (${error.message})` : ''}`)
  }
  messages(peer: Sender, lines: Line[]): void {
    for (const line of lines) {
      const notice = lineNotice(line)
      if (notice) this.notice(`${peer.name}: ${notice}`)
    }
    const shown = this.sanitize ? lines.map((l) => ({ bytes: Buffer.from(sanitize(l.bytes)), droppedBytes: 0 })) : lines
    // The whole batch in one buffer: exactly the peer's bytes, prefixed by the sender on a listener.
    this.opts.output.write(this.role === 'listen' ? prefixLines(senderPrefix(peer.name), shown) : encodeLines(shown.map((l) => l.bytes)))
  }
  notice(text: string): void {
    this.opts.output.notice(text)
  }
  relay(_event: string, text: string): void {
    this.notice(text)
  }
  pairing(_event: string, text: string, _fields?: Record<string, unknown>, warning = false): void {
    this.notice(warning ? `WARNING: ${text}` : text)
  }
  delivered(): void {}
  confirmed(): void {}
  pending(peer: Sender, lines: OwnLine[]): void {
    this.notice(pendingNotice(peer, lines))
  }
  undelivered(peer: Sender, lines: OwnLine[], kept: boolean): void {
    this.notice(undeliveredNotice(peer, lines, kept))
  }
  block(text: string): void {
    this.opts.output.stderr.write(text.endsWith('\n') ? text : text + '\n')
  }
  failed(): boolean {
    return false
  }
  closed(reason: string | null): void {
    if (reason) this.notice(reason)
  }
  start(controller: ChatController): void {
    this.role = controller.role
    this.input = startRawInput(this.opts, controller, (n) => this.notice(n))
  }
  drain(): void {
    this.input?.resume()
  }
  stop(): void {
    this.input?.stop()
  }
}

/** --json: one JSON object per line on stdout for every event. */
export class JsonUi implements ChatUi {
  private input: LineSource | null = null
  private readonly decoder = new TextDecoder()
  constructor(private readonly opts: UiOptions) {}

  private emit(type: string, fields: Record<string, unknown>): void {
    const now = (this.opts.now ?? Date.now)()
    this.opts.output.json({ type, time: new Date(now).toISOString(), ...fields })
  }

  /** The same fields for a peer in every event that describes one. */
  private peer(peer: PeerInfo): Record<string, unknown> {
    return { key: peer.key, name: peer.name, address: peer.address, path: peer.path, relay: peer.relay, ...(peer.relayName ? { relayName: peer.relayName } : {}), rttMs: peer.rttMs }
  }

  stage(stage: Stage, detail: string): void {
    this.emit('status', { stage, detail })
  }
  ready(publicKey: string, z32: string): void {
    this.emit('ready', { publicKey, z32 })
  }
  connected(peer: PeerInfo, reconnect = false): void {
    this.emit('connected', { remoteKey: peer.key, ...this.peer(peer), safetyWords: peer.safetyWords ?? null, reconnect })
  }
  pathChanged(peer: PeerInfo, before: string): void {
    this.emit('path-changed', { ...this.peer(peer), before })
  }
  peerJoined(peer: PeerInfo): void {
    this.emit('peer-joined', { ...this.peer(peer), safetyWords: peer.safetyWords ?? null })
  }
  peerLeft(peer: PeerInfo, error: ChatError | null): void {
    this.emit('peer-left', { key: peer.key, name: peer.name, reason: error ? error.message : null })
  }
  messages(peer: Sender, lines: Line[]): void {
    for (const line of lines) this.message(peer, line)
  }
  private message(peer: Sender, line: Line): void {
    const fields: Record<string, unknown> = { from: peer.key, name: peer.name, text: this.decoder.decode(line.bytes) }
    if (line.droppedBytes > 0) fields.droppedBytes = line.droppedBytes
    this.emit('message', fields)
  }
  notice(text: string): void {
    this.emit('notice', { text })
  }
  relay(event: string, text: string, fields: Record<string, unknown> = {}): void {
    this.emit('relay', { event, ...fields, text })
  }
  pairing(event: string, text: string, fields: Record<string, unknown> = {}, warning = false): void {
    this.emit('pairing', { event, ...fields, ...(warning ? { warning: true } : {}), text })
  }
  /** One `sent` event per line, with its sequence number (and, on a listener, who it went to). */
  sent(lines: Uint8Array[], sent: Sent): void {
    if (sent.first === undefined) return
    const to = sent.to ? { to: sent.to.map((p) => p.key) } : {}
    lines.forEach((bytes, i) => this.emit('sent', { seq: sent.first! + i, text: this.decoder.decode(bytes), queued: sent.fate === 'queued', ...to }))
  }
  delivered(peer: Sender, upTo: number): void {
    this.emit('delivered', { key: peer.key, name: peer.name, upTo })
  }
  confirmed(): void {}
  pending(peer: Sender, lines: OwnLine[]): void {
    this.emit('pending', { key: peer.key, name: peer.name, seqs: lines.map((l) => l.seq) })
  }
  undelivered(peer: Sender, lines: OwnLine[], kept: boolean): void {
    this.emit('undelivered', { key: peer.key, name: peer.name, seqs: lines.map((l) => l.seq), kept })
  }
  block(text: string): void {
    this.emit('notice', { text })
  }
  failed(): boolean {
    // The `error` event is printed by the top-level catch (src/cli.ts), for
    // every error of a --json command, also those before this UI existed.
    return false // the one-line message still goes to stderr
  }
  closed(reason: string | null): void {
    this.emit('closed', { reason })
  }
  start(controller: ChatController): void {
    this.input = startRawInput(this.opts, controller, (n) => this.notice(n), (lines, sent) => this.sent(lines, sent))
  }
  drain(): void {
    this.input?.resume()
  }
  stop(): void {
    this.input?.stop()
  }
}

/** "not yet delivered": the same words in every mode that prints them. */
export function pendingNotice(peer: Sender, lines: OwnLine[]): string {
  return `not yet delivered to ${peer.name}: ${describeLines(lines)}; still waiting for its acknowledgement`
}

export function undeliveredNotice(peer: Sender, lines: OwnLine[], kept: boolean): string {
  const what = describeLines(lines)
  return kept
    ? `connection to ${peer.name} lost before it acknowledged ${what}: kept in the outbox, sent again first when reconnected`
    : `not delivered to ${peer.name}: ${what}`
}

const STALL_HINTS: Record<Stage, string> = {
  joining: 'still joining the DHT: waiting for bootstrap nodes to answer (is this machine online? is UDP blocked?)',
  announcing: 'still announcing the key: waiting for DHT nodes to store it',
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
  /** The mark's row (ScreenRows coordinates) and column, as printed in `generation`. */
  row: number
  col: number
  generation: number
}

type SpinnerOptions = { text: string; stream: NodeJS.WritableStream; discardStdin: boolean; isEnabled: boolean; color: 'cyan' | false }

/**
 * readline keeps, in `prevRows`, how many rows below the prompt's start it
 * left the cursor, and moves up that many before redrawing. It is a plain
 * field (Node 20–24), not documented: it is the only way to tell readline
 * that we already moved the cursor (after printing above the prompt).
 */
function setPromptRows(rl: readline.Interface, rows: number): void {
  ;(rl as unknown as { prevRows: number }).prevRows = rows
}

/**
 * A person at a terminal: readline prompt, messages printed above the line
 * being typed (which is redrawn intact), colours, a spinner while connecting,
 * slash commands. Everything a peer sent is sanitized before display.
 *
 * Geometry: the prompt and a long half-typed line may wrap over several
 * rows; readline.getCursorPos() says how many rows below the prompt's start
 * the cursor is, which is where every redraw starts from.
 */
export class InteractiveUi implements ChatUi {
  private rl: readline.Interface | null = null
  private spinner: Ora | null = null
  private stallTimer: NodeJS.Timeout | null = null
  private controller: ChatController | null = null
  private readonly out: NodeJS.WritableStream & { columns?: number; rows?: number }
  private readonly now: () => number
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
    if (this.rl) {
      // The prompt is up (connect --reconnect is reconnecting): a spinner
      // would draw over the line being typed, so each stage is a notice.
      this.stageNotice(detail)
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
    this.stallTimer = setTimeout(() => {
      if (this.spinner) this.spinner.text = STALL_HINTS[stage]
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
   * Ends the spinner with ✔ or ✖ (or nothing). The symbols are ours, in our
   * colours: ora's own are green and red whenever it thinks stderr has colour,
   * which it decides without --no-color.
   */
  private stopSpinner(how: 'succeed' | 'fail' | 'stop', text = ''): void {
    this.stopStages()
    const spinner = this.spinner
    this.spinner = null
    if (!spinner) {
      if (how !== 'stop') this.print(this.outcome(how, text))
      return
    }
    if (how === 'stop') {
      spinner.stop()
      return
    }
    const symbol = how === 'succeed' ? this.opts.output.err.green('✔') : this.opts.output.err.red('✖')
    spinner.stopAndPersist({ symbol, text })
    this.remember(`${symbol} ${text}`)
    this.screen?.printed(blockRows(`${symbol} ${text}`, this.columns()))
  }

  private outcome(how: 'succeed' | 'fail', text: string): string {
    return `${how === 'succeed' ? this.c.green('✔') : this.c.red('✖')} ${text}`
  }

  ready(publicKey: string, z32: string, connectCommand: string): void {
    this.stopSpinner('succeed', `listening on ${publicKey}`)
    this.print(this.c.dim(`z-base-32: ${z32}`))
    this.print(`to chat, run: ${this.c.bold(connectCommand)}`)
    this.print(this.c.dim('type /help for commands'))
  }

  connected(peer: PeerInfo, reconnect = false): void {
    this.stopSpinner('succeed', `${reconnect ? 'reconnected' : 'connected'} to ${peer.key} (${formatPathSummary(peer)})`)
    if (peer.safetyWords) this.system(formatSafetyWords(peer.safetyWords, null, '/verify'))
    if (!reconnect) this.print(this.c.dim('type /help for commands'))
  }

  peerJoined(peer: PeerInfo): void {
    this.system(`${this.name(peer)} joined (${peer.key}, ${formatPathSummary(peer)})`)
    if (peer.safetyWords) this.system(formatSafetyWords(peer.safetyWords, this.name(peer), `/verify ${sanitize(peer.name)}`))
  }

  pathChanged(peer: PeerInfo, before: string): void {
    this.system(`path to ${this.name(peer)} changed: ${before} → ${formatPathSummary(peer)}`)
  }

  peerLeft(peer: PeerInfo, error: ChatError | null): void {
    this.system(`${this.name(peer)} left${error ? ` (${sanitizeText(error.message)})` : ''}`)
  }

  messages(peer: Sender, lines: Line[]): void {
    for (const line of lines) this.message(peer, line)
  }

  private message(peer: Sender, line: Line): void {
    const notice = lineNotice(line)
    if (notice) this.system(`${this.name(peer)}: ${notice}`)
    this.print(`${this.stamp()}${this.name(peer)}${this.c.dim(':')} ${sanitize(line.bytes)}`)
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
  relay(_event: string, text: string): void {
    this.notice(text)
  }

  pairing(_event: string, text: string, _fields?: Record<string, unknown>, warning = false): void {
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

  /** Every line of ours up to `upTo` is settled: those not reported lost turn ✓. */
  confirmed(upTo: number): void {
    for (const [seq, line] of this.unsettled) {
      if (seq > upTo) break
      this.unsettled.delete(seq)
      this.setMark(line, 'delivered')
    }
  }

  pending(peer: Sender, lines: OwnLine[]): void {
    this.notice(pendingNotice(peer, lines))
  }

  /** Lines kept in the outbox stay pending (they are sent again); lines lost turn ✗, and a notice says to whom. */
  undelivered(peer: Sender, lines: OwnLine[], kept: boolean): void {
    if (!kept) {
      for (const { seq } of lines) {
        const line = this.unsettled.get(seq)
        if (!line) continue
        this.unsettled.delete(seq)
        this.setMark(line, 'lost')
      }
    }
    this.notice(undeliveredNotice(peer, lines, kept))
  }

  failed(error: ChatError): boolean {
    const message = sanitizeText(error.message)
    if (this.spinner) {
      this.stopSpinner('fail', message)
      return true
    }
    this.print(this.c.red(`error: ${message}`))
    return true
  }

  closed(reason: string | null): void {
    this.stopSpinner('stop')
    if (reason) this.system(sanitizeText(reason))
  }

  start(controller: ChatController): void {
    this.controller = controller
    // readline redraws on 'resize' as if the terminal never rewraps what is
    // on screen; ours knows when it cannot tell (see resized()).
    const before = new Set(this.out.listeners('resize'))
    const rl = readline.createInterface({ input: this.opts.stdin, output: this.out, terminal: true, prompt: this.prompt })
    for (const l of this.out.listeners('resize')) if (!before.has(l)) this.out.off('resize', l as () => void)
    this.out.on('resize', this.onResize)
    // readline listens first: by the time ours runs, the line is redrawn.
    this.opts.stdin.on('keypress', this.onKeypress)
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
      this.clearPrompt(rl)
      this.rl = null
      this.out.off('resize', this.onResize)
      this.opts.stdin.off('keypress', this.onKeypress)
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
    this.opts.stdin.off('keypress', this.onKeypress)
    if (!rl) return
    this.clearPrompt(rl)
    rl.close()
  }

  /** Erases the prompt and the half-typed line: the cursor ends at column 0 where the prompt started. */
  private clearPrompt(rl: readline.Interface): void {
    readline.moveCursor(this.out, 0, -rl.getCursorPos().rows)
    readline.cursorTo(this.out, 0)
    readline.clearScreenDown(this.out)
  }

  private onLine(line: string): void {
    const controller = this.controller!
    // Replace the echoed input line with the formatted message.
    this.eraseEchoedLine(line)
    const cmd = parseInput(line)
    switch (cmd.kind) {
      case 'text': {
        if (cmd.text.length === 0) break
        const sent = controller.send([Buffer.from(cmd.text)])
        const text = `${this.stamp()}${this.c.bold(sent.fate === 'queued' ? 'you (queued)' : 'you')}${this.c.dim(':')} ${sanitize(cmd.text)}`
        if (sent.fate === 'dropped') this.system(`not sent (${sent.reason}): ${sanitize(cmd.text)}`)
        else if (sent.first === undefined) this.print(text)
        else this.printOwn(text, sent.first)
        break
      }
      case 'help':
        this.print(HELP_TEXT)
        break
      case 'peers': {
        const peers = controller.peers()
        if (peers.length === 0) this.system('no peers connected')
        const now = this.now()
        for (const p of peers) this.print(formatPeerRow(p, this.name(p), now))
        break
      }
      case 'verify':
        this.verify(controller, cmd.target)
        break
      case 'invite': {
        if (!controller.invite) {
          this.system('/invite works on a listener: it opens a code that pairs someone with it')
          break
        }
        const why = controller.invite()
        if (why) this.system(why)
        else this.system('opening a new invite code…')
        break
      }
      case 'quit':
        controller.quit()
        return
      case 'clear':
        this.history = []
        this.out.write('\x1b[2J\x1b[3J\x1b[H')
        this.screen?.restart(true)
        break
      case 'send-to': {
        if (controller.role !== 'listen') {
          this.system('/send-to works on a listener; here every line goes to the one peer')
          break
        }
        const sent = controller.sendTo(cmd.target, cmd.text)
        if (typeof sent === 'string') this.system(sanitizeText(sent))
        else if (sent.fate === 'dropped' || sent.first === undefined) this.system(`not sent (${sent.reason ?? 'no peers connected'}): ${sanitize(cmd.text)}`)
        else this.printOwn(`${this.stamp()}${this.c.bold(`you → ${sanitize(cmd.target)}`)}${this.c.dim(':')} ${sanitize(cmd.text)}`, sent.first)
        break
      }
      case 'unknown':
        this.system(`unknown command ${sanitize(cmd.name)}`)
        this.print(HELP_TEXT)
        break
      case 'usage':
        this.system(cmd.message)
        break
    }
    this.rl?.prompt()
  }

  /** /verify [peer]: the safety words of the connection (connect), or of every peer or the one named (listen). */
  private verify(controller: ChatController, target: string | null): void {
    const peers = controller.peers()
    if (peers.length === 0) {
      this.system(controller.role === 'connect' ? 'not connected: no safety words yet' : 'no peers connected')
      return
    }
    const t = target?.toLowerCase()
    const shown = t === undefined ? peers : peers.filter((p) => p.key.startsWith(t) || p.name === target)
    if (shown.length === 0) this.system(`no connected peer matches ${sanitize(JSON.stringify(target))}`)
    for (const p of shown) this.system(formatVerifyRow(p.safetyWords, this.name(p)))
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

  private name(peer: Sender): string {
    return this.c.ansi256(peerColor(peer.key)).bold(sanitize(peer.name))
  }

  private stamp(): string {
    return this.opts.timestamps ? this.c.dim(`[${clockTime(this.now())}] `) : ''
  }

  private system(text: string): void {
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
    return `${line.text} ${line.state === 'lost' ? this.c.red(mark) : this.c.dim(mark)}`
  }

  /** Notes where `line`'s mark is, printed from the start of `row` at the current width. */
  private placeMark(line: OwnLineShown, row: number): void {
    const pos = displayPos(line.text + ' ', this.columns())
    line.row = row + pos.rows
    line.col = pos.cols
    line.generation = this.screen!.generation
  }

  /** Prints one of our lines, numbered `seq`, with a pending mark that turns ✓ (or ✗) in place. */
  private printOwn(text: string, seq: number): void {
    const line: OwnLineShown = { seq, text, state: 'pending', row: -1, col: 0, generation: -1 }
    this.unsettled.set(seq, line)
    this.print(line)
  }

  /** Prints above the input line, then redraws the prompt with what was half-typed. */
  private print(item: string | OwnLineShown): void {
    this.remember(item)
    const text = typeof item === 'string' ? item : this.ownText(item)
    const rl = this.rl
    // Go to where the prompt starts (the half-typed line may wrap), clear it,
    // print, then let readline redraw the prompt, the text and the cursor
    // from there (not from where it last left the cursor).
    if (rl) this.clearPrompt(rl)
    this.out.write(text + '\n')
    const top = this.screen?.printed(blockRows(text, this.columns()))
    if (top !== undefined && typeof item !== 'string') this.placeMark(item, top)
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
   * Rewrites the marks that changed, in place: up from the cursor to each
   * mark's row, the mark, back down. Only marks still on the screen and not
   * lost to a resize; the others show their state when the screen is
   * repainted. The cursor and the half-typed line stay as they are.
   */
  private drawMarks(): void {
    if (this.markTimer) clearTimeout(this.markTimer)
    this.markTimer = null
    const screen = this.screen
    if (!screen || this.marksToDraw.size === 0) return
    const cursor = this.rl ? this.rl.getCursorPos() : { rows: 0, cols: 0 }
    const cursorRow = screen.promptRow + cursor.rows
    const height = this.out.rows || 24
    let seq = ''
    for (const line of this.marksToDraw) {
      if (!screen.onScreen(line.row, line.generation, height)) continue
      const mark = DELIVERY_MARKS[line.state]
      seq += writeAbove(cursorRow - line.row, line.col, line.state === 'lost' ? this.c.red(mark) : this.c.dim(mark), cursor.cols)
    }
    this.marksToDraw.clear()
    if (seq) this.out.write(seq)
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

  /** Clears the screen and prints the last lines that fit above the prompt. */
  private repaint(rl: readline.Interface, columns: number): void {
    let free = (this.out.rows || 24) - rowsOf(this.prompt + rl.line, columns)
    let first = this.history.length
    const text = (item: string | OwnLineShown) => (typeof item === 'string' ? item : this.ownText(item))
    while (first > 0) {
      const rows = rowsOf(text(this.history[first - 1]!), columns)
      if (rows > free) break
      free -= rows
      first--
    }
    const shown = this.history.slice(first)
    this.out.write('\x1b[H\x1b[J' + shown.map((l) => text(l) + '\n').join(''))
    // Counted anew from the top: the lines just repainted can have their marks rewritten again.
    const screen = this.screen
    if (!screen) return
    screen.restart(true)
    for (const item of shown) {
      const top = screen.printed(rowsOf(text(item), columns))
      if (typeof item !== 'string') this.placeMark(item, top)
    }
  }
}
