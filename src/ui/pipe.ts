import type { ChatError } from '../core/errors.js'
import type { PeerInfo, Sender } from '../core/peer/connection.js'
import type { OwnLine } from '../core/peer/conversation.js'
import { encodeLines, type Line } from '../core/peer/framing.js'
import { prefixLines, senderPrefix } from '../core/peer/room-lines.js'
import type { ChatController, ChatUi, Stage, UiOptions } from './chat-ui.js'
import type { PairingNews, RelayNews } from './events.js'
import { connectedText, formatPathSummary, formatSafetyWords, lineNotice } from './format.js'
import { startRawInput, type LineSource } from './input.js'
import { pendingNotice, undeliveredNotice } from './present/delivery.js'
import { sanitizeLine } from './sanitize.js'

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
    this.notice(connectedText(peer, reconnect))
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
    const shown = this.sanitize ? lines.map((l) => ({ bytes: Buffer.from(sanitizeLine(l)), droppedBytes: 0 })) : lines
    // The whole batch in one buffer: exactly the peer's bytes, prefixed by the sender on a listener.
    this.opts.output.write(this.role === 'listen' ? prefixLines(senderPrefix(peer.name), shown) : encodeLines(shown.map((l) => l.bytes)))
  }
  notice(text: string): void {
    this.opts.output.notice(text)
  }
  relay(news: RelayNews): void {
    this.notice(news.text)
  }
  pairing(news: PairingNews): void {
    this.notice(news.warning ? `WARNING: ${news.text}` : news.text)
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
  failed(): void {}
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
