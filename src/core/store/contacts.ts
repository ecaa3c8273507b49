import { EventEmitter } from 'node:events'
import path from 'node:path'
import { ChatError } from '../errors.js'
import { explainFsError, FileError, readRegularFile, watchFile, withFileLock, writeFileAtomic } from './fsutil.js'
import { isKey, parseKey } from './keys.js'

/** An address book: names for public keys. Stored as JSON, 0600, next to the identity. */
export class Contacts {
  private readonly byName: Map<string, string>
  private readonly byKey: Map<string, string>
  /** Why there are no names: the file is there but corrupt or unreadable (see unreadable()). */
  private unreadableBecause: ChatError | null = null

  /** The codes of a contacts file that exists but cannot be used: names are unavailable, keys still work. */
  static readonly UNREADABLE_CODES: ReadonlySet<string> = new Set(['CONTACTS_CORRUPT', 'CONTACTS_UNREADABLE'])

  /** A book with no names because its file could not be used: looking a name up fails with `problem` (a key still resolves). */
  static unreadable(problem: ChatError): Contacts {
    const contacts = new Contacts()
    contacts.unreadableBecause = problem
    return contacts
  }

  constructor(entries: Iterable<[name: string, keyHex: string]> = []) {
    this.byName = new Map(entries)
    this.byKey = new Map([...this.byName].map(([n, k]) => [k, n]))
  }

  get size(): number {
    return this.byName.size
  }

  list(): Array<{ name: string; key: string }> {
    return [...this.byName].map(([name, key]) => ({ name, key })).sort((a, b) => a.name.localeCompare(b.name))
  }

  keyOf(name: string): string | undefined {
    return this.byName.get(name)
  }

  nameOf(keyHex: string): string | undefined {
    return this.byKey.get(keyHex)
  }

  /** The contact name for a key, else its short key: what the UI shows. */
  displayName(keyHex: string): string {
    return this.byKey.get(keyHex) ?? keyHex.slice(0, 8)
  }

  /** A key given as hex, z32 or a contact name. Throws INVALID_KEY for anything else. */
  resolve(keyOrName: string): Buffer {
    const trimmed = keyOrName.trim()
    const key = this.byName.get(trimmed)
    if (key) return Buffer.from(key, 'hex')
    if (isKey(trimmed) || !NAME.test(trimmed)) return parseKey(trimmed)
    throw this.unreadableBecause ?? ChatError.notKeyNorContact(trimmed)
  }

  with(name: string, keyHex: string): Contacts {
    return new Contacts([...[...this.byName].filter(([n]) => n !== name), [name, keyHex]])
  }

  without(name: string): Contacts {
    return new Contacts([...this.byName].filter(([n]) => n !== name))
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/

export function validateContactName(name: string): void {
  if (!NAME.test(name)) {
    throw ChatError.usage(`invalid contact name ${JSON.stringify(name)}: use 1-32 letters, digits, '.', '_' or '-', starting with a letter or digit`)
  }
  if (isKey(name)) throw ChatError.usage(`invalid contact name ${JSON.stringify(name)}: it looks like a key`)
  // `connect 7-orbit-tunnel-maple` must stay an invite code.
  if (CODE_LIKE_NAME.test(name)) throw ChatError.usage(`invalid contact name ${JSON.stringify(name)}: it looks like an invite code (a number, then words)`)
}

const CODE_LIKE_NAME = /^\d+-[A-Za-z]/

export function isValidContactName(name: string): boolean {
  return NAME.test(name) && !isKey(name) && !CODE_LIKE_NAME.test(name)
}

/** A name a peer may offer when pairing: a valid contact name that cannot pass for the short key shown for a stranger either. */
export function isOfferableName(name: string): boolean {
  return isValidContactName(name) && !/^[0-9a-f]{8,}$/i.test(name)
}

/**
 * The name we offer to people we pair with, when none is given: the login
 * name, made a valid contact name ('peer' when nothing is left of it).
 */
export function defaultOfferedName(login: string | undefined): string {
  const cleaned = (login ?? '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 32)
  return cleaned && isValidContactName(cleaned) ? cleaned : 'peer'
}

/** What rememberPeer did with a key learnt by pairing. */
export interface Remembered {
  /** The name the key is saved under now. */
  savedAs: string
  /** The key was already saved (under savedAs): nothing changed. */
  already: boolean
  /**
   * The wanted name was saved with another key: a contact's key changed (a
   * new identity, or someone else). Never replaced silently: the new key is
   * saved under another name (savedAs) and the caller flags it loudly.
   */
  conflict: { name: string; oldKey: string } | null
}

/**
 * Saves a key learnt by pairing, under `wanted` (the name the peer offered,
 * or the one the user chose). A key already saved keeps its name; a name
 * taken by another key is never overwritten (see Remembered.conflict).
 */
export async function rememberPeer(file: string, keyHex: string, wanted: string, onWrite?: (next: Contacts) => void): Promise<Remembered> {
  const name = isValidContactName(wanted) ? wanted : 'peer'
  return updateContacts<Remembered>(
    file,
    (contacts) => {
    const known = contacts.nameOf(keyHex)
    if (known) return { next: contacts, result: { savedAs: known, already: true, conflict: null } }
    const oldKey = contacts.keyOf(name)
    if (!oldKey) return { next: contacts.with(name, keyHex), result: { savedAs: name, already: false, conflict: null } }
    let n = 2
    let free = `${name.slice(0, 29)}-${n}`
    while (contacts.keyOf(free)) free = `${name.slice(0, 29)}-${++n}`
    return { next: contacts.with(free, keyHex), result: { savedAs: free, already: false, conflict: { name, oldKey } } }
    },
    onWrite
  )
}

export function defaultContactsPath(identityDir: string): string {
  return path.join(identityDir, 'contacts.json')
}

const MAX_CONTACTS_BYTES = 1024 * 1024

function contactsIoError(err: unknown, file: string, action: 'read' | 'write' | 'lock'): ChatError {
  return ChatError.contactsIo(file, action, explainFsError(err, file).reason, err)
}

/** Reads the address book; a missing file is an empty one. Never blocks on a special file. */
export async function loadContacts(file: string): Promise<Contacts> {
  let text: string
  try {
    ;({ text } = await readRegularFile(file, { maxBytes: MAX_CONTACTS_BYTES }))
  } catch (err) {
    if (err instanceof FileError && err.code === 'ENOENT') return new Contacts()
    throw contactsIoError(err, file, 'read')
  }
  const corrupt = (why: string) => ChatError.contactsCorrupt(file, why)
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    throw corrupt('it is not JSON')
  }
  const contacts = (data as { contacts?: unknown } | null)?.contacts
  if (typeof contacts !== 'object' || contacts === null || Array.isArray(contacts)) throw corrupt('expected {"contacts": {name: key}}')
  const entries: Array<[string, string]> = []
  for (const [name, key] of Object.entries(contacts)) {
    if (!NAME.test(name) || typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(key)) throw corrupt(`bad entry ${JSON.stringify(name)}`)
    entries.push([name, key])
  }
  return new Contacts(entries)
}

async function saveContacts(file: string, contacts: Contacts): Promise<void> {
  const data = { version: 1, contacts: Object.fromEntries(contacts.list().map((c) => [c.name, c.key])) }
  try {
    await writeFileAtomic(file, JSON.stringify(data, null, 2) + '\n', { overwrite: true })
  } catch (err) {
    throw contactsIoError(err, file, 'write')
  }
}

/**
 * The one way to change the address book: under the file's lock, re-read it,
 * let `change` compute the new book (it may throw to refuse), and write it
 * atomically. Concurrent p2pchat processes never lose each other's changes.
 * Returns what `change` returned alongside the book. `onWrite` is told the
 * new book just before it is written.
 */
export async function updateContacts<T>(
  file: string,
  change: (current: Contacts) => { next: Contacts; result: T },
  onWrite?: (next: Contacts) => void
): Promise<T> {
  try {
    return await withFileLock(file, async () => {
      const { next, result } = change(await loadContacts(file))
      onWrite?.(next)
      await saveContacts(file, next)
      return result
    })
  } catch (err) {
    if (err instanceof FileError) throw contactsIoError(err, file, err.code === 'ELOCKED' ? 'lock' : 'write')
    throw err
  }
}

export interface ContactBookEvents {
  /** The book changed: by an edit from outside (`contacts add` elsewhere), or (`ours`) by this process's own write (remember()). */
  changed: [contacts: Contacts, ours: boolean]
  error: [error: ChatError]
}

/** What a book holds, to tell a change from the same contents read again. */
function contentsOf(contacts: Contacts): string {
  return JSON.stringify(contacts.list())
}

/**
 * The address book kept current for a long-running process (a listener):
 * re-read when its file changes, so `contacts add` elsewhere shows up at
 * once. A broken file keeps the previous book and reports an error.
 */
export class ContactBook extends EventEmitter<ContactBookEvents> {
  private unwatch: (() => void) | null = null
  /** Contents this process is writing or wrote: when the watch reads them back, they are our own change, not news from outside. */
  private readonly written = new Set<string>()

  private constructor(
    readonly file: string,
    public current: Contacts
  ) {
    super()
  }

  static async load(file: string): Promise<ContactBook> {
    return new ContactBook(file, await loadContacts(file))
  }

  /**
   * The book for a process that needs names only for some things (a plain
   * listener): a file that is there but unusable (corrupt, unreadable) gives
   * a book without names (see Contacts.unreadable) and the `problem`, and the
   * watch takes the file once it is fixed.
   */
  static async loadForKeys(file: string): Promise<{ book: ContactBook; problem: ChatError | null }> {
    try {
      return { book: await ContactBook.load(file), problem: null }
    } catch (err) {
      if (!(err instanceof ChatError) || !Contacts.UNREADABLE_CODES.has(err.code)) throw err
      return { book: new ContactBook(file, Contacts.unreadable(err)), problem: err }
    }
  }

  /**
   * Saves a key learnt by pairing (see rememberPeer) and takes the new book
   * at once (the watch would take a moment): a change of ours, which the
   * watch, reading it back, does not report as one from outside.
   */
  async remember(keyHex: string, wanted: string): Promise<Remembered> {
    let written: Contacts | null = null
    try {
      const result = await rememberPeer(this.file, keyHex, wanted, (next) => {
        written = next
        this.written.add(contentsOf(next))
      })
      if (written) this.adopt(written, true)
      return result
    } finally {
      // A save that failed never reached the file: an identical edit from outside later is news.
      if (written) this.written.delete(contentsOf(written))
    }
  }

  private adopt(next: Contacts, ours: boolean): void {
    if (contentsOf(next) === contentsOf(this.current)) return
    this.current = next
    this.emit('changed', next, ours)
  }

  watch(pollMs = 250): void {
    if (this.unwatch) return
    this.unwatch = watchFile(
      this.file,
      async () => {
        try {
          const next = await loadContacts(this.file)
          // Unchanged contents (remember() took them first) are no change.
          this.adopt(next, this.written.has(contentsOf(next)))
        } catch (err) {
          this.emit('error', err as ChatError)
        }
      },
      pollMs
    )
  }

  close(): void {
    this.unwatch?.()
    this.unwatch = null
  }
}
