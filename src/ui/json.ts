import type { ChatError } from '../core/errors.js'
import type { PeerInfo, Sender } from '../core/peer/connection.js'
import type { OwnLine } from '../core/peer/conversation.js'
import type { Line } from '../core/peer/framing.js'
import type { ChatController, ChatUi, Sent, Stage, UiOptions } from './chat-ui.js'
import { timed, type JsonEventBody, type MessageEvent, type PairingNews, type PeerFields, type RelayNews } from './events.js'
import { startRawInput, type LineSource } from './input.js'
import { decodeUtf8 } from './sanitize.js'

/** --json: one JSON object per line on stdout for every event. */
export class JsonUi implements ChatUi {
  private input: LineSource | null = null
  constructor(private readonly opts: UiOptions) {}

  private emit(event: JsonEventBody): void {
    this.opts.output.json(timed(event, (this.opts.now ?? Date.now)()))
  }

  /** The same fields for a peer in every event that describes one. */
  private peer(peer: PeerInfo): PeerFields {
    return { key: peer.key, name: peer.name, address: peer.address, path: peer.path, relay: peer.relay, ...(peer.relayName ? { relayName: peer.relayName } : {}), rttMs: peer.rttMs }
  }

  stage(stage: Stage, detail: string): void {
    this.emit({ type: 'status', stage, detail })
  }
  ready(publicKey: string, z32: string): void {
    this.emit({ type: 'ready', publicKey, z32 })
  }
  connected(peer: PeerInfo, reconnect = false): void {
    this.emit({ type: 'connected', remoteKey: peer.key, ...this.peer(peer), safetyWords: peer.safetyWords ?? null, reconnect })
  }
  pathChanged(peer: PeerInfo, before: string): void {
    this.emit({ type: 'path-changed', ...this.peer(peer), before })
  }
  peerJoined(peer: PeerInfo): void {
    this.emit({ type: 'peer-joined', ...this.peer(peer), safetyWords: peer.safetyWords ?? null })
  }
  peerLeft(peer: PeerInfo, error: ChatError | null): void {
    this.emit({ type: 'peer-left', key: peer.key, name: peer.name, reason: error ? error.message : null })
  }
  messages(peer: Sender, lines: Line[]): void {
    for (const line of lines) this.message(peer, line)
  }
  private message(peer: Sender, line: Line): void {
    const event: MessageEvent = { type: 'message', from: peer.key, name: peer.name, text: decodeUtf8(line.bytes) }
    if (line.droppedBytes > 0) event.droppedBytes = line.droppedBytes
    this.emit(event)
  }
  notice(text: string): void {
    this.emit({ type: 'notice', text })
  }
  relay(news: RelayNews): void {
    // `text` last, as the fields came before it was added to the event.
    const { text, ...fields } = news
    this.emit({ type: 'relay', ...fields, text } as JsonEventBody)
  }
  pairing(news: PairingNews): void {
    const { text, warning, ...fields } = news
    this.emit({ type: 'pairing', ...fields, ...(warning ? { warning } : {}), text } as JsonEventBody)
  }
  /** One `sent` event per line, with its sequence number (and, on a listener, who it went to). */
  sent(lines: Uint8Array[], sent: Sent): void {
    if (sent.first === undefined) return
    const to = sent.to ? { to: sent.to.map((p) => p.key) } : {}
    lines.forEach((bytes, i) => this.emit({ type: 'sent', seq: sent.first! + i, text: decodeUtf8(bytes), queued: sent.fate === 'queued', ...to }))
  }
  delivered(peer: Sender, upTo: number): void {
    this.emit({ type: 'delivered', key: peer.key, name: peer.name, upTo })
  }
  confirmed(): void {}
  pending(peer: Sender, lines: OwnLine[]): void {
    this.emit({ type: 'pending', key: peer.key, name: peer.name, seqs: lines.map((l) => l.seq) })
  }
  undelivered(peer: Sender, lines: OwnLine[], kept: boolean): void {
    this.emit({ type: 'undelivered', key: peer.key, name: peer.name, seqs: lines.map((l) => l.seq), kept })
  }
  block(text: string): void {
    this.emit({ type: 'notice', text })
  }
  failed(): void {
    // The `error` event is printed by the top-level catch (src/cli.ts), for
    // every error of a --json command, also those before this UI existed.
  }
  closed(reason: string | null): void {
    this.emit({ type: 'closed', reason })
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

