import { EventEmitter } from 'node:events'
import type DHT from 'hyperdht'
import type { KeyPair } from 'hyperdht'
import type { ContactBook, Remembered } from '../store/contacts.js'
import { toHex } from '../store/keys.js'
import { Invitation } from './invitation.js'
import type { PairedPeer } from './protocol.js'

export interface InvitesOptions {
  identity: KeyPair
  /** The contact name offered to joiners. */
  name: string
  uses: number
  expiresMs: number
  relayThrough: Buffer[]
  /** Where joiners are saved as contacts (taken at once after each save). */
  book: ContactBook
  /** A joiner proved the code: admit it and name it from now on (before its contact is saved). */
  onPaired: (keyHex: string, name: string) => void
}

export interface InvitesEvents {
  /** A new code is open (its own events: paired, contested, busy, wrong-code, ended). */
  opened: [invitation: Invitation]
  /** The code still open was closed for a new one. */
  replaced: [previous: Invitation]
  /** A joiner paired and was saved as a contact (`saved`), or could not be saved (`error`). */
  saved: [invitation: Invitation, peer: PairedPeer, usesLeft: number, saved: Remembered]
  'save-failed': [invitation: Invitation, peer: PairedPeer, usesLeft: number, error: unknown]
  /** The joiner runs as this listener's own identity (one identity on both sides, e.g. on one machine): not saved. */
  own: [invitation: Invitation, peer: PairedPeer, usesLeft: number]
}

/**
 * A listener's invite codes: one open at a time (from --invite at start, or
 * /invite later, which replaces the open one), and every joiner saved as a
 * contact (never over another key: see rememberPeer).
 */
export class Invites extends EventEmitter<InvitesEvents> {
  private current: Invitation | null = null
  private opening = false
  private closed = false

  constructor(
    private readonly dht: DHT,
    private readonly opts: InvitesOptions
  ) {
    super()
  }

  /** A code is being opened now. */
  get busy(): boolean {
    return this.opening
  }

  /** Opens a new code, closing the one still open first. */
  async open(): Promise<void> {
    this.opening = true
    try {
      const previous = this.current
      if (previous && previous.ended === null) {
        await previous.close()
        this.emit('replaced', previous)
      }
      const { identity, name, uses, expiresMs, relayThrough } = this.opts
      const invitation = await Invitation.open(this.dht, { identity, name, uses, expiresMs, relayThrough })
      if (this.closed) return void (await invitation.close())
      this.current = invitation
      // The UI may be gone (stdout lost): nothing left to tell then.
      invitation.on('paired', (peer, left) => void this.remember(invitation, peer, left).catch(() => {}))
      this.emit('opened', invitation)
    } finally {
      this.opening = false
    }
  }

  private async remember(invitation: Invitation, peer: PairedPeer, left: number): Promise<void> {
    const hex = toHex(peer.key)
    // Ourselves: nothing to admit or save (the joiner is told so too).
    if (peer.key.equals(this.opts.identity.publicKey)) return void this.emit('own', invitation, peer, left)
    this.opts.onPaired(hex, peer.name)
    let saved: Remembered
    try {
      // The book takes the new name at once (the file watch would take a moment): the joiner is already on its way.
      saved = await this.opts.book.remember(hex, peer.name || 'peer')
    } catch (err) {
      this.emit('save-failed', invitation, peer, left, err)
      return
    }
    this.emit('saved', invitation, peer, left, saved)
  }

  /** Closes the open code, if any (idempotent). */
  async close(): Promise<void> {
    this.closed = true
    await this.current?.close()
  }
}
