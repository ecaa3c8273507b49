import type { AllowList } from '../store/allowlist.js'
import type { ContactBook } from '../store/contacts.js'

export interface AdmissionOptions {
  book: ContactBook
  /** --allow and --allow-file; null when neither was given. */
  allowList: AllowList | null
  /** --allow-contacts: exactly the keys in the address book. */
  allowContacts: boolean
}

/**
 * Who may join a listener's room, and what each key is called there. With
 * no allow list and no --allow-contacts, everybody. Keys paired by invite
 * code in this run are admitted whatever the lists say (the code was the
 * invitation), and named from the moment they paired: the joiner's chat
 * connection can arrive before its contact is written.
 */
export class Admission {
  private readonly paired = new Set<string>()
  private readonly pairedNames = new Map<string, string>()

  constructor(private readonly opts: AdmissionOptions) {}

  /** Whether anyone at all is turned away. */
  get restricted(): boolean {
    return this.opts.allowList !== null || this.opts.allowContacts
  }

  admits(keyHex: string): boolean {
    if (!this.restricted) return true
    return (
      this.paired.has(keyHex) ||
      (this.opts.allowList?.allows(keyHex) ?? false) ||
      (this.opts.allowContacts && this.opts.book.current.nameOf(keyHex) !== undefined)
    )
  }

  /**
   * A key paired by invite code: admitted from now on, and called `name`
   * until its contact is saved, unless that name belongs to another key
   * (then it is a stranger until saved under another name).
   */
  pairedWith(keyHex: string, name: string): void {
    this.paired.add(keyHex)
    const taken = name ? this.opts.book.current.keyOf(name) : undefined
    if (name && (taken === undefined || taken === keyHex)) this.pairedNames.set(keyHex, name)
  }

  /** The contact name of a key, if it has one. */
  nameOf(keyHex: string): string | undefined {
    return this.opts.book.current.nameOf(keyHex) ?? this.pairedNames.get(keyHex)
  }

  /** What the room calls a key: its contact name, else its first 8 hex characters. */
  displayName(keyHex: string): string {
    return this.nameOf(keyHex) ?? keyHex.slice(0, 8)
  }
}
