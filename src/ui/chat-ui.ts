import { ChatError } from '../core/errors.js'
import type { Line } from '../core/peer/framing.js'
import type { PeerInfo, Sender } from '../core/peer/connection.js'
import type { OwnLine } from '../core/peer/conversation.js'
import type { PairingNews, RelayNews, Stage } from './events.js'
import type { Output } from './output.js'

export type { Stage } from './events.js'

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

/** What the UI may ask of the running chat (connect's Connector, or the listener's room). */
export interface ChatController {
  role: 'listen' | 'connect'
  peers(): PeerInfo[]
  /** Sends lines (without their \n) to every peer (listen) or the peer (connect), in one write. */
  send(lines: Uint8Array[]): Sent
  /** listen only: one peer by name or key prefix; `no-such-peer` when none, or several (`matches`), fit. */
  sendTo?(target: string, text: string): Sent | { fate: 'no-such-peer'; matches: number }
  /** Piped input ended (stdin EOF). In a terminal, Ctrl+D calls quit() instead. */
  inputEnded(): void
  quit(): void
  /** listen: opens a new invite code (replacing an open one); returns why not, or null (the code is shown when open). */
  invite?(): string | null
}

/** Everything a person (or a script) sees of a chat. Three implementations: interactive, pipe, JSON. */
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
  relay(news: RelayNews): void
  /** Invite codes and contacts learnt by pairing: a notice (a loud one with `warning`), or a `pairing` event in --json. */
  pairing(news: PairingNews): void
  /** A multi-line block of our own text, shown as it is (a QR code). */
  block(text: string): void
  /**
   * The session failed: take down what would garble the error line (a
   * spinner). The error itself is printed by the top level (src/cli.ts), the
   * same in every mode: one `p2pchat: …` line on stderr (and with --json an
   * `error` event).
   */
  failed(): void
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

export type UiMode = 'interactive' | 'pipe' | 'json'

export function chooseMode(opts: { json?: boolean }, stdin: { isTTY?: boolean }, stdout: { isTTY?: boolean }): UiMode {
  if (opts.json) return 'json'
  return stdin.isTTY && stdout.isTTY ? 'interactive' : 'pipe'
}

/** The UI for a mode; each is loaded only when chosen. */
export async function createUi(mode: UiMode, opts: UiOptions): Promise<ChatUi> {
  if (mode === 'json') return new (await import('./json.js')).JsonUi(opts)
  if (mode === 'pipe') return new (await import('./pipe.js')).PipeUi(opts)
  const [{ InteractiveUi }, { default: ora }] = await Promise.all([import('./interactive/view.js'), import('ora')])
  return new InteractiveUi(opts, ora)
}

/** Readies the UI for the error the top level prints (whatever the error: an internal one too). */
export function showFailure(err: unknown, ui: ChatUi): unknown {
  ui.failed()
  return err
}
