import readline from 'node:readline'
import type { Ora } from 'ora'
import { ChatError } from '../core/errors.js'
import type { Line } from '../core/framing.js'
import { DEFAULT_MAX_LINE_BYTES, encodeLines } from '../core/framing.js'
import { prefixLines } from '../core/listener.js'
import type { PeerInfo, Sender } from '../core/session.js'
import { readLines, type LineSource } from './input.js'
import type { Output } from './output.js'
import { HELP_TEXT, clockTime, formatPathSummary, formatPeerRow, lineNotice, parseInput, peerColor } from './render.js'
import { sanitize } from './sanitize.js'
import { routeOutputLoss } from './signals.js'

/** What the UI may ask of the running session. */
export interface ChatController {
  role: 'listen' | 'connect'
  peers(): PeerInfo[]
  /** Sends lines (without their \n) to every peer (listen) or the peer (connect), in one write; false = wait for drain(). */
  send(lines: Uint8Array[]): boolean
  /** listen only: one peer by name or key prefix. Returns an error message, or null when sent. */
  sendTo(target: string, text: string): string | null
  /** Local input ended (stdin EOF or Ctrl+D). */
  inputEnded(): void
  quit(): void
}

export type Stage = 'joining' | 'announcing' | 'connecting' | 'confirming'

/** Everything a person (or a script) sees. Three implementations: interactive, pipe, JSON. */
export interface ChatUi {
  stage(stage: Stage, detail: string): void
  ready(publicKey: string, z32: string, connectCommand: string): void
  connected(peer: PeerInfo): void
  peerJoined(peer: PeerInfo): void
  peerLeft(peer: PeerInfo, error: ChatError | null): void
  /** The UDP path to a peer changed (e.g. relayed → direct). */
  pathChanged(peer: PeerInfo, before: string): void
  /** Lines one peer sent (a batch from one chunk). */
  messages(peer: Sender, lines: Line[]): void
  notice(text: string): void
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
function startRawInput(opts: UiOptions, controller: ChatController, onCut: (notice: string) => void): LineSource {
  return readLines(
    opts.stdin,
    DEFAULT_MAX_LINE_BYTES,
    (lines) => {
      for (const line of lines) {
        const notice = lineNotice(line, 'sent')
        if (notice) onCut(notice)
      }
      return controller.send(lines.map((l) => l.bytes))
    },
    () => controller.inputEnded()
  )
}

/**
 * Pipe mode: no prompt, spinner or colour. stdout gets exactly what peers
 * sent (a listener prefixes the sender), stderr gets notices.
 */
export class PipeUi implements ChatUi {
  private input: LineSource | null = null
  private role: 'listen' | 'connect' = 'connect'
  constructor(private readonly opts: UiOptions) {}

  stage(stage: Stage, detail: string): void {
    if (stage === 'connecting') this.notice(detail)
  }
  ready(publicKey: string, z32: string, connectCommand: string): void {
    this.notice(`listening on ${publicKey}`)
    this.notice(`z-base-32: ${z32}`)
    this.notice(`to chat, run: ${connectCommand}`)
  }
  connected(peer: PeerInfo): void {
    this.notice(`connected to ${peer.key} (${formatPathSummary(peer)})`)
  }
  pathChanged(peer: PeerInfo, before: string): void {
    this.notice(`path to ${peer.name} changed: ${before} → ${formatPathSummary(peer)}`)
  }
  peerJoined(peer: PeerInfo): void {
    this.notice(`${peer.name} joined (${peer.key}) via ${formatPathSummary(peer)}`)
  }
  peerLeft(peer: PeerInfo, error: ChatError | null): void {
    this.notice(`${peer.name} left${error ? ` (${error.message})` : ''}`)
  }
  messages(peer: Sender, lines: Line[]): void {
    for (const line of lines) {
      const notice = lineNotice(line)
      if (notice) this.notice(`${peer.name}: ${notice}`)
    }
    const shown = this.opts.sanitize ? lines.map((l) => ({ bytes: Buffer.from(sanitize(l.bytes)), droppedBytes: 0 })) : lines
    // The whole batch in one buffer: exactly the peer's bytes, prefixed by the sender on a listener.
    this.opts.output.write(this.role === 'listen' ? prefixLines(`[${peer.name}] `, shown) : encodeLines(shown.map((l) => l.bytes)))
  }
  notice(text: string): void {
    this.opts.output.notice(text)
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
    this.opts.output.message(JSON.stringify({ type, time: new Date(now).toISOString(), ...fields }))
  }

  stage(stage: Stage, detail: string): void {
    this.emit('status', { stage, detail })
  }
  ready(publicKey: string, z32: string): void {
    this.emit('ready', { publicKey, z32 })
  }
  connected(peer: PeerInfo): void {
    this.emit('connected', { remoteKey: peer.key, name: peer.name, address: peer.address, path: peer.path, relay: peer.relay, rttMs: peer.rttMs })
  }
  pathChanged(peer: PeerInfo, before: string): void {
    this.emit('path-changed', { key: peer.key, before, path: peer.path, relay: peer.relay, address: peer.address, rttMs: peer.rttMs })
  }
  peerJoined(peer: PeerInfo): void {
    this.emit('peer-joined', { key: peer.key, name: peer.name, address: peer.address, path: peer.path, relay: peer.relay })
  }
  peerLeft(peer: PeerInfo, error: ChatError | null): void {
    this.emit('peer-left', { key: peer.key, reason: error ? error.message : null })
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
  failed(): boolean {
    // The `error` event is printed by the top-level catch (src/cli.ts), for
    // every error of a --json command, also those before this UI existed.
    return false // the one-line message still goes to stderr
  }
  closed(reason: string | null): void {
    this.emit('closed', { reason })
  }
  start(controller: ChatController): void {
    this.input = startRawInput(this.opts, controller, (n) => this.notice(n))
  }
  drain(): void {
    this.input?.resume()
  }
  stop(): void {
    this.input?.stop()
  }
}

const STALL_HINTS: Record<Stage, string> = {
  joining: 'still joining the DHT: waiting for bootstrap nodes to answer (is this machine online? is UDP blocked?)',
  announcing: 'still announcing the key: waiting for DHT nodes to store it',
  connecting: 'still connecting: looking up the key and hole punching (is the peer online, on the same network?)',
  confirming: 'connection opened; waiting for the peer to answer'
}

/**
 * A person at a terminal: readline prompt, messages printed above the line
 * being typed (which is redrawn intact), colours, a spinner while connecting,
 * slash commands. Everything a peer sent is sanitized before display.
 */
export class InteractiveUi implements ChatUi {
  private rl: readline.Interface | null = null
  private spinner: Ora | null = null
  private stallTimer: NodeJS.Timeout | null = null
  private controller: ChatController | null = null
  private readonly out: NodeJS.WritableStream & { columns?: number }
  private readonly now: () => number

  constructor(
    private readonly opts: UiOptions,
    private readonly makeSpinner: (o: { text: string; stream: NodeJS.WritableStream; discardStdin: boolean; isEnabled: boolean }) => Ora
  ) {
    this.out = opts.output.stdout
    this.now = opts.now ?? Date.now
  }

  private get c() {
    return this.opts.output.out
  }

  stage(stage: Stage, detail: string): void {
    if (!this.spinner) {
      // ora must not touch stdin (its default raw mode would swallow typing),
      // and animates whenever stderr is a terminal: its own check also turns
      // animation off whenever a CI variable is set, even in a real terminal.
      this.spinner = this.makeSpinner({
        text: detail,
        stream: this.opts.output.stderr,
        discardStdin: false,
        isEnabled: Boolean((this.opts.output.stderr as { isTTY?: boolean }).isTTY)
      }).start()
    } else {
      this.spinner.text = detail
    }
    if (this.stallTimer) clearTimeout(this.stallTimer)
    this.stallTimer = setTimeout(() => {
      if (this.spinner) this.spinner.text = STALL_HINTS[stage]
    }, 5000)
    this.stallTimer.unref()
  }

  private stopSpinner(how: 'succeed' | 'fail' | 'stop', text?: string): void {
    if (this.stallTimer) clearTimeout(this.stallTimer)
    this.stallTimer = null
    if (!this.spinner) return
    if (how === 'succeed') this.spinner.succeed(text)
    else if (how === 'fail') this.spinner.fail(text)
    else this.spinner.stop()
    this.spinner = null
  }

  ready(publicKey: string, z32: string, connectCommand: string): void {
    this.stopSpinner('succeed', `listening on ${publicKey}`)
    this.print(this.c.dim(`z-base-32: ${z32}`))
    this.print(`to chat, run: ${this.c.bold(connectCommand)}`)
    this.print(this.c.dim('type /help for commands'))
  }

  connected(peer: PeerInfo): void {
    this.stopSpinner('succeed', `connected to ${peer.key} (${formatPathSummary(peer)})`)
    this.print(this.c.dim('type /help for commands'))
  }

  peerJoined(peer: PeerInfo): void {
    this.system(`${this.name(peer)} joined (${peer.key}, ${formatPathSummary(peer)})`)
  }

  pathChanged(peer: PeerInfo, before: string): void {
    this.system(`path to ${this.name(peer)} changed: ${before} → ${formatPathSummary(peer)}`)
  }

  peerLeft(peer: PeerInfo, error: ChatError | null): void {
    this.system(`${this.name(peer)} left${error ? ` (${error.message})` : ''}`)
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
    this.system(text)
  }

  failed(error: ChatError): boolean {
    if (this.spinner) {
      this.stopSpinner('fail', error.message)
      return true
    }
    this.print(this.c.red(`error: ${error.message}`))
    return true
  }

  closed(reason: string | null): void {
    this.stopSpinner('stop')
    if (reason) this.system(reason)
  }

  start(controller: ChatController): void {
    this.controller = controller
    const rl = readline.createInterface({ input: this.opts.stdin, output: this.out, terminal: true, prompt: this.c.bold('> ') })
    this.rl = rl
    rl.on('line', (line) => this.onLine(line))
    // Ctrl+C in raw mode reaches readline, not the process: hand it on so the
    // one shutdown path (first graceful, second immediate) handles it.
    rl.on('SIGINT', () => process.kill(process.pid, 'SIGINT'))
    // A closed terminal (EIO, e.g. from readline's setRawMode): the same as losing stdout.
    rl.on('error', (err) => routeOutputLoss(err))
    rl.on('close', () => {
      if (this.rl === rl) {
        this.rl = null
        controller.inputEnded()
      }
    })
    rl.prompt()
  }

  drain(): void {}

  /** Stops reading input. A running spinner is left for failed()/closed() to end with its outcome. */
  stop(): void {
    const rl = this.rl
    this.rl = null
    rl?.close()
  }

  private onLine(line: string): void {
    const controller = this.controller!
    // Replace the echoed input line with the formatted message.
    this.eraseEchoedLine(line)
    const cmd = parseInput(line)
    switch (cmd.kind) {
      case 'text':
        if (cmd.text.length === 0) break
        controller.send([Buffer.from(cmd.text)])
        this.print(`${this.stamp()}${this.c.bold('you')}${this.c.dim(':')} ${sanitize(cmd.text)}`)
        break
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
      case 'quit':
        controller.quit()
        return
      case 'clear':
        this.out.write('\x1b[2J\x1b[3J\x1b[H')
        break
      case 'send-to': {
        if (controller.role !== 'listen') {
          this.system('/send-to works on a listener; here every line goes to the one peer')
          break
        }
        const error = controller.sendTo(cmd.target, cmd.text)
        if (error) this.system(error)
        else this.print(`${this.stamp()}${this.c.bold(`you → ${cmd.target}`)}${this.c.dim(':')} ${sanitize(cmd.text)}`)
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

  private eraseEchoedLine(line: string): void {
    const columns = this.out.columns || 80
    const rows = Math.max(1, Math.ceil((2 + line.length) / columns))
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

  /** Prints above the input line, then redraws the prompt with what was half-typed. */
  private print(text: string): void {
    const rl = this.rl
    if (!rl) {
      this.out.write(text + '\n')
      return
    }
    // Go to where the prompt starts (the half-typed line may wrap), clear it,
    // print, then let readline redraw the prompt, the text and the cursor.
    const { rows } = rl.getCursorPos()
    readline.moveCursor(this.out, 0, -rows)
    readline.cursorTo(this.out, 0)
    readline.clearScreenDown(this.out)
    this.out.write(text + '\n')
    rl.prompt(true)
  }
}
