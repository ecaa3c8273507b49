import { MAX_RUNS, type Invitation } from '../../core/invite/invitation.js'
import type { Invites } from '../../core/invite/invites.js'
import { inSeconds } from '../../core/errors.js'
import type { Remembered } from '../../core/store/contacts.js'
import { toHex } from '../../core/store/keys.js'
import type { ChatUi } from '../chat-ui.js'
import type { ShowQr } from './room.js'

/*
 * The words of pairing by invite code, on both ends: the inviter's code and
 * its fate (listen), the joiner's result (connect CODE), and a contact whose
 * key changed.
 */

export interface InviteWords {
  /** How many peers a code pairs. */
  uses: number
  expiresMs: number
  /** The contact name offered to joiners. */
  name: string
  /** What to append to `p2pchat connect CODE` (the --bootstrap a private network needs). */
  bootstrapFlag: string
  /** How to get a new code (`type /invite` in a terminal). */
  newCodeHint: string
  /** --qr: draws a text as a QR code (see qrPresenter); each code's command is drawn too. */
  qr?: ShowQr | null
}

/** Shows a listener's codes: each one opened, who paired, and how each one ended. */
export function presentInvites(invites: Invites, ui: ChatUi, words: InviteWords): void {
  invites.on('replaced', (previous) =>
    ui.pairing({ event: 'replaced', code: previous.code.text, text: `invite code ${previous.code.text} closed: replaced by a new one` })
  )
  invites.on('opened', (inv) => presentInvitation(inv, ui, words))
  invites.on('saved', (_inv, peer, left, saved) => {
    const hex = toHex(peer.key)
    const fields = { key: hex, name: peer.name, savedAs: saved.savedAs, usesLeft: left }
    showKeyChanged(ui, `the key that paired as ${saved.conflict?.name} (${hex})`, hex, saved, fields)
    const how = saved.already ? `already saved as contact ${saved.savedAs}` : `saved as contact ${saved.savedAs}`
    ui.pairing({
      event: 'paired',
      ...fields,
      text: `paired with ${saved.savedAs} (${hex}) by invite code: ${how}; ${left > 0 ? `the code pairs ${left} more` : 'the code is used up'}`
    })
  })
  invites.on('own', (_inv, peer, left) => {
    const hex = toHex(peer.key)
    ui.pairing({
      event: 'paired',
      key: hex,
      name: peer.name,
      savedAs: null,
      usesLeft: left,
      warning: true,
      text: `the invite code was used by this listener's own identity (${hex}), e.g. a connect on this machine with the same identity: nothing was saved; ${left > 0 ? `the code pairs ${left} more` : 'the code is used up'}`
    })
  })
  invites.on('save-failed', (_inv, peer, left, err) => {
    const hex = toHex(peer.key)
    ui.pairing({
      event: 'paired',
      key: hex,
      name: peer.name,
      savedAs: null,
      usesLeft: left,
      warning: true,
      text: `paired with ${hex} by invite code, but could not save the contact: ${err instanceof Error ? err.message : String(err)}`
    })
  })
}

function presentInvitation(inv: Invitation, ui: ChatUi, words: InviteWords): void {
  const { uses, expiresMs, name, newCodeHint } = words
  const code = inv.code.text
  const command = `p2pchat connect ${code}${words.bootstrapFlag}`
  // A time today; a date too when it is further off (up to a week).
  const at = inv.expiresAt
  const expires = expiresMs < 12 * 3_600_000 ? at.toTimeString().slice(0, 5) : `${at.toDateString().slice(4, 10)} ${at.toTimeString().slice(0, 5)}`
  ui.pairing({
    event: 'invite',
    code,
    uses,
    expiresAt: at.toISOString(),
    command,
    name,
    text: `invite code: ${code} — it pairs ${uses === 1 ? 'one peer' : `${uses} peers`} and expires at ${expires} (in ${formatMinutes(expiresMs)}); one wrong guess burns it. They run: ${command}`
  })
  words.qr?.(ui, `the command that pairs by invite code ${code}`, command)
  inv.on('contested', (other) =>
    ui.pairing({
      event: 'contested',
      nameplate: inv.code.nameplate,
      otherKey: toHex(other),
      warning: true,
      text: `someone else (${toHex(other).slice(0, 8)}) also announces invite number ${inv.code.nameplate}: joiners will see two and refuse to send the words (no guess is given away); for a working code, ${newCodeHint}`
    })
  )
  inv.on('busy', () =>
    ui.pairing({
      event: 'busy',
      nameplate: inv.code.nameplate,
      slots: MAX_RUNS,
      warning: true,
      text: `invite code ${inv.code.nameplate}-…: strangers hold all ${MAX_RUNS} of its rendezvous slots, so joiners are turned away for now (they are told that nothing was sent and they may retry); if it goes on, give out a fresh code: ${newCodeHint}`
    })
  )
  inv.on('wrong-code', () =>
    ui.pairing({
      event: 'wrong-code',
      nameplate: inv.code.nameplate,
      warning: true,
      text: `someone tried invite code ${inv.code.nameplate}-… with wrong words: the code is burned and pairs nobody now (for a new code, ${newCodeHint})`
    })
  )
  inv.on('ended', (reason) => {
    if (reason === 'expired') ui.pairing({ event: 'expired', code, text: `invite code ${code} expired${inv.remaining < uses ? '' : ' unused'}` })
  })
}

/**
 * `connect CODE`: paired with the inviter, saved (or found) as a contact.
 * `bootstrapFlag`: what the next time's command needs on a private network (see bootstrapFlag()).
 */
export function presentInviterPaired(ui: ChatUi, inviter: { key: Buffer; name: string }, saved: Remembered, offered: string, bootstrapFlag: string): void {
  const keyHex = toHex(inviter.key)
  const fields = { key: keyHex, name: inviter.name, savedAs: saved.savedAs, offeredAs: offered }
  showKeyChanged(ui, `the inviter's key ${keyHex}`, keyHex, saved, fields)
  const how = saved.already ? `already saved as contact ${saved.savedAs}` : `saved as contact ${saved.savedAs}`
  ui.pairing({
    event: 'paired',
    ...fields,
    text: `paired with ${keyHex} by invite code (${how}; you offered the name ${offered}); next time: p2pchat connect ${saved.savedAs}${bootstrapFlag}`
  })
}

/** What the listener says while a code is being opened. */
export const OPENING_INVITE = 'opening an invite code: picking a free number, announcing its rendezvous…'

/** /invite: why not now, and when opening failed. */
export const inviteWords = {
  busy: 'an invite code is being opened',
  failed: (err: unknown) => `could not open an invite code: ${err instanceof Error ? err.message : String(err)}`,
  newCodeHint: (interactive: boolean) => (interactive ? 'type /invite' : 'run listen --invite again')
}

/**
 * A key learnt by pairing came with a name already saved for another key
 * (both ends: connect for the inviter, listen for a joiner): said loudly,
 * with the command for a real key change. `subject` names the new key.
 */
function showKeyChanged(
  ui: ChatUi,
  subject: string,
  hex: string,
  saved: Remembered,
  fields: { key: string; name: string; savedAs: string; usesLeft?: number; offeredAs?: string }
): void {
  const c = saved.conflict
  if (!c) return
  ui.pairing({
    event: 'contact-key-changed',
    ...fields,
    contact: c.name,
    oldKey: c.oldKey,
    warning: true,
    text: `${subject} is not the key saved as ${c.name} (${c.oldKey}): a new identity, or someone else. Saved as ${saved.savedAs}; ${c.name} is unchanged (if this really is ${c.name}'s new key: p2pchat contacts add ${c.name} ${hex} --force)`
  })
}

function formatMinutes(ms: number): string {
  const min = ms / 60_000
  return min >= 1 ? `${Number.isInteger(min) ? min : min.toFixed(1)} min` : inSeconds(ms)
}
