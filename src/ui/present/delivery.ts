import type { Sender } from '../../core/peer/connection.js'
import type { Conversation, OwnLine } from '../../core/peer/conversation.js'
import type { ChatUi } from '../chat-ui.js'
import { describeLines } from '../format.js'

/** Shows what becomes of our lines: acknowledgements, lines still waiting, lines not delivered. */
export function showDelivery(conversation: Conversation, ui: ChatUi): void {
  conversation.on('delivered', (peer, upTo) => ui.delivered(peer, upTo))
  conversation.on('confirmed', (upTo) => ui.confirmed(upTo))
  conversation.on('pending', (peer, lines) => ui.pending(peer, lines))
  conversation.on('undelivered', (peer, lines, kept) => ui.undelivered(peer, lines, kept))
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
