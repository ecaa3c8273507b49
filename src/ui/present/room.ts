import type { ChatListener } from '../../core/roles/listener.js'
import type { PeerConnection } from '../../core/peer/connection.js'
import type { AllowList } from '../../core/store/allowlist.js'
import type { ContactBook } from '../../core/store/contacts.js'
import type { ChatUi } from '../chat-ui.js'
import { clockTime, describeLines, formatPathSummary } from '../format.js'
import { showDelivery } from './delivery.js'

/*
 * The words of a listener's room: who joins, leaves and is refused, a peer
 * over its rate limit, the listener's own announcement, and its guest list
 * (contacts and allow file) changing under it.
 */

export const ANNOUNCING = 'checking that no other listener serves this identity, then announcing the key…'
export const LISTENER_STOPPED = 'listener stopped'

/** The command that joins this listener, as printed for the other side. */
export function connectCommand(keyHex: string, bootstrapFlag: string): string {
  return `p2pchat connect ${keyHex}${bootstrapFlag}`
}

/** Draws `text` as a QR code under a notice saying what it is (`the key`). */
export type ShowQr = (ui: ChatUi, what: string, text: string) => void

/** listen --qr: what draws the key and each invite code's command as QR codes (its renderer loaded only then). */
export async function qrPresenter(): Promise<ShowQr> {
  const { renderQr } = await import('../qr.js')
  return (ui, what, text) => {
    ui.notice(`scan to get ${what}:`)
    ui.block(renderQr(text))
  }
}

/** How often the notice about one peer over its rate limit may repeat. */
const THROTTLE_NOTICE_MS = 5000

export interface RoomWords {
  /** --max-peers, for "the room is full (N peers)". */
  maxPeers?: number
  /** While true, departures are not announced (we are closing the room ourselves). */
  stopping: () => boolean
}

/** Shows everything a ChatListener does. */
export function presentRoom(room: ChatListener, ui: ChatUi, words: RoomWords): void {
  const paths = new WeakMap<PeerConnection, string>()
  showDelivery(room.conversation, ui)
  room.on('peer-joined', (peer) => {
    paths.set(peer, formatPathSummary(peer.info()))
    ui.peerJoined(peer.info())
  })
  room.on('path-changed', (peer) => {
    const info = peer.info()
    ui.pathChanged(info, paths.get(peer) ?? 'unknown')
    paths.set(peer, formatPathSummary(info))
  })
  room.on('peer-left', (peer, error) => {
    if (!words.stopping()) ui.peerLeft(peer.info(), error)
  })
  room.on('held-unsent', (lines) => ui.notice(`no peer joined: ${describeLines(lines)} not sent`))
  room.on('messages', (peer, lines) => ui.messages(peer.sender(), lines))
  room.on('drain', () => ui.drain())
  room.on('refused', (hex, reason) => {
    const max = words.maxPeers
    const why =
      reason === 'full'
        ? `the room is full (${max} peer${max === 1 ? '' : 's'})`
        : reason === 'self'
          ? "it is this listener's own key (this listener never joins its own room)"
          : reason === 'relay'
            ? 'it asked to be relayed through this listener itself, through its own key or through a member (chat keys are never relays)'
            : 'not on the allow list'
    const name = room.peerName(hex)
    // The local clock, as every other time a person reads (`--timestamps`, an invite's expiry).
    ui.notice(`refused ${name} (${hex}) at ${clockTime(Date.now())}: ${why}; refused so far: ${room.refusedCount}`)
  })
  // One notice per peer every few seconds, with the count, not one per chunk.
  const throttled = new WeakMap<PeerConnection, { at: number; dropped: number }>()
  room.on('throttled', (peer, n) => {
    const now = Date.now()
    const t = throttled.get(peer) ?? { at: 0, dropped: 0 }
    t.dropped += n
    throttled.set(peer, t)
    if (now - t.at < THROTTLE_NOTICE_MS) return
    ui.notice(`${peer.info().name} is sending too fast: over its rate limit, ${t.dropped} line${t.dropped === 1 ? '' : 's'} dropped so far`)
    t.at = now
  })
  // Forwarded lines dropped for members that could not take them: one notice
  // per sender every few seconds, with the count for each receiver so far.
  const notForwarded = new WeakMap<PeerConnection, { at: number; timer: NodeJS.Timeout | null; to: Map<PeerConnection, number> }>()
  room.on('not-forwarded', (sender, receiver, n) => {
    const t = notForwarded.get(sender) ?? { at: 0, timer: null, to: new Map<PeerConnection, number>() }
    notForwarded.set(sender, t)
    t.to.set(receiver, (t.to.get(receiver) ?? 0) + n)
    if (t.timer) return
    const tell = () => {
      t.timer = null
      t.at = Date.now()
      let total = 0
      for (const count of t.to.values()) total += count
      const receivers = [...t.to].map(([peer, count]) => `${peer.info().name} (${count})`).join(', ')
      ui.notice(
        `${total} line${total === 1 ? '' : 's'} from ${sender.info().name} ${total === 1 ? 'was' : 'were'} not forwarded to ${receivers} so far: it sends faster than they can take, so its excess is dropped (nobody is disconnected for it)`
      )
    }
    const wait = t.at + THROTTLE_NOTICE_MS - Date.now()
    if (wait <= 0) tell()
    else t.timer = setTimeout(tell, wait).unref()
  })
  room.on('probed', (verdict) => {
    if (verdict === 'stale') ui.notice('a previous listener with this identity did not answer (it crashed or lost its network): replacing its stale announcement')
    if (verdict === 'unknown') ui.notice('could not tell in time whether another listener serves this identity; announcing anyway')
  })
  room.on('rival', () => ui.notice('another listener with this identity tried to start and was refused'))
  room.on('address-changed', (from, to) =>
    ui.notice(`this network's public address changed (${from.host}:${from.port} -> ${to.host}:${to.port}): announcing the key again from the new one`)
  )
  room.on('reannounced', () =>
    ui.notice('the announcement of this key was lost (another process with this identity announced it and left?): announcing it again')
  )
}

/** Shows the guest list changing: the address book and the allow file, re-read when they change. */
export function presentGuestList(book: ContactBook, allowList: AllowList | null, ui: ChatUi): void {
  // Only news from outside (`contacts add` elsewhere): our own save (a joiner paired by code) is told as `paired with`.
  book.on('changed', (current, ours) => {
    if (!ours) ui.notice(`contacts reloaded: ${current.size} name${current.size === 1 ? '' : 's'}`)
  })
  book.on('error', (err) => ui.notice(`contacts not reloaded, keeping the previous names: ${err.message}`))
  allowList?.on('reloaded', (count) => ui.notice(`allow file reloaded: ${count} key${count === 1 ? '' : 's'}`))
  allowList?.on('error', (err) => ui.notice(`allow file not reloaded, keeping the previous list: ${err.message}`))
}

export interface GuestListSources {
  allow?: string[]
  allowFile?: string
  allowContacts?: boolean
  invite?: boolean
}

/** What a listener with an allow list says when it starts: who may join. */
export function describeAllowList(count: number, contacts: number, opts: GuestListSources): string {
  const from = [
    opts.allow?.length ? '--allow' : '',
    opts.allowFile !== undefined ? `--allow-file ${opts.allowFile}, re-read when it changes` : '',
    opts.allowContacts ? `--allow-contacts: your ${contacts} contact${contacts === 1 ? '' : 's'}, re-read when they change` : ''
  ]
    .filter(Boolean)
    .join(' and ')
  const invited = opts.invite ? ' and whoever pairs by the invite code' : ''
  if (count === 0 && !(opts.allowContacts && contacts > 0)) {
    return opts.invite ? `only whoever pairs by the invite code may join for now: the allow list is empty (${from})` : `no key may join yet: the allow list is empty (${from})`
  }
  if (!opts.allowFile && !opts.allow?.length) return `only your contacts${invited} may join (${from}); others are refused`
  return `only ${count} allowed key${count === 1 ? '' : 's'}${opts.allowContacts ? ', your contacts' : ''}${invited} may join (${from}); others are refused`
}
