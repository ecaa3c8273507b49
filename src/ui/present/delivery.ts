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

/** A line half typed when the prompt went away (the chat ended): it was not sent, and the person is told. */
export function unsentTypingNotice(typed: string): string {
  const shown = [...typed]
  const quoted = shown.length > TYPED_SHOWN ? shown.slice(0, TYPED_SHOWN - 1).join('') + '…' : typed
  return `not sent (you were typing): ${JSON.stringify(quoted)}`
}
/** How much of a half-typed line the notice quotes, in characters. */
const TYPED_SHOWN = 60

export function undeliveredNotice(peer: Sender, lines: OwnLine[], kept: boolean): string {
  const what = describeLines(lines)
  return kept
    ? `connection to ${peer.name} lost before it acknowledged ${what}: kept in the outbox, sent again first when reconnected`
    : `not delivered to ${peer.name}: ${what}`
}
